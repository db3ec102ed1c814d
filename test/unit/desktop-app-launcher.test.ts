// `npm run app` on a machine without the Electron binary: it builds the app, tries to fetch Electron, and then says
// in one sentence why it cannot start and which headless command to use, exiting non-zero.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../build/build-app.js';

const electronInstalled = existsSync(join(ROOT, 'node_modules', 'electron', 'path.txt'));

describe('npm run app', () => {
  it.skipIf(electronInstalled)(
    'without Electron: one sentence naming the headless command, exit code non-zero',
    async () => {
      const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        execFile(
          join(ROOT, 'node_modules', '.bin', 'tsx'),
          ['scripts/app.ts'],
          { cwd: ROOT, timeout: 90_000, env: { ...process.env, HYPERCLAY_URL: 'http://127.0.0.1:9' } },
          (error, stdout, stderr) =>
            resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        );
      });
      expect(result.code).not.toBe(0);
      const lines = result.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^The Electron binary could not be downloaded, .*: npm run sync -- start$/);
      // It did build the app first, and started no server (nothing to run it against).
      expect(existsSync(join(ROOT, 'dist', 'electron', 'main', 'index.js'))).toBe(true);
      expect(result.stdout).not.toContain('Starting the reference platform server');
    },
    120_000,
  );
});
