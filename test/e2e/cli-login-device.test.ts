// `hyperclay-sync login --device` end to end: the CLI in a child process prints the address and the short code, a
// person signs in on /device in real Chromium, types the code, Allow (or Cancel); the CLI exits accordingly.

import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/browser.js';
import { type CliChild, exited, printedLine } from '../helpers/cli-login.js';
import { startPlatform, type TestAccount, type TestPlatform } from '../helpers/engine.js';
import { type CliEnv, runCli, spawnCli } from '../integration/cli-run.js';
import { screenshot } from './renderer-harness.js';

const temps: string[] = [];
const tempDir = (prefix: string): string => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
};

/** `login --device` started, with the address and the code it printed. */
async function startDeviceLogin(env: CliEnv): Promise<{ child: CliChild; address: string; userCode: string }> {
  const child = spawnCli(env, ['login', '--device']);
  const address = await printedLine(child, /^http:\/\/127\.0\.0\.1:\d+\/device$/, 'the /device address');
  const codeLine = await printedLine(child, /^and enter the code: /, 'the code');
  const userCode = codeLine.replace('and enter the code: ', '').trim();
  return { child, address, userCode };
}

async function signInOnPlatform(page: Page, address: string, account: TestAccount): Promise<void> {
  await page.goto(address);
  await page.getByLabel('Email').fill(account.email);
  await page.getByLabel('Password').fill(account.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Continue' }).waitFor();
}

describe('hyperclay-sync login --device (real Chromium)', { timeout: 150_000 }, () => {
  let platform: TestPlatform;
  let account: TestAccount;
  let browser: Browser;
  let context: BrowserContext;

  beforeAll(async () => {
    platform = await startPlatform([{ email: 'device@example.com' }]);
    account = platform.accounts[0] as TestAccount;
    browser = await launchChromium();
    context = await browser.newContext();
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await platform?.close();
    for (const dir of temps) rmSync(dir, { recursive: true, force: true });
  });

  it('prints the address and code; a wrong code is refused; the right one and Allow sign the CLI in', async () => {
    const env: CliEnv = { home: tempDir('hc-device-ok-'), url: platform.url };
    const { child, address, userCode } = await startDeviceLogin(env);
    expect(userCode).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    expect(address).toBe(`${platform.url}/device`);

    const page = await context.newPage();
    await signInOnPlatform(page, address, account);
    await page.getByLabel('Code').fill(userCode.toLowerCase());
    await screenshot(page, 'device-1-enter-code');
    await page.getByLabel('Code').fill('BCDF-GHJK');
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('That code is not valid');
    await screenshot(page, 'device-2-wrong-code');

    // Typed as a person might: lower case, without the dash.
    await page.getByLabel('Code').fill(userCode.toLowerCase().replace('-', ''));
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect(page.locator('#device').textContent()).resolves.toBe(`hyperclay-sync on ${hostname()}`.slice(0, 100));
    await expect(page.locator('#email').textContent()).resolves.toBe('device@example.com');
    await screenshot(page, 'device-3-consent');
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.locator('h1', { hasText: 'Device connected' }).waitFor();
    await screenshot(page, 'device-4-connected');
    await page.close();

    expect(await exited(child)).toBe(0);
    expect(child.output().stdout).toContain(`Signed in to ${platform.url} as device@example.com.`);
    const status = await runCli(env, ['status', '--json']);
    expect(JSON.parse(status.stdout)).toMatchObject({ signedIn: true, account: { email: 'device@example.com' } });
    // Saved as every login saves it: mode 0600, and neither token nor codes in the log.
    const settingsFile = join(env.home, 'settings.json');
    expect(statSync(settingsFile).mode & 0o777).toBe(0o600);
    const token = (JSON.parse(readFileSync(settingsFile, 'utf8')) as { token: { token: string } }).token.token;
    expect((await platform.api({ ...account, token }, '/sync/me')).status).toBe(200);
    const log = readFileSync(join(env.home, 'logs', 'sync.log'), 'utf8');
    expect(log).not.toContain(token);
    expect(log).not.toContain(userCode);
    expect(log).toContain('signed in as device@example.com');
  });

  it('Cancel in the browser: the CLI exits 1 saying so, and is not signed in', async () => {
    const env: CliEnv = { home: tempDir('hc-device-no-'), url: platform.url };
    const { child, userCode } = await startDeviceLogin(env);
    const page = await context.newPage();
    // The complete address (already signed in from the first test): the code is filled in.
    await page.goto(`${platform.url}/device?user_code=${userCode}`);
    await expect(page.getByLabel('Code').inputValue()).resolves.toBe(userCode);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.locator('h1', { hasText: 'Sign-in cancelled' }).waitFor();
    await page.close();

    expect(await exited(child)).toBe(1);
    expect(child.output().stderr).toContain('cancelled in the browser');
    const status = await runCli(env, ['status', '--json']);
    expect(status.code).toBe(3);
    expect(JSON.parse(status.stdout)).toMatchObject({ signedIn: false });
  });

  it('Ctrl-C while waiting: exits 1 with one sentence, nothing saved', async () => {
    const env: CliEnv = { home: tempDir('hc-device-stop-'), url: platform.url };
    const { child } = await startDeviceLogin(env);
    child.kill('SIGINT');
    expect(await exited(child)).toBe(1);
    expect(child.output().stderr).toContain('Sign-in was stopped before it finished.');
    expect((await runCli(env, ['status', '--json'])).code).toBe(3);
    expect((await runCli(env, ['login', '--device', '--code', 'x'])).code).toBe(2);
  });
});
