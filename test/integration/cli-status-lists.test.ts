// `status` while a sync runs lists what does not sync, each with its reason (SPEC.md CLI table): a file over 20 MiB,
// site names that break the rules, and a second file for one site name; and says the phase.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlatform, type TestPlatform, until } from '../helpers/engine.js';
import { type CliEnv, runCli, seedSignIn, spawnCli } from './cli-run.js';

describe('hyperclay-sync status lists the files that do not sync', { timeout: 120_000 }, () => {
  let platform: TestPlatform;
  let root: string;
  let env: CliEnv;
  beforeAll(async () => {
    platform = await startPlatform();
    root = mkdtempSync(join(tmpdir(), 'hc-cli-lists-'));
    env = { home: join(root, 'home'), url: platform.url, pollSeconds: 0.3 };
    seedSignIn(env.home, platform.url, platform.accounts[0]!);
  });
  afterAll(async () => {
    await platform.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('a 25 MB file, a name with a space, Über.html and a second file for one site, each with its reason', async () => {
    const folder = join(root, 'Sites');
    mkdirSync(join(folder, 'blog'), { recursive: true });
    writeFileSync(join(folder, 'big.bin'), Buffer.alloc(25 * 1024 * 1024, 1));
    writeFileSync(join(folder, 'my page.html'), '<p>space</p>');
    writeFileSync(join(folder, 'Über.html'), '<p>umlaut</p>');
    writeFileSync(join(folder, 'twin.html'), '<p>one</p>');
    writeFileSync(join(folder, 'blog', 'twin.html'), '<p>two</p>');
    writeFileSync(join(folder, 'fine.html'), '<p>fine</p>');
    const child = spawnCli(env, ['start', '--dir', folder]);
    try {
      await until(() => child.output().stdout.includes('Press Ctrl-C to stop'), 'the sync to run', 30_000);
      await until(
        async () => (await platform.api(platform.accounts[0]!, '/sync/sites/fine')).status === 200,
        'fine.html',
      );
      type Report = { failing: Array<{ path: string; reason: string }>; failingCount: number; phase: string };
      const report = (await until(
        async (): Promise<Report | null> => {
          const json = JSON.parse((await runCli(env, ['status', '--json'])).stdout) as Report;
          return json.failingCount >= 4 ? json : null;
        },
        'four failing files in the status',
        30_000,
      )) as Report;
      const reasons = Object.fromEntries(report.failing.map((f) => [f.path, f.reason]));
      expect(reasons['big.bin']).toMatch(/20 MiB/);
      expect(reasons['my page.html']).toMatch(/name/);
      expect(reasons['Über.html']).toMatch(/name/);
      // One of the two files for the site `twin` syncs; the other is listed with the reason.
      const twin = reasons['twin.html'] ?? reasons['blog/twin.html'];
      expect(twin).toMatch(/twin/);
      expect(report.phase).toMatch(/^(idle|syncing)$/);

      const text = await runCli(env, ['status']);
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(/^Phase: +(idle|syncing)$/m);
      expect(text.stdout).toMatch(/^Not syncing \(4\):$/m);
      expect(text.stdout).toMatch(/^ {2}big\.bin: .*20 MiB/m);
      expect(text.stdout).toMatch(/^ {2}Über\.html: /m);
    } finally {
      child.kill('SIGINT');
      await new Promise((resolve) => child.once('close', resolve));
    }
  });
});
