// The `hyperclay-sync` CLI as real processes against the real reference platform: exit codes, start --detach and
// stop, status --json with its heartbeat, sync --dry-run, doctor, the folder lock, and Ctrl-C in the foreground.

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRunning } from '../../cli/run.js';
import { isProcessAlive } from '../../sync-engine/folder-lock.js';
import { startPlatform, type TestAccount, type TestPlatform, until } from '../helpers/engine.js';
import { type CliEnv, type CliResult, runCli, seedSignIn, spawnCli } from './cli-run.js';

const temps: string[] = [];
const tempDir = (prefix: string): string => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
};

/** A URL where nothing listens: a port taken and released at once. */
async function deadUrl(): Promise<string> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

describe('hyperclay-sync exit codes', { timeout: 60_000 }, () => {
  let env: CliEnv;
  beforeAll(async () => {
    env = { home: tempDir('hc-cli-home-'), url: await deadUrl() };
  });

  it('2 for an unknown command, an unknown flag or a missing value, with a sentence on stderr', async () => {
    const unknown = await runCli(env, ['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('"frobnicate" is not a command');
    const flag = await runCli(env, ['sync', '--frob']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("Unknown option '--frob'");
    const missing = await runCli(env, ['start', '--dir']);
    expect(missing.code).toBe(2);
  });

  it('--help for the tool and for each command exits 0', async () => {
    const help = await runCli(env, ['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: hyperclay-sync <command>');
    // The installed command works from another working folder.
    const syncHelp = await runCli(env, ['sync', '--help'], { cwd: tmpdir() });
    expect(syncHelp.code).toBe(0);
    expect(syncHelp.stdout).toContain('--dry-run');
    expect(syncHelp.stdout).toContain('--allow-deletes');
  });

  it('3 when not signed in, 4 when the platform is unreachable (doctor says which check failed)', async () => {
    const folder = tempDir('hc-cli-folder-');
    const notSignedIn = await runCli(env, ['sync', '--dir', folder]);
    expect(notSignedIn.code).toBe(3);
    expect(notSignedIn.stderr).toContain('hyperclay-sync login');
    expect((await runCli(env, ['start', '--dir', folder])).code).toBe(3);

    seedSignIn(env.home, env.url, { id: 'acct-1', email: 'nobody@example.com', token: 'not.a.token' });
    const unreachable = await runCli(env, ['sync', '--dir', folder]);
    expect(unreachable.code).toBe(4);
    expect(unreachable.stderr).toContain('cannot be reached');
    const login = await runCli(env, ['login', '--no-browser']);
    expect(login.code).toBe(4);
    const doctor = await runCli(env, ['doctor', '--dir', folder]);
    expect(doctor.code).toBe(4);
    expect(doctor.stdout).toMatch(/^✗ Platform .* cannot be reached/m);
  });

  it('log prints the log file path inside HYPERCLAY_SYNC_HOME', async () => {
    const result = await runCli(env, ['log']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(join(env.home, 'logs', 'sync.log'));
  });
});

describe('hyperclay-sync against the reference platform', { timeout: 60_000 }, () => {
  let platform: TestPlatform;
  let account: TestAccount;
  let env: CliEnv;
  let folder: string;

  beforeAll(async () => {
    platform = await startPlatform([{ email: 'cli@example.com' }]);
    account = platform.accounts[0] as TestAccount;
    env = { home: tempDir('hc-cli-home-'), url: platform.url };
    folder = join(tempDir('hc-cli-parent-'), 'Sites');
    seedSignIn(env.home, env.url, account);
  });

  afterAll(async () => {
    await runCli(env, ['stop']).catch(() => {});
    await platform?.close();
  });

  it('start --detach syncs in the background: a save reaches the platform, status shows it running', async () => {
    const started = await runCli(env, ['start', '--detach', '--create', '--dir', folder]);
    expect(started.stderr).toBe('');
    expect(started.code).toBe(0);
    const pid = Number(/process (\d+)/.exec(started.stdout)?.[1]);
    expect(isProcessAlive(pid)).toBe(true);

    writeFileSync(join(folder, 'hello.html'), '<p>hello from the CLI</p>');
    const body = await until(
      async () => {
        const response = await platform.api(account, '/sync/sites/hello');
        return response.status === 200 ? response.text() : null;
      },
      'the save to reach the platform',
      20_000,
    );
    expect(body).toBe('<p>hello from the CLI</p>');

    // Once the push is done nothing is left pending (the status file follows the engine).
    const status = (await until(
      async (): Promise<CliResult | false> => {
        const result = await runCli(env, ['status', '--json']);
        return (JSON.parse(result.stdout) as { pending: number }).pending === 0 && result;
      },
      'pending to drop to 0',
      20_000,
    )) as CliResult;
    expect(status.code).toBe(0);
    const report = JSON.parse(status.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({
      signedIn: true,
      account: { email: 'cli@example.com' },
      folder,
      running: true,
      pid,
    });
    expect(typeof report.heartbeatAt).toBe('string');
    expect(report.heartbeatAgeSeconds).toBeLessThanOrEqual(31);

    const text = await runCli(env, ['status']);
    expect(text.stdout).toContain(`running (process ${pid})`);
    expect(text.stdout).toContain('cli@example.com');
  });

  it('a second engine on the same folder says which process holds it and exits 1', async () => {
    const holder = JSON.parse((await runCli(env, ['status', '--json'])).stdout) as { pid: number };
    const second = await runCli(env, ['sync', '--dir', folder]);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`hyperclay-sync start (process ${holder.pid})`);
    const another = await runCli(env, ['start', '--detach', '--dir', folder]);
    expect(another.code).toBe(1);
    expect(another.stderr).toContain(`(process ${holder.pid})`);
  });

  it('doctor passes every check while signed in with a reachable platform', async () => {
    const doctor = await runCli(env, ['doctor']);
    expect(doctor.stdout).not.toContain('✗');
    expect(doctor.code).toBe(0);
    for (const check of ['Sync folder', 'Data folder', 'Settings file', 'Platform', 'Signed in as', 'Clock']) {
      expect(doctor.stdout).toMatch(new RegExp(`^✓ ${check}`, 'm'));
    }
    // A failing check other than the platform or the sign-in: exit 1 with a ✗ line saying what to do.
    const root = await runCli(env, ['doctor', '--dir', '/']);
    expect(root.code).toBe(1);
    expect(root.stdout).toMatch(/^✗ Sync folder: "\/" is the root of a disk; choose a folder inside it/m);
  });

  it('stop ends the background process cleanly (lock released, status not running)', async () => {
    const before = JSON.parse((await runCli(env, ['status', '--json'])).stdout) as { pid: number };
    const stopped = await runCli(env, ['stop']);
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toContain(`process ${before.pid}`);
    await until(() => !isRunning(before.pid), 'the background process to exit', 20_000);
    const after = JSON.parse((await runCli(env, ['status', '--json'])).stdout) as Record<string, unknown>;
    expect(after).toMatchObject({ running: false, pid: null });
    expect(typeof after.lastSyncAt).toBe('string');
    expect((await runCli(env, ['stop'])).stdout).toContain('No sync is running');
  });

  it('sync --dry-run lists a pending pull without applying it; sync then applies it', async () => {
    // Changed on the platform (its own save endpoint) while no sync runs.
    const saved = await platform.platformSave(account, 'hello', '<p>edited on the platform</p>');
    expect(saved.ok).toBe(true);
    const target = join(folder, 'hello.html');

    const dry = await runCli(env, ['sync', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^pull\s+hello\.html/m);
    expect(dry.stdout).toContain('1 to pull');
    expect(dry.stdout).toContain('nothing was changed');
    expect(readFileSync(target, 'utf8')).toBe('<p>hello from the CLI</p>');
    expect(existsSync(join(folder, 'sites-versions'))).toBe(false);

    const real = await runCli(env, ['sync']);
    expect(real.code).toBe(0);
    expect(real.stdout).toMatch(/^pull\s+hello\.html/m);
    expect(readFileSync(target, 'utf8')).toBe('<p>edited on the platform</p>');
    // The overwritten local content was kept as a backup.
    expect(existsSync(join(folder, 'sites-versions', 'hello'))).toBe(true);
    const again = await runCli(env, ['sync', '--dry-run']);
    expect(again.stdout).not.toMatch(/^(push|pull)/m);

    // A dry run into an empty folder lists the pulls and writes nothing there, not even the folder's marker.
    const fresh = tempDir('hc-cli-fresh-');
    const planned = await runCli(env, ['sync', '--dry-run', '--dir', fresh]);
    expect(planned.code).toBe(0);
    expect(planned.stdout).toMatch(/^pull\s+hello\.html/m);
    expect(readdirSync(fresh)).toEqual([]);
    // SPEC.md: --dir names an existing folder; a typo is refused, nothing is made and no setting saved.
    const typo = join(fresh, 'NotYet');
    const refused = await runCli(env, ['sync', '--dry-run', '--dir', typo]);
    expect([refused.code, refused.stderr]).toEqual([2, expect.stringContaining('does not exist')]);
    expect(existsSync(typo)).toBe(false);
  });

  it('start in the foreground stops cleanly on Ctrl-C (SIGINT): exit 0, lock released', async () => {
    const child = spawnCli(env, ['start']);
    await until(() => child.output().stdout.includes('Press Ctrl-C to stop'), 'the foreground sync to run', 20_000);
    writeFileSync(join(folder, 'fg.html'), '<p>foreground</p>');
    await until(
      async () => (await platform.api(account, '/sync/sites/fg')).status === 200,
      'the save to arrive',
      20_000,
    );
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect(code).toBe(0);
    expect(child.output().stdout).toContain('Sync stopped.');
    const status = JSON.parse((await runCli(env, ['status', '--json'])).stdout) as Record<string, unknown>;
    expect(status.running).toBe(false);
  });

  it('a running sync whose token is revoked stops, forgets the token and exits 3', async () => {
    const child = spawnCli(env, ['start']);
    await until(() => child.output().stdout.includes('Press Ctrl-C to stop'), 'the foreground sync to run', 20_000);
    const revoked = await platform.api(account, '/sync/logout', { method: 'POST' });
    expect(revoked.status).toBe(204);
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect(code).toBe(3);
    expect(child.output().stderr).toContain('hyperclay-sync login');
    const status = JSON.parse((await runCli(env, ['status', '--json'])).stdout) as Record<string, unknown>;
    expect(status).toMatchObject({ signedIn: false, running: false });
    expect((await runCli(env, ['sync'])).code).toBe(3);
  });

  it('keeps its data folder private and the sync folder as the saved default', () => {
    expect(statSync(env.home).mode & 0o777).toBe(0o700);
    const settings = JSON.parse(readFileSync(join(env.home, 'settings.json'), 'utf8')) as { folder: string };
    expect(settings.folder).toBe(folder);
    expect(statSync(join(env.home, 'settings.json')).mode & 0o777).toBe(0o600);
  });
});

describe('hyperclay-sync sync and the delete brake', { timeout: 60_000 }, () => {
  let platform: TestPlatform;
  let account: TestAccount;
  let env: CliEnv;
  let folder: string;

  beforeAll(async () => {
    platform = await startPlatform([{ email: 'brake@example.com' }]);
    account = platform.accounts[0] as TestAccount;
    env = { home: tempDir('hc-cli-home-'), url: platform.url };
    folder = tempDir('hc-cli-brake-');
    seedSignIn(env.home, env.url, account);
  });

  afterAll(async () => {
    await platform?.close();
  });

  it('start --detach on a folder bound to another account reports the failure and leaves nothing running', async () => {
    const other = tempDir('hc-cli-other-');
    writeFileSync(join(other, '.hyperclay-sync'), JSON.stringify({ accountId: 'someone-else' }));
    writeFileSync(join(other, 'theirs.html'), '<p>theirs</p>');
    const started = await runCli(env, ['start', '--detach', '--dir', other]);
    expect(started.code).toBe(1);
    expect(started.stderr).toContain('synced with another Hyperclay account');
    // Nothing runs, and a failed command saves no setting (SPEC.md): the default folder is still not `other`.
    const status = JSON.parse((await runCli(env, ['status', '--json'])).stdout) as Record<string, unknown>;
    expect(status.running).toBe(false);
    expect(status.folder).not.toBe(other);
    expect(readFileSync(join(other, 'theirs.html'), 'utf8')).toBe('<p>theirs</p>');
  });

  it('holds a mass removal from the platform (exit 1, files kept); --allow-deletes applies it as backups', async () => {
    const names = Array.from({ length: 14 }, (_, i) => `page${i}`);
    for (const name of names) writeFileSync(join(folder, `${name}.html`), `<p>${name}</p>`);
    const first = await runCli(env, ['sync', '--dir', folder]);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('14 pushed');

    const removed = names.slice(0, 12);
    for (const name of removed) await platform.deleteSite(account, name);

    const braked = await runCli(env, ['sync']);
    expect(braked.code).toBe(1);
    expect(braked.stderr).toContain('--allow-deletes');
    expect(braked.stdout).toMatch(/^hold\s+page0\.html/m);
    for (const name of names) expect(existsSync(join(folder, `${name}.html`))).toBe(true);

    const applied = await runCli(env, ['sync', '--allow-deletes']);
    expect(applied.code).toBe(0);
    expect(applied.stdout).toMatch(/^remove\s+page0\.html/m);
    for (const name of removed) {
      expect(existsSync(join(folder, `${name}.html`))).toBe(false);
      // Each removal is a move into sites-versions: the content is kept.
      expect(existsSync(join(folder, 'sites-versions', name))).toBe(true);
    }
    expect(readFileSync(join(folder, 'page13.html'), 'utf8')).toBe('<p>page13</p>');
  });
});

afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});
