// The window over the real app: Chromium, the real controller and IPC table, the engine-backed backend running the
// real sync engine (engine-runner.ts) against the real reference server, and the browser sign-in in a second page.
// Promises checked: saves go live (SPEC.md 2), Sync: Off really stops sync, the quota line, the folder lock, Choose
// Sync Folder, log out revokes.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireFolderLock } from '../../sync-engine/folder-lock.js';
import { startPlatform, type TestAccount, type TestPlatform, until } from '../helpers/engine.js';
import {
  openSyncingApp,
  redLine,
  type SyncingApp,
  screenshot,
  signInFromWindow,
  signInInBrowser,
  sitePlatformHolds,
  startWindowHarness,
  visibleButtons,
  type WindowHarness,
} from './renderer-harness.js';

const POLL_SECONDS = 0.3;
const QUOTA_LINE = "You've run out of sites. We can't sync any more sites.";

let harness: WindowHarness;
let platform: TestPlatform;
let ada: TestAccount;
let bo: TestAccount;
const temp = mkdtempSync(join(tmpdir(), 'hc-desktop-sync-'));

beforeAll(async () => {
  [harness, platform] = await Promise.all([
    startWindowHarness(),
    startPlatform([{ email: 'ada@example.com' }, { email: 'bo@example.com', maxSites: 1 }]),
  ]);
  [ada, bo] = platform.accounts as [TestAccount, TestAccount];
});
afterAll(async () => {
  await harness?.close();
  await platform?.close();
  rmSync(temp, { recursive: true, force: true });
});

let homes = 0;
const openApp = () =>
  openSyncingApp(harness, platform, { home: join(temp, `home-${++homes}`), pollSeconds: POLL_SECONDS });
const signIn = (app: SyncingApp, account: TestAccount, shots = false) =>
  signInFromWindow(
    harness,
    app,
    account,
    shots ? { signedOut: 'sync-1-signed-out', waiting: 'sync-2-waiting-for-browser' } : undefined,
  );
const platformSite = (account: TestAccount, name: string) => sitePlatformHolds(platform, account, name);

async function platformUpload(account: TestAccount, path: string): Promise<string | null> {
  const response = await platform.api(account, `/sync/uploads/${path}`);
  return response.status === 200 ? response.text() : null;
}

