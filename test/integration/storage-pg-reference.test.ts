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
import { type S3Double, startS3Double } from '../helpers/s3-double.js';

const ROOT = resolve(import.meta.dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const CLI = join(ROOT, 'server-endpoints/reference/cli.ts');

let postgres: TestPostgres;
let s3: S3Double;
let databaseUrl: string;
let s3Url: string;
let dir: string;
let server: ChildProcess | null = null;

function platform(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      TSX,
      [CLI, ...args],
      { cwd: ROOT, timeout: 20_000, env: { ...process.env, ...env } },
      (error, stdout, stderr) => {
        done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

/** Starts `serve` and resolves with its URL once it prints it. */
function serve(args: string[]): Promise<string> {
  const child = spawn(TSX, [CLI, 'serve', '--port', '0', '--data', dir, ...args], { cwd: ROOT });
  server = child;
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
  [postgres, s3] = await Promise.all([startTestPostgres(), startS3Double()]);
  databaseUrl = await postgres.createDatabase('reference');
  const { accessKeyId, secretAccessKey } = s3.credentials;
  s3Url = `${s3.endpoint.replace('http://', `http://${accessKeyId}:${secretAccessKey}@`)}/${s3.bucket}`;
  dir = mkdtempSync(join(tmpdir(), 'hc-pg-reference-'));
});

afterAll(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((done) => server?.once('exit', done));
    server.kill('SIGTERM');
    await exited;
  }
  await s3?.close();
  await postgres?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the reference server on PostgreSQL + S3', () => {
  it('serves sync writes from PostgreSQL + S3, serves the site, and `site delete` reaches clients as a tombstone', async () => {
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
    expect(s3.keys()).toContain(`blobs/${sha256Hex('<h1>from PG</h1>').slice(0, 2)}/${sha256Hex('<h1>from PG</h1>')}`);
    const page = await fetch(`${url}/pg-reference`);
    expect([page.status, await page.text()]).toEqual([200, '<h1>from PG</h1>']);
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
    expect((await fetch(`${url}/pg-reference`)).status).toBe(404);
    // The sync data never touched the data folder: no embedded storage or auth database was made there.
    expect([existsSync(dataPaths(dir).storage), existsSync(dataPaths(dir).auth)]).toEqual([false, false]);
  });
});
