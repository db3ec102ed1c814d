// electron/main/backend.ts as the app calls it (it imports no Electron): a saved sign-in starts the real engine on
// the chosen folder against the real reference server, with its state in userData, the folder lock in the CLI's
// data folder while syncing (and gone when sync is off), and the poll interval from the configuration.

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveAppConfig } from '../../electron/core/config.js';
import { APP_LOCK_DESCRIPTION } from '../../electron/core/engine-runner.js';
import { createAppBackend } from '../../electron/main/backend.js';
import { dataPathsFor } from '../../sync-engine/config.js';
import { readFolderLock } from '../../sync-engine/folder-lock.js';
import { openSettings } from '../../sync-engine/settings.js';
import { startPlatform, type TestPlatform, until } from '../helpers/engine.js';

const temp = mkdtempSync(join(tmpdir(), 'hc-desktop-backend-'));
const cliHome = join(temp, 'cli-home');
const previousHome = process.env.HYPERCLAY_SYNC_HOME;
let platform: TestPlatform;

beforeAll(async () => {
  process.env.HYPERCLAY_SYNC_HOME = cliHome;
  platform = await startPlatform([{ email: 'ada@example.com' }]);
});
afterAll(async () => {
  if (previousHome === undefined) delete process.env.HYPERCLAY_SYNC_HOME;
  else process.env.HYPERCLAY_SYNC_HOME = previousHome;
  await platform?.close();
  rmSync(temp, { recursive: true, force: true });
});

/** A signed-in app backend as the app builds it, syncing `<temp>/<name>/Sites` with a 0.2 s poll. */
async function openBackend(name: string) {
  const account = platform.accounts[0]!;
  const dataDir = join(temp, name, 'userData');
  const folder = join(temp, name, 'Sites');
  const settings = openSettings(dataDir);
  settings.setFolder(folder);
  settings.tokens.save({
    token: account.token,
    origin: platform.url,
    expiresAt: new Date(Date.now() + 9 * 86_400_000).toISOString(),
    issuedAt: new Date().toISOString(),
    user: { id: account.id, email: account.email, plan: 'paid' },
  });
  const lines: string[] = [];
  const config = resolveAppConfig({ env: { HYPERCLAY_URL: platform.url, SYNC_POLL_SECONDS: '0.2' }, bakedUrl: null });
  const backend = await createAppBackend({
    config,
    dataDir,
    logsDir: join(temp, name, 'logs'),
    settings,
    log: (level, line) => lines.push(`${level} ${line}`),
    clientVersion: '0.1.0',
    deviceName: 'Hyperclay Sync on test',
  });
  return { backend, account, folder, dataDir, lines };
}

const locksDir = () => dataPathsFor(cliHome).locksDir;

describe('the desktop app backend (electron/main/backend.ts)', () => {
  it('a saved sign-in syncs the chosen folder with the real engine; the lock is held only while sync is on', async () => {
    const { backend, account, folder, dataDir, lines } = await openBackend('one');
    try {
      expect(backend.status.current.phase).toBe('syncing');
      expect(backend.status.current.folder).toBe(folder);
      expect(readFolderLock(locksDir(), folder)).toMatchObject({ pid: process.pid, description: APP_LOCK_DESCRIPTION });
      // State per account and folder, in the data folder, never in the sync folder.
      expect(readdirSync(join(dataDir, 'state')).length).toBeGreaterThan(0);

      writeFileSync(join(folder, 'hello.html'), '<p>hi</p>');
      await until(async () => (await platform.api(account, '/sync/sites/hello')).status === 200, 'hello.html pushed');
      // A change on the platform comes down within a poll (0.2 s here).
      expect((await platform.platformSave(account, 'hello', '<p>from the platform</p>')).ok).toBe(true);
      await until(
        () =>
          existsSync(join(folder, 'sites-versions')) &&
          readFileSync(join(folder, 'hello.html'), 'utf8') === '<p>from the platform</p>',
        'the platform edit pulled',
      );

      await backend.setSyncOn(false);
      expect(backend.status.current.phase).toBe('off');
      expect(readFolderLock(locksDir(), folder)).toBeNull();
      expect(lines.join('\n')).not.toContain(account.token);
    } finally {
      await backend.shutdown();
    }
  });

  it('Off/On clicks in quick succession end with one engine syncing and holding the lock; quit while starting stops it', async () => {
    const { backend, account, folder, lines } = await openBackend('two');
    const errors: string[] = [];
    backend.status.on('change', (status) => {
      if (status.lastError !== null) errors.push(status.lastError);
    });
    try {
      const clicks: Promise<void>[] = [];
      for (const on of [false, true, false, true]) {
        clicks.push(backend.setSyncOn(on));
        // Let the previous click get as far as stopping or starting the engine.
        for (let i = 0; i < 5; i++) await Promise.resolve();
      }
      await Promise.all(clicks);
      expect(errors).toEqual([]);
      expect(lines.filter((line) => line.includes('could not start'))).toEqual([]);
      expect(backend.status.current.phase).toBe('syncing');
      expect(readFolderLock(locksDir(), folder)).toMatchObject({ pid: process.pid });
      writeFileSync(join(folder, 'quick.html'), '<p>quick</p>');
      await until(async () => (await platform.api(account, '/sync/sites/quick')).status === 200, 'quick.html pushed');

      // Quit while sync is still starting: nothing is left running, and the lock is gone.
      await backend.setSyncOn(false);
      const on = backend.setSyncOn(true);
      for (let i = 0; i < 5; i++) await Promise.resolve();
      await backend.shutdown();
      await on;
      expect(errors).toEqual([]);
      expect(readFolderLock(locksDir(), folder)).toBeNull();
      writeFileSync(join(folder, 'after-quit.html'), '<p>after quit</p>');
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect((await platform.api(account, '/sync/sites/after-quit')).status).toBe(404);
    } finally {
      await backend.shutdown();
    }
  });
});