describe('the desktop app syncing for real', () => {
  it('Sync -> browser sign-in -> Sync: On pushes saves; Sync: Off stops sync; On again catches up; Log out revokes', async () => {
    const app = await openApp();
    await signIn(app, ada, true);
    const folder = join(app.home, 'Hyperclay');
    expect(app.backend.status.current.folder).toBe(folder);
    expect(await visibleButtons(app.page)).toEqual(['Sync: On', 'Log out']);
    expect(await redLine(app.page)).toBeNull();
    await screenshot(app.page, 'sync-3-on');

    // A save in the default sync folder goes live.
    writeFileSync(join(folder, 'hello.html'), '<h1>hello v1</h1>');
    await until(async () => (await platformSite(ada, 'hello')) === '<h1>hello v1</h1>', 'hello.html on the platform');

    await app.page.getByRole('button', { name: 'Sync: On' }).click();
    await app.page.getByRole('button', { name: 'Sync: Off' }).waitFor();
    expect(app.backend.status.current.phase).toBe('off');
    await screenshot(app.page, 'sync-4-off');

    // Saved while off: nothing reaches the platform, however many poll intervals pass.
    writeFileSync(join(folder, 'hello.html'), '<h1>hello v2, saved while off</h1>');
    writeFileSync(join(folder, 'offline.html'), '<p>new while off</p>');
    await new Promise((resolve) => setTimeout(resolve, POLL_SECONDS * 5 * 1000));
    expect(await platformSite(ada, 'hello')).toBe('<h1>hello v1</h1>');
    expect(await platformSite(ada, 'offline')).toBeNull();

    await app.page.getByRole('button', { name: 'Sync: Off' }).click();
    await app.page.getByRole('button', { name: 'Sync: On' }).waitFor();
    await until(
      async () => (await platformSite(ada, 'hello')) === '<h1>hello v2, saved while off</h1>',
      'the edit made while off on the platform',
    );
    await until(async () => (await platformSite(ada, 'offline')) === '<p>new while off</p>', 'the new site');

    // Log out: back to the Sync button, the token forgotten and revoked on the platform.
    const token = app.settings.tokens.load(platform.url)!.token;
    expect(app.lines.join('\n')).not.toContain(token);
    await app.page.getByRole('button', { name: 'Log out' }).click();
    await app.page.getByRole('button', { name: 'Sync', exact: true }).waitFor();
    expect(await visibleButtons(app.page)).toEqual(['Sync']);
    expect(app.settings.tokens.account()).toBeNull();
    const me = await fetch(`${platform.url}/sync/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(me.status).toBe(401);
    // And nothing syncs any more.
    writeFileSync(join(folder, 'after.html'), '<p>after log out</p>');
    await new Promise((resolve) => setTimeout(resolve, POLL_SECONDS * 3 * 1000));
    expect(await platformSite(ada, 'after')).toBeNull();
    await app.controller.shutdown();
    await app.close();
  });

  it('the site limit shows the red quota line while other files keep syncing', async () => {
    const app = await openApp();
    const folder = join(app.home, 'Hyperclay');
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'alpha.html'), '<p>alpha</p>');
    writeFileSync(join(folder, 'beta.html'), '<p>beta</p>');
    await signIn(app, bo);
    await app.page.getByRole('alert').filter({ hasText: QUOTA_LINE }).waitFor();
    // Still "Sync: On": the quota stops new sites only.
    expect(await visibleButtons(app.page)).toEqual(['Sync: On', 'Log out']);
    await screenshot(app.page, 'sync-5-quota');
    const alpha = await platformSite(bo, 'alpha');
    const beta = await platformSite(bo, 'beta');
    expect([alpha, beta].filter((content) => content !== null)).toHaveLength(1);
    const synced = alpha !== null ? 'alpha' : 'beta';

    // Other files keep syncing: a new upload and an edit of the site the plan has room for.
    writeFileSync(join(folder, 'notes.txt'), 'notes while over quota');
    writeFileSync(join(folder, `${synced}.html`), `<p>${synced} edited</p>`);
    await until(async () => (await platformUpload(bo, 'notes.txt')) === 'notes while over quota', 'the upload');
    await until(async () => (await platformSite(bo, synced)) === `<p>${synced} edited</p>`, 'the edited site');
    expect(await redLine(app.page)).toBe(QUOTA_LINE);
    await app.controller.shutdown();
    await app.close();
  });

  it('a folder another process syncs: the red line names it; Choose Sync Folder restarts on the new folder; a revoked token signs out', async () => {
    const app = await openApp();
    const folder = join(app.home, 'Hyperclay');
    mkdirSync(folder, { recursive: true });
    const cli = await acquireFolderLock(app.locksDir, folder, 'hyperclay-sync start');
    try {
      writeFileSync(join(folder, 'locked.html'), '<p>locked</p>');
      await app.page.getByRole('button', { name: 'Sync', exact: true }).click();
      const link = await signInInBrowser(harness, app.opened.at(-1)!, ada);
      await app.controller.handleDeepLink(link);
      await app.page.getByRole('alert').filter({ hasText: 'hyperclay-sync start' }).waitFor();
      expect(await redLine(app.page)).toContain(`process ${process.pid}`);
      // Nothing syncs: the toggle is not the green of a working sync but the needs-attention look.
      const locked = app.page.getByRole('button', { name: 'Sync: On' });
      expect(await locked.evaluate((el) => el.classList.contains('attention'))).toBe(true);
      expect(await locked.evaluate((el) => getComputedStyle(el).backgroundColor)).not.toBe('rgb(31, 157, 85)');
      await screenshot(app.page, 'sync-6-folder-locked');
      expect(await platformSite(ada, 'locked')).toBeNull();
    } finally {
      cli.release();
    }
    // Once the other process has stopped, Sync: Off then On syncs the folder.
    await app.page.getByRole('button', { name: 'Sync: On' }).click();
    await app.page.getByRole('button', { name: 'Sync: Off' }).waitFor();
    await app.page.getByRole('button', { name: 'Sync: Off' }).click();
    await app.page.getByRole('button', { name: 'Sync: On' }).waitFor();
    await until(async () => (await platformSite(ada, 'locked')) === '<p>locked</p>', 'locked.html on the platform');
    expect(await redLine(app.page)).toBeNull();

    // Choose Sync Folder…: the engine restarts on the new folder, and the old one is no longer synced.
    const chosen = join(app.home, 'Sites');
    expect(await app.controller.chooseFolder(chosen)).toEqual({ ok: true });
    expect(app.backend.status.current.folder).toBe(chosen);
    await app.page.getByRole('button', { name: 'Sync: On' }).waitFor();
    writeFileSync(join(chosen, 'moved.html'), '<p>in the chosen folder</p>');
    writeFileSync(join(folder, 'left.html'), '<p>in the old folder</p>');
    await until(async () => (await platformSite(ada, 'moved')) === '<p>in the chosen folder</p>', 'moved.html');
    await new Promise((resolve) => setTimeout(resolve, POLL_SECONDS * 3 * 1000));
    expect(await platformSite(ada, 'left')).toBeNull();

    // The platform revoking this device (401 at the next poll) returns the window to the Sync button.
    const token = app.settings.tokens.load(platform.url)!.token;
    const revoked = await fetch(`${platform.url}/sync/logout`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(revoked.status).toBe(204);
    await app.page.getByRole('button', { name: 'Sync', exact: true }).waitFor();
    expect(app.settings.tokens.account()).toBeNull();
    await app.controller.shutdown();
    await app.close();
  });
});
