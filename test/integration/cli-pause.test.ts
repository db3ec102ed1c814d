// `pause` and `resume` (SPEC.md CLI table): a running `start` switched off and on from another terminal, and the
// switch surviving a restart; `status` shows the phase; `sync --dry-run` works while the folder is held.

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlatform, type TestPlatform, until } from '../helpers/engine.js';
import { type CliEnv, runCli, seedSignIn, spawnCli } from './cli-run.js';

describe('hyperclay-sync pause / resume', { timeout: 120_000 }, () => {
  let platform: TestPlatform;
  let root: string;
  let env: CliEnv;
  let folder: string;
  beforeAll(async () => {
    platform = await startPlatform();
    root = mkdtempSync(join(tmpdir(), 'hc-cli-pause-'));
    folder = join(root, 'Sites');
    env = { home: join(root, 'home'), url: platform.url, pollSeconds: 0.3 };
    seedSignIn(env.home, platform.url, platform.accounts[0]!);
  });
  afterAll(async () => {
    await platform.close();
    rmSync(root, { recursive: true, force: true });
  });

  const phase = async () => (JSON.parse((await runCli(env, ['status', '--json'])).stdout) as { phase: string }).phase;
  const onPlatform = async (name: string) =>
    (await platform.api(platform.accounts[0]!, `/sync/sites/${name}`)).status === 200;

  it('pauses a running sync and resumes it; a start while paused starts paused', async () => {
    let child = spawnCli(env, ['start', '--create', '--dir', folder]);
    try {
      await until(() => child.output().stdout.includes('Press Ctrl-C to stop'), 'the sync to run', 30_000);
      const paused = await runCli(env, ['pause']);
      expect(paused.code).toBe(0);
      expect(paused.stdout).toContain('Sync is paused');
      await until(async () => (await phase()) === 'paused', 'the paused phase', 30_000);
      writeFileSync(join(folder, 'while-paused.html'), '<p>saved while paused</p>');
      // Nothing syncs while paused: a later change on the platform does not come down either.
      await platform.put(platform.accounts[0]!, 'upload', 'from-elsewhere.txt', 'elsewhere');
      // A dry run works while the sync holds the folder (it takes no lock and changes nothing), and sees both.
      const dry = await runCli(env, ['sync', '--dry-run']);
      expect(dry.code, dry.stderr).toBe(0);
      expect(dry.stdout).toMatch(/^pull\s+from-elsewhere\.txt/m);
      expect(dry.stdout).toMatch(/^push\s+while-paused\.html/m);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(await onPlatform('while-paused')).toBe(false);
      expect(existsSync(join(folder, 'from-elsewhere.txt'))).toBe(false);

      child.kill('SIGINT');
      await new Promise((resolve) => child.once('close', resolve));
      child = spawnCli(env, ['start', '--dir', folder]);
      await until(() => child.output().stdout.includes('Press Ctrl-C to stop'), 'the sync to run again', 30_000);
      await until(async () => (await phase()) === 'paused', 'paused after the restart', 30_000);

      expect((await runCli(env, ['resume'])).stdout).toContain('Sync is on');
      await until(() => onPlatform('while-paused'), 'the push once resumed', 30_000);
      await until(() => existsSync(join(folder, 'from-elsewhere.txt')), 'the pull once resumed', 30_000);
      await until(async () => ['idle', 'syncing'].includes(await phase()), 'the phase once resumed', 30_000);
    } finally {
      child.kill('SIGINT');
      await new Promise((resolve) => child.once('close', resolve));
    }
  });
});
