// The window signing in for real: the renderer in Chromium, the real controller, the engine's PKCE sign-in and
// settings file, and the real sync endpoints; the browser flow in a second page. A recording SyncRunner shows exactly
// when syncing starts and stops; renderer-sync.test.ts runs the same flow over the real sync engine.

import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SyncRunner } from '../../electron/core/engine-backend.js';
import type { Account } from '../../server-endpoints/types.js';
import { createApiClient } from '../../sync-engine/endpoints.js';
import { SignedOutError } from '../../sync-engine/errors.js';
import { openSettings, type Settings } from '../../sync-engine/settings.js';
import { allowAndReadCode, contextSignedInAs } from '../helpers/browser.js';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { appBackend, screenshot, startWindowHarness, visibleButtons, type WindowHarness } from './renderer-harness.js';

let harness: WindowHarness;
let platform: TestPlatform;
let account: Account;
const temp = mkdtempSync(join(tmpdir(), 'hc-desktop-signin-'));

beforeAll(async () => {
  [harness, platform] = await Promise.all([startWindowHarness(), startTestPlatform()]);
  account = platform.addAccount({ email: 'ada@example.com' });
});
afterAll(async () => {
  await harness?.close();
  await platform?.close();
  rmSync(temp, { recursive: true, force: true });
});

class RecordingRunner implements SyncRunner {
  events: string[] = [];
  async start() {
    this.events.push('start');
  }
  async stop() {
    this.events.push('stop');
  }
  setOsOnline(online: boolean) {
    this.events.push(`online:${online}`);
  }
  suspend() {
    this.events.push('suspend');
  }
  resume() {
    this.events.push('resume');
  }
}

let homes = 0;
async function openApp() {
  const home = join(temp, `home-${++homes}`);
  const settings: Settings = openSettings(join(home, 'data'));
  const runner = new RecordingRunner();
  const lines: string[] = [];
  const backend = appBackend(platform.url, {
    settings,
    log: (_level, line) => lines.push(line),
    createRunner: () => runner,
    home,
  });
  const window = await harness.openWindow(backend, platform.url);
  return { ...window, backend, settings, runner, lines };
}

/** The system browser: the platform signed in as Ada, on the authorize page the app opened. */
async function browserOnAuthorizePage(url: string) {
  const context = await contextSignedInAs(harness.browser, platform.url, account.id);
  const page = await context.newPage();
  await page.goto(url);
  await page.getByText('Ada laptop').first().waitFor();
  return { page, close: () => context.close() };
}

