// The reference server's admin commands (`npm run platform -- ...`) run as child processes on a temp data folder.

import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openReferenceStores } from '../../server-endpoints/reference/server.js';

const ROOT = resolve(import.meta.dirname, '../..');
// The built command, as `npm run platform` runs it.
const CLI = join(ROOT, 'dist/platform/main.mjs');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function platform(args: string[]): Promise<Run> {
  return new Promise((done) => {
    execFile(process.execPath, [CLI, ...args], { cwd: ROOT, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

describe('npm run platform -- <command>', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hc-reference-cli-'));
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('user add creates accounts with the plan defaults and the limits given', async () => {
    const added = await platform([
      'user',
      'add',
      '--email',
      'Ann@Example.com',
      '--password',
      'a long password',
      '--data',
      dir,
    ]);
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/Added Ann@Example\.com .*plan=paid max-sites=10 max-storage=unlimited/);

    const free = await platform([
      'user',
      'add',
      '--email',
      'fred@example.com',
      '--password',
      'another password',
      '--plan',
      'free',
      '--max-sites',
      '3',
      '--max-storage',
      '1000000',
      '--data',
      dir,
    ]);
    expect(free.code).toBe(0);
    expect(free.stdout).toContain('plan=free max-sites=3 max-storage=1000000 bytes');
  });

  it('user add refuses a taken email (any case) with exit 1', async () => {
    const again = await platform([
      'user',
      'add',
      '--email',
      'ann@EXAMPLE.com',
      '--password',
      'a long password',
      '--data',
      dir,
    ]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already exists');
  });

  it('user set changes the plan and the limits; user list shows them', async () => {
    const set = await platform([
      'user',
      'set',
      '--email',
      'fred@example.com',
      '--plan',
      'paid',
      '--max-sites',
      'unlimited',
      '--max-storage',
      '5000',
      '--data',
      dir,
    ]);
    expect(set.code).toBe(0);
    expect(set.stdout).toContain('fred@example.com');
    const list = await platform(['user', 'list', '--data', dir]);
    expect(list.code).toBe(0);
    const lines = list.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^Ann@Example\.com .*plan=paid max-sites=10 max-storage=unlimited$/);
    expect(lines[1]).toMatch(/^fred@example\.com .*plan=paid max-sites=unlimited max-storage=5000 bytes$/);

    const stores = await openReferenceStores(dir);
    try {
      const fred = stores.accounts.byEmail('FRED@example.com');
      expect(fred).toMatchObject({ plan: 'paid', paid: true, maxSites: null, maxStorageBytes: 5000 });
      expect(await stores.accounts.verifyPassword('fred@example.com', 'another password')).not.toBeNull();
    } finally {
      await stores.close();
    }
  });

  it('user set for an unknown email fails with exit 1', async () => {
    const set = await platform(['user', 'set', '--email', 'ghost@example.com', '--plan', 'free', '--data', dir]);
    expect(set.code).toBe(1);
    expect(set.stderr).toContain('No account has the email ghost@example.com');
  });

  it('site delete leaves a tombstone in the change feed and keeps the content as a version', async () => {
    const content = Buffer.from('<h1>to be deleted</h1>');
    let accountId = '';
    let headBefore = 0;
    const stores = await openReferenceStores(dir);
    try {
      const ann = stores.accounts.byEmail('ann@example.com');
      if (!ann) throw new Error('ann is missing');
      accountId = ann.id;
      const written = await stores.storage.writeFile({
        accountId,
        kind: 'site',
        key: 'annsite',
        path: 'annsite.html',
        content,
        sha256: createHash('sha256').update(content).digest('hex'),
        baseVersion: 0,
        modifiedAtMs: Date.now(),
        limits: { maxSites: null, maxStorageBytes: null },
      });
      expect(written.outcome).toBe('created');
      headBefore = (await stores.storage.changesSince(accountId, 0, 1000))?.head ?? -1;
    } finally {
      await stores.close();
    }

    const deleted = await platform([
      'site',
      'delete',
      '--email',
      'ANN@example.com',
      '--name',
      'annsite',
      '--data',
      dir,
    ]);
    expect(deleted.stderr).toBe('');
    expect(deleted.code).toBe(0);
    expect(deleted.stdout).toContain('Deleted site "annsite"');

    const after = await openReferenceStores(dir);
    try {
      const changes = await after.storage.changesSince(accountId, headBefore, 1000);
      const tombstone = changes?.entries.find((e) => e.kind === 'site' && e.name === 'annsite');
      expect(tombstone?.deleted).toBe(true);
      expect(await after.storage.readVersion(accountId, { kind: 'site', key: 'annsite' }, 1)).toEqual(content);
    } finally {
      await after.close();
    }

    const again = await platform(['site', 'delete', '--email', 'ann@example.com', '--name', 'annsite', '--data', dir]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('has no site named "annsite"');
  });

  it('exits 2 with the usage on bad usage', async () => {
    const cases: string[][] = [
      [],
      ['frobnicate'],
      ['user'],
      ['user', 'add', '--email', 'x@example.com'],
      ['user', 'add', '--email', 'x@example.com', '--password', 'long enough', '--plan', 'gold', '--data', dir],
      ['user', 'add', '--email', 'not-an-email', '--password', 'long enough', '--data', dir],
      ['user', 'add', '--email', 'x@example.com', '--password', 'short', '--data', dir],
      ['user', 'set', '--email', 'ann@example.com', '--data', dir],
      ['user', 'set', '--email', 'ann@example.com', '--max-sites', '-1', '--data', dir],
      ['user', 'list', '--bogus'],
      ['site', 'delete', '--email', 'ann@example.com', '--name', 'Not A Name', '--data', dir],
      ['serve', '--port', 'http'],
    ];
    // Three at a time: each is a process start, and the cores are shared.
    for (let i = 0; i < cases.length; i += 3) {
      const batch = cases.slice(i, i + 3);
      const runs = await Promise.all(batch.map((args) => platform(args)));
      runs.forEach((run, j) => {
        expect({ args: batch[j], code: run.code }).toEqual({ args: batch[j], code: 2 });
        expect(run.stderr.length).toBeGreaterThan(0);
      });
    }
    const list = await platform(['user', 'list', '--data', dir]);
    expect(list.stdout).not.toContain('x@example.com');
  });

  it('serve prints its URL, serves, and stops cleanly on SIGTERM', async () => {
    const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--data', dir], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    const deadline = Date.now() + 60_000;
    let url: string | undefined;
    while (!url && Date.now() < deadline) {
      url = /at (http:\/\/localhost:\d+)/.exec(stdout)?.[1];
      if (!url) await new Promise((r) => setTimeout(r, 50));
    }
    expect(url).toBeDefined();
    const port = new URL(url ?? '').port;
    const health = await fetch(`http://127.0.0.1:${port}/sync/health`);
    expect(health.status).toBe(200);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stdout).toContain('SIGTERM: stopping');
  });
});
