// `npm run platform -- serve --postgres URL --s3 URL`: the reference server with its sync data in PostgreSQL + S3.

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../../server-endpoints/auth/tokens.js';
import { dataPaths, loadTokenSecret } from '../../server-endpoints/reference/server.js';
import { openPostgresAuthStore } from '../../server-endpoints/storage/postgres.js';
import { sha256Hex, syncApi } from '../helpers/platform.js';
import { startTestPostgres, type TestPostgres } from '../helpers/postgres.js';
import { call } from '../helpers/reference.js';
import { startTestS3, type TestS3 } from '../helpers/s3-server.js';

const ROOT = resolve(import.meta.dirname, '../..');
// The built command, as `npm run platform` runs it.
const CLI = join(ROOT, 'dist/platform/main.mjs');
/** Each test starts several processes one after another; on a busy machine one start alone can take 15 s. */
const PROCESS_TEST_MS = 240_000;

let postgres: TestPostgres;
let s3: TestS3;
let databaseUrl: string;
let s3Url: string;
let dir: string;
const servers: ChildProcess[] = [];

function platform(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: ROOT, timeout: 90_000, env: { ...process.env, ...env } },
      (error, stdout, stderr) => {
        done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

/** Starts `serve` and resolves with its URL once it prints it. */
function serve(args: string[]): Promise<string> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--data', dir, ...args], {
    cwd: ROOT,
  });
  servers.push(child);
  return new Promise((resolveUrl, reject) => {
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const port = /reference platform at http:\/\/localhost:(\d+)/.exec(out)?.[1];
      if (port) resolveUrl(`http://127.0.0.1:${port}`);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${err.trim()}`)));
  });
}

beforeAll(async () => {
  [postgres, s3] = await Promise.all([startTestPostgres(), startTestS3()]);
  databaseUrl = await postgres.createDatabase('reference');
  s3Url = s3.url;
  dir = mkdtempSync(join(tmpdir(), 'hc-pg-reference-'));
});

afterAll(async () => {
  await Promise.all(
    servers
      .filter((child) => child.exitCode === null && child.signalCode === null)
      .map((child) => {
        const exited = new Promise((done) => child.once('exit', done));
        child.kill('SIGTERM');
        return exited;
      }),
  );
  await s3?.close();
  await postgres?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the reference server on PostgreSQL + S3', () => {
  it(
    'serves sync writes from PostgreSQL + S3, serves the site, and `site delete` reaches clients as a tombstone',
    async () => {
      const added = await platform([
        'user',
        'add',
        '--email',
        'pg@example.com',
        '--password',
        'a long password',
        '--data',
        dir,
      ]);
      expect(added.code).toBe(0);
      const accountId = /id=(\S+)/.exec(added.stdout)?.[1] ?? '';
      // `user add` opens every store of the folder; start from a folder with accounts only.
      for (const folder of [dataPaths(dir).storage, dataPaths(dir).auth])
        rmSync(folder, { recursive: true, force: true });
      const usage = await platform(['serve', '--data', dir, '--postgres', databaseUrl]);
      expect([usage.code, usage.stderr]).toEqual([2, expect.stringContaining('--postgres and --s3 go together')]);

      const url = await serve(['--postgres', databaseUrl, '--s3', s3Url]);
      // A device connection in the shared PostgreSQL auth tables, signed with the data folder's secret.
      const auth = await openPostgresAuthStore({ connectionString: databaseUrl });
      const sid = await auth.createConnection(accountId, 'test');
      await auth.close();
      const token = signToken(loadTokenSecret(dataPaths(dir).secret), { sub: accountId, sid }, Date.now()).token;
      const api = syncApi(url, token);

      expect((await api.putSite('pg-reference', '<h1>from PG</h1>')).status).toBe(201);
      expect(await s3.keys()).toContain(
        `blobs/${sha256Hex('<h1>from PG</h1>').slice(0, 2)}/${sha256Hex('<h1>from PG</h1>')}`,
      );
      // The site on its own host (`pg-reference.localhost`, which Node's resolver does not know: the Host header says it).
      const siteHost = { path: '/', host: `pg-reference.localhost:${new URL(url).port}` };
      const page = await call(url, siteHost);
      expect([page.status, page.text]).toEqual([200, '<h1>from PG</h1>']);
      const head = (await api.changes('0')).json.cursor as string;

      // The admin command finds the same storage through the environment.
      const deleted = await platform(
        ['site', 'delete', '--email', 'pg@example.com', '--name', 'pg-reference', '--data', dir],
        {
          HYPERCLAY_POSTGRES_URL: databaseUrl,
          HYPERCLAY_S3_URL: s3Url,
        },
      );
      expect([deleted.code, deleted.stdout]).toEqual([0, expect.stringContaining('Deleted site "pg-reference"')]);
      const feed = await api.changes(head);
      expect(feed.json.entries).toMatchObject([{ name: 'pg-reference', deleted: true }]);
      expect((await call(url, siteHost)).status).toBe(404);
      expect((await fetch(`${url}/pg-reference`, { redirect: 'manual' })).status).toBe(404);
      // The sync data never touched the data folder: no embedded storage or auth database was made there.
      expect([existsSync(dataPaths(dir).storage), existsSync(dataPaths(dir).auth)]).toEqual([false, false]);
    },
    PROCESS_TEST_MS,
  );
});

describe('two reference server processes over one PostgreSQL + S3', () => {
  it(
    "one process's write wakes the other's long-poll; kill -9 during a burst loses no acknowledged write",
    async () => {
      const added = await platform([
        'user',
        'add',
        '--email',
        'two@example.com',
        '--password',
        'a long password',
        '--data',
        dir,
      ]);
      const accountId = /id=(\S+)/.exec(added.stdout)?.[1] ?? '';
      const external = ['--postgres', databaseUrl, '--s3', s3Url];
      const [urlOne, urlTwo] = await Promise.all([serve(external), serve(external)]);
      const auth = await openPostgresAuthStore({ connectionString: databaseUrl });
      const sid = await auth.createConnection(accountId, 'test');
      await auth.close();
      const token = signToken(loadTokenSecret(dataPaths(dir).secret), { sub: accountId, sid }, Date.now()).token;
      const one = syncApi(urlOne!, token);
      const two = syncApi(urlTwo!, token);

      const head = (await two.changes('0')).json.cursor as string;
      const waiting = two.changes(head, { wait: 25 });
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect((await one.putFolder('burst')).status).toBe(201);
      expect((await waiting).json.entries).toMatchObject([{ path: 'burst' }]);

      const victim = servers.at(-2)!;
      const acknowledged: { path: string; seq: number }[] = [];
      const burst = (async () => {
        for (let i = 0; ; i++) {
          const put = await one.putUpload(`burst/${i}.txt`, `write ${i}`).catch(() => null);
          if (put === null) return; // the process is gone
          expect(put.status).toBe(201);
          acknowledged.push({ path: `burst/${i}.txt`, seq: put.json.seq as number });
        }
      })();
      while (acknowledged.length < 30) await new Promise((resolve) => setTimeout(resolve, 5));
      victim.kill('SIGKILL');
      await burst;
      // Through the surviving process: every acknowledged write, and a feed without a gap.
      const feed: { path: string; seq: number }[] = [];
      let cursor = '0';
      for (;;) {
        const next = await two.changes(cursor);
        feed.push(...(next.json.entries as { path: string; seq: number }[]));
        cursor = next.json.cursor as string;
        if (!next.json.hasMore) break;
      }
      const listed = new Set(feed.map((e) => e.path));
      for (const ack of acknowledged) expect(listed.has(ack.path)).toBe(true);
      const changes = (await two.changes(head)).json.entries as { seq: number }[];
      const seqs = changes.map((e) => e.seq);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => seqs[0]! + i));
      expect(seqs.length).toBeGreaterThanOrEqual(acknowledged.length + 1);
    },
    PROCESS_TEST_MS,
  );
});
