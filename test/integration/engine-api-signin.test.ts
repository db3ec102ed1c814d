// SPEC.md "Auth and account", end to end in real Chromium: the engine's loopback sign-in against the real sync
// endpoints, the token kept in the real settings file (mode 0600), refreshed after a day, and logout.
import { statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Account } from '../../server-endpoints/types.js';
import { settingsTokenStore, signOut, tokenAccess } from '../../sync-engine/auth.js';
import { createApiClient } from '../../sync-engine/endpoints.js';
import { SignedOutError } from '../../sync-engine/errors.js';
import { openSettings } from '../../sync-engine/settings.js';
import { createSignIn } from '../../sync-engine/sign-in.js';
import { contextSignedInAs, launchChromium } from '../helpers/browser.js';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';

const HOUR = 60 * 60 * 1000;
let platform: TestPlatform;
let browser: Browser;
let home: string;
let account: Account;

beforeAll(async () => {
  platform = await startTestPlatform();
  account = platform.addAccount({ email: 'ada@example.com' });
  home = await mkdtemp(join(tmpdir(), 'engine-signin-'));
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await platform?.close();
  await rm(home, { recursive: true, force: true });
});

/** A browser in which `who` is signed in to the platform (the test identity reads this cookie). */
function browserSignedInAs(who: Account) {
  return contextSignedInAs(browser, platform.url, who.id);
}

describe('loopback sign-in in a real browser', () => {
  it('Allow: the code comes back, is exchanged, saved with mode 0600, refreshed after 24 h, and revoked on logout', async () => {
    const settings = openSettings(join(home, 'allow'));
    const store = settingsTokenStore(settings.tokens, platform.url);
    const lines: string[] = [];
    const log = (_level: string, line: string) => lines.push(line);
    const signIn = createSignIn({
      origin: platform.url,
      redirectUri: 'loopback',
      deviceName: 'Ada laptop',
      tokenStore: store,
      log,
    });
    const listener = await signIn.startLoopbackListener({ timeoutMs: 20_000 });

    const context = await browserSignedInAs(account);
    const page = await context.newPage();
    await page.goto(listener.authorizeUrl);
    await page.getByText('Ada laptop').first().waitFor();
    await page.getByRole('button', { name: 'Allow' }).click();
    const code = await listener.code;
    await page.waitForURL((url) => url.port === String(listener.port));
    await page.getByText('You can close this tab').waitFor();
    await context.close();

    const signedIn = await signIn.exchange(code);
    expect(signedIn.user).toEqual({ id: account.id, email: 'ada@example.com', plan: 'paid' });
    expect(statSync(settings.file).mode & 0o777).toBe(0o600);
    expect(await readFile(settings.file, 'utf8')).toContain(signedIn.token);
    expect(lines.join('\n')).not.toContain(code);
    expect(lines.join('\n')).not.toContain(signedIn.token);

    // The token now works; a day later the first call refreshes it and the settings file keeps the new one.
    const api = createApiClient({ origin: platform.url, clientVersion: '0.1.0', ...tokenAccess(store), log });
    await expect(api.me()).resolves.toMatchObject({ user: { email: 'ada@example.com' } });
    const loaded = store.load();
    if (!loaded || 'then' in loaded) throw new Error('expected a saved token');
    store.save({ ...loaded, obtainedAtMs: Date.now() - 25 * HOUR });
    await api.me();
    const after = store.load();
    if (!after || 'then' in after) throw new Error('expected a saved token');
    expect(Date.now() - after.obtainedAtMs).toBeLessThan(HOUR);
    expect(lines.some((l) => l.startsWith('token refreshed'))).toBe(true);

    const revoked = after.token;
    await signOut({ api, tokenStore: store, log });
    expect(store.load()).toBeNull();
    expect(settings.tokens.account()).toBeNull();
    const stale = createApiClient({
      origin: platform.url,
      clientVersion: '0.1.0',
      getToken: () => ({ ...after, token: revoked }),
      retryDelaysMs: [],
    });
    await expect(stale.me()).rejects.toBeInstanceOf(SignedOutError);
    stale.close();
    api.close();
  });

  it('Cancel: the sign-in ends as cancelled and nothing is saved', async () => {
    const settings = openSettings(join(home, 'cancel'));
    const store = settingsTokenStore(settings.tokens, platform.url);
    const signIn = createSignIn({
      origin: platform.url,
      redirectUri: 'loopback',
      deviceName: 'Ada laptop',
      tokenStore: store,
    });
    const listener = await signIn.startLoopbackListener({ timeoutMs: 20_000 });
    const context = await browserSignedInAs(account);
    const page = await context.newPage();
    await page.goto(listener.authorizeUrl);
    await page.getByRole('button', { name: 'Cancel' }).click();
    await expect(listener.code).rejects.toMatchObject({ code: 'sign_in_cancelled' });
    await context.close();
    expect(store.load()).toBeNull();
    signIn.cancel();
  });
});
