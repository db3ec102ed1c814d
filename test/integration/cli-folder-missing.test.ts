// SPEC.md "When the folder itself goes away", through the real `hyperclay-sync start`: the sync folder moved away
// while the process runs stops that folder's sync with one log line and the `folder-missing` status (the process
// lives on, nothing is re-created), and moved back, it syncs again by itself.

import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readStatusFile } from '../../sync-engine/status-file.js';
import { startPlatform, type TestPlatform, until } from '../helpers/engine.js';
import { type CliEnv, seedSignIn, spawnCli } from './cli-run.js';

describe('hyperclay-sync start when the sync folder goes away', { timeout: 90_000 }, () => {
  let platform: TestPlatform;
  let root: string;
  let env: CliEnv;
  beforeAll(async () => {
    platform = await startPlatform();
    root = mkdtempSync(join(tmpdir(), 'hc-cli-gone-'));
    env = { home: join(root, 'home'), url: platform.url, pollSeconds: 0.3 };
    seedSignIn(env.home, platform.url, platform.accounts[0]!);
  });
  afterAll(async () => {
    await platform.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('moved away: one log line, status folder-missing, the process lives on; moved back: it syncs again', async () => {
    const folder = join(root, 'Sites');
    const away = join(root, 'Sites-away');
    const account = platform.accounts[0]!;
    const child = spawnCli(env, ['start', '--create', '--dir', folder]);
    try {
      await until(() => child.output().stdout.includes('Press Ctrl-C to stop'), 'the sync to run', 30_000);
      renameSync(folder, away);
      const statusFile = join(env.home, 'status.json');
      await until(() => readStatusFile(statusFile)?.phase === 'folder-missing', 'the folder-missing status', 30_000);
      expect(readStatusFile(statusFile)?.running).toBe(true);
      const log = () => readFileSync(join(env.home, 'logs', 'sync.log'), 'utf8');
      expect(log().match(/folder missing/g)).toHaveLength(1);
      expect(child.exitCode).toBeNull();
      expect(existsSync(folder)).toBe(false);

      renameSync(away, folder);
      const put = await platform.put(account, 'site', 'after', '<p>saved elsewhere once the folder is back</p>');
      expect(put.status).toBe(201);
      await until(() => existsSync(join(folder, 'after.html')), 'the platform change on disk', 30_000);
      writeFileSync(join(folder, 'local.html'), '<p>saved locally once the folder is back</p>');
      await until(async () => (await platform.api(account, '/sync/sites/local')).status === 200, 'the push', 30_000);
      expect(child.exitCode).toBeNull();
    } finally {
      child.kill('SIGINT');
      await new Promise((resolve) => child.once('close', resolve));
    }
    expect(child.exitCode).toBe(0);
  });
});