describe('the window against the real sign-in', () => {
  it('Sync -> Allow in the browser -> the deep link -> Sync: On; Off and On stop and start syncing; Log out revokes', async () => {
    const app = await openApp();
    await app.page.getByRole('button', { name: 'Sync', exact: true }).click();
    await app.page.getByText('Finish signing in in your browser').waitFor();
    expect(app.opened).toHaveLength(1);
    expect(app.opened[0]).toMatch(new RegExp(`^${platform.url}/sync/authorize\\?`));
    expect(new URL(app.opened[0]!).searchParams.get('redirect_uri')).toBe('hyperclay://auth/callback');

    const browser = await browserOnAuthorizePage(app.opened[0]!);
    await browser.page.getByRole('button', { name: 'Allow' }).click();
    const link = await browser.page.locator('#callback').getAttribute('href');
    await browser.close();
    expect(link).toMatch(/^hyperclay:\/\/auth\/callback\?code=/);

    // The OS hands the link to the app (open-url, argv or second-instance all end here).
    expect(await app.controller.handleDeepLink(link)).toEqual({ ok: true });
    const toggle = app.page.getByRole('button', { name: 'Sync: On' });
    await toggle.waitFor();
    expect(await visibleButtons(app.page)).toEqual(['Sync: On', 'Log out']);
    expect(app.runner.events).toEqual(['start']);
    expect(app.settings.tokens.account()?.user.email).toBe('ada@example.com');
    expect(statSync(app.settings.file).mode & 0o777).toBe(0o600);
    const token = app.settings.tokens.load(platform.url)!.token;
    expect(app.lines.join('\n')).not.toContain(token);
    await screenshot(app.page, '7-signed-in-real-platform');

    // The same link again (a replay) is ignored: the sign-in is over.
    expect(await app.controller.handleDeepLink(link)).toMatchObject({ ok: false, code: 'link_ignored' });

    await toggle.click();
    await app.page.getByRole('button', { name: 'Sync: Off' }).waitFor();
    expect(app.runner.events).toEqual(['start', 'stop']);
    expect(app.settings.getSyncOn()).toBe(false);
    await app.page.getByRole('button', { name: 'Sync: Off' }).click();
    await app.page.getByRole('button', { name: 'Sync: On' }).waitFor();
    expect(app.runner.events).toEqual(['start', 'stop', 'start']);

    await app.page.getByRole('button', { name: 'Log out' }).click();
    await app.page.getByRole('button', { name: 'Sync', exact: true }).waitFor();
    expect(app.runner.events).toEqual(['start', 'stop', 'start', 'stop']);
    expect(app.settings.tokens.account()).toBeNull();
    expect(readFileSync(app.settings.file, 'utf8')).not.toContain(token);
    // Revoked on the platform: the old token no longer works.
    const stale = createApiClient({
      origin: platform.url,
      clientVersion: '0.1.0',
      getToken: () => ({
        token,
        origin: platform.url,
        expiresAt: new Date(Date.now() + 3600e3).toISOString(),
        obtainedAtMs: Date.now(),
      }),
      retryDelaysMs: [],
    });
    await expect(stale.me()).rejects.toBeInstanceOf(SignedOutError);
    stale.close();
    await app.controller.shutdown();
    await app.close();
  });

  it('the code pasted from the browser page signs in when the link does not reach the app', async () => {
    const app = await openApp();
    await app.page.getByRole('button', { name: 'Sync', exact: true }).click();
    await app.page.getByText('Finish signing in in your browser').waitFor();
    const browser = await browserOnAuthorizePage(app.opened[0]!);
    const code = await allowAndReadCode(browser.page);
    await browser.close();
    await app.page.getByLabel('Paste code').fill(code);
    await app.page.getByRole('button', { name: 'Sign in' }).click();
    await app.page.getByRole('button', { name: 'Sync: On' }).waitFor();
    expect(app.lines.join('\n')).not.toContain(code);
    expect(app.logs.join('\n')).not.toContain(code);
    // A used code is refused if pasted again after logging out and starting over.
    await app.page.getByRole('button', { name: 'Log out' }).click();
    await app.page.getByRole('button', { name: 'Sync', exact: true }).click();
    await app.page.getByLabel('Paste code').fill(code);
    await app.page.getByRole('button', { name: 'Sign in' }).click();
    await app.page.getByRole('alert').waitFor();
    expect(await app.page.getByLabel('Paste code').isVisible()).toBe(true);
    await app.controller.shutdown();
    await app.close();
  });

  it('Cancel in the browser returns the window to the Sync button and saves nothing', async () => {
    const app = await openApp();
    await app.page.getByRole('button', { name: 'Sync', exact: true }).click();
    const browser = await browserOnAuthorizePage(app.opened[0]!);
    const redirect = browser.page.waitForRequest((request) => request.url().startsWith('hyperclay://'), {
      timeout: 10_000,
    });
    await browser.page.getByRole('button', { name: 'Cancel' }).click();
    const link = (await redirect.catch(() => null))?.url() ?? null;
    await browser.close();
    expect(link).toMatch(/^hyperclay:\/\/auth\/callback\?error=access_denied&state=/);
    await app.controller.handleDeepLink(link);
    await app.page.getByRole('button', { name: 'Sync', exact: true }).waitFor();
    expect(await app.page.getByRole('alert').textContent()).toContain('cancelled');
    expect(app.settings.tokens.account()).toBeNull();
    await app.controller.shutdown();
    await app.close();
  });
});
