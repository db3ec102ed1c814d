// The page after Allow in real Chromium with the real CLI: it shows the code first, then returns to the CLI's
// loopback listener when it answers; when nothing listens there the code stays on screen and `login --code` works.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, logInOnPlatform } from '../helpers/browser.js';
import { exited, startLogin } from '../helpers/cli-login.js';
import { startPlatform, type TestAccount, type TestPlatform } from '../helpers/engine.js';
import { type CliEnv, runCli } from '../integration/cli-run.js';
import { pkcePair } from '../integration/server-auth-helpers.js';
import { screenshot } from './renderer-harness.js';

const temps: string[] = [];
const tempDir = (prefix: string): string => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
};

describe('the page after Allow (real Chromium, real CLI)', { timeout: 120_000 }, () => {
  let platform: TestPlatform;
  let account: TestAccount;
  let browser: Browser;

  beforeAll(async () => {
    platform = await startPlatform([{ email: 'codepage@example.com' }]);
    account = platform.accounts[0] as TestAccount;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await platform?.close();
    for (const dir of temps) rmSync(dir, { recursive: true, force: true });
  });

  it('shows the code with Copy and the paste sentence, then returns to the listening CLI, which signs in', async () => {
    const env: CliEnv = { home: tempDir('hc-codepage-ok-'), url: platform.url };
    const { child, url } = await startLogin(env);
    const port = new URL(new URL(url).searchParams.get('redirect_uri') as string).port;
    const context = await browser.newContext();
    const page = await context.newPage();
    // The page asks the CLI whether it listens before going there: hold that question until the page is pictured.
    let pictured: () => void = () => {};
    const shot = new Promise<void>((resolve) => {
      pictured = resolve;
    });
    const asked: string[] = [];
    await page.route(`http://127.0.0.1:${port}/**`, async (route) => {
      asked.push(route.request().method());
      if (route.request().method() === 'HEAD') await shot;
      await route.continue();
    });
    await logInOnPlatform(page, url, account);
    await page.getByRole('button', { name: 'Allow' }).click();
    const code = (await page.locator('#code').textContent())?.trim() ?? '';
    expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await expect(page.locator('#paste-hint').textContent()).resolves.toContain(
      'paste this code into the app or the terminal',
    );
    await page.getByRole('button', { name: 'Copy' }).waitFor();
    await page.getByRole('link', { name: 'Return to the app' }).waitFor();
    await expect(page.locator('#return-status').textContent()).resolves.toBe('Returning to the app…');
    await screenshot(page, 'sign-in-1-code-page-returning');
    pictured();

    expect(await exited(child)).toBe(0);
    await page.locator('h1', { hasText: 'Signed in to Hyperclay Sync' }).waitFor();
    expect(asked).toEqual(['HEAD', 'GET']);
    const status = JSON.parse((await runCli(env, ['status', '--json'])).stdout) as Record<string, unknown>;
    expect(status).toMatchObject({ signedIn: true, account: { email: 'codepage@example.com' } });
    await context.close();
  });

  it('a deep link (the desktop app) is tried after a moment; with no app for the scheme the code stays', async () => {
    const { challenge } = pkcePair();
    const query = new URLSearchParams({
      redirect_uri: 'hyperclay://auth/callback',
      state: 'deep-link-state',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      device_name: 'Ada laptop',
    });
    const context = await browser.newContext();
    const page = await context.newPage();
    await logInOnPlatform(page, `${platform.url}/sync/authorize?${query}`, account);
    const attempt = page.waitForRequest((request) => request.url().startsWith('hyperclay://'), { timeout: 30_000 });
    await page.getByRole('button', { name: 'Allow' }).click();
    const code = (await page.locator('#code').textContent())?.trim() ?? '';
    const link = new URL((await attempt).url());
    expect(link.searchParams.get('code')).toBe(code);
    expect(link.searchParams.get('state')).toBe('deep-link-state');
    // The attempt went out; no app took it; the page and its code are still there.
    expect(new URL(page.url()).pathname).toBe('/sync/authorize');
    await expect(page.locator('#code').isVisible()).resolves.toBe(true);
    await context.close();
  });

  it('keeps the code on screen when nothing listens on the loopback port; `login --code` then signs in', async () => {
    const env: CliEnv = { home: tempDir('hc-codepage-gone-'), url: platform.url };
    const { child, url } = await startLogin(env);
    // The CLI ends (Ctrl-C, a closed SSH session): its port is one nobody listens on.
    child.kill('SIGINT');
    await exited(child);
    const context = await browser.newContext();
    const page = await context.newPage();
    await logInOnPlatform(page, url, account);
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.locator('#return-status.error').waitFor();
    await expect(page.locator('#return-status').textContent()).resolves.toContain('The app is not answering');
    // Still the platform's page, never the browser's error page, and the code is there to copy.
    expect(new URL(page.url()).pathname).toBe('/sync/authorize');
    const code = (await page.locator('#code').textContent())?.trim() ?? '';
    expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await expect(page.locator('#code').isVisible()).resolves.toBe(true);
    await screenshot(page, 'sign-in-2-code-page-unreachable');
    // Copy puts exactly the code on the clipboard; that is what gets pasted.
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: platform.url });
    await page.getByRole('button', { name: 'Copy' }).click();
    await page.getByRole('button', { name: 'Copied' }).waitFor();
    const pasted = await page.evaluate(() => navigator.clipboard.readText());
    expect(pasted).toBe(code);
    await context.close();

    const signedIn = await runCli(env, ['login', '--code', pasted]);
    expect(signedIn.stderr).toBe('');
    expect(signedIn.code).toBe(0);
    const status = JSON.parse((await runCli(env, ['status', '--json'])).stdout) as Record<string, unknown>;
    expect(status).toMatchObject({ signedIn: true, account: { email: 'codepage@example.com' } });
  });
});
