// `hyperclay-sync login` through the real browser flow in real Chromium against the reference platform: the
// loopback redirect, a code pasted with `login --code` in a later run, and `logout` revoking the token.

import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allowAndReadCode, launchChromium, logInOnPlatform } from '../helpers/browser.js';
import { exited, startLogin } from '../helpers/cli-login.js';
import { startPlatform, type TestAccount, type TestPlatform } from '../helpers/engine.js';
import { type CliEnv, runCli } from '../integration/cli-run.js';

const temps: string[] = [];
const tempDir = (prefix: string): string => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
};

describe('hyperclay-sync login (real Chromium)', { timeout: 120_000 }, () => {
  let platform: TestPlatform;
  let account: TestAccount;
  let browser: Browser;

  beforeAll(async () => {
    platform = await startPlatform([{ email: 'browser@example.com' }]);
    account = platform.accounts[0] as TestAccount;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await platform?.close();
    for (const dir of temps) rmSync(dir, { recursive: true, force: true });
  });

  it('login --no-browser: Allow in the browser reaches the loopback listener, the CLI exits 0 signed in', async () => {
    const env: CliEnv = { home: tempDir('hc-cli-login-'), url: platform.url };
    const { child, url } = await startLogin(env);
    const authorize = new URL(url);
    expect(authorize.searchParams.get('redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');

    const context = await browser.newContext();
    const page = await context.newPage();
    await logInOnPlatform(page, url, account);
    await page.getByRole('button', { name: 'Allow' }).click();
    expect(await exited(child)).toBe(0);
    expect(child.output().stdout).toContain('Signed in to');
    expect(child.output().stdout).toContain('browser@example.com');
    await expect(page.locator('h1').textContent()).resolves.toContain('Signed in to Hyperclay Sync');
    await context.close();

    const status = JSON.parse((await runCli(env, ['status', '--json'])).stdout) as Record<string, unknown>;
    expect(status).toMatchObject({ signedIn: true, account: { email: 'browser@example.com', plan: 'paid' } });
    // The token sits in a file only its owner can read; the pending PKCE secrets are gone.
    const settingsFile = join(env.home, 'settings.json');
    expect(statSync(settingsFile).mode & 0o777).toBe(0o600);
    expect(existsSync(join(env.home, 'pending-sign-in.json'))).toBe(false);
    const token = (JSON.parse(readFileSync(settingsFile, 'utf8')) as { token: { token: string } }).token.token;
    expect((await platform.api({ ...account, token }, '/sync/me')).status).toBe(200);
    // Neither the token nor the code is in the log.
    const log = readFileSync(join(env.home, 'logs', 'sync.log'), 'utf8');
    expect(log).not.toContain(token);
    expect(log).toContain('signed in as browser@example.com');

    // logout revokes the token on the platform and forgets it here.
    const logout = await runCli(env, ['logout']);
    expect(logout.code).toBe(0);
    expect((await platform.api({ ...account, token }, '/sync/me')).status).toBe(401);
    const after = JSON.parse((await runCli(env, ['status', '--json'])).stdout) as Record<string, unknown>;
    expect(after).toMatchObject({ signedIn: false, account: null });
  });

  it('login --code: a code copied from the page (#code) finishes the sign-in in a later run', async () => {
    const env: CliEnv = { home: tempDir('hc-cli-code-'), url: platform.url };
    const { child, url } = await startLogin(env);
    // The first run ends (a remote terminal closed, Ctrl-C): its listener is gone, the pending sign-in stays.
    child.kill('SIGINT');
    await exited(child);
    const pendingFile = join(env.home, 'pending-sign-in.json');
    expect(statSync(pendingFile).mode & 0o777).toBe(0o600);

    const context = await browser.newContext();
    const page = await context.newPage();
    const callbackPort = new URL(new URL(url).searchParams.get('redirect_uri') as string).port;
    // The redirect cannot reach the CLI: keep the page with the code (an aborted navigation leaves it in place).
    await page.route(`http://127.0.0.1:${callbackPort}/**`, (route) => route.abort('aborted'));
    await logInOnPlatform(page, url, account);
    const code = await allowAndReadCode(page);
    expect(code.length).toBeGreaterThan(20);
    await context.close();

    const wrongFirst = await runCli(env, ['login', '--code', 'not-the-code-at-all']);
    expect(wrongFirst.code).toBe(1);
    expect(wrongFirst.stderr).toContain('code');
    // A refused code ends that sign-in (the platform spends a code on its first exchange); start another.
    expect(existsSync(pendingFile)).toBe(false);
    const again = await startLogin(env);
    again.child.kill('SIGINT');
    await exited(again.child);
    const context2 = await browser.newContext();
    const page2 = await context2.newPage();
    const port2 = new URL(new URL(again.url).searchParams.get('redirect_uri') as string).port;
    await page2.route(`http://127.0.0.1:${port2}/**`, (route) => route.abort('aborted'));
    await logInOnPlatform(page2, again.url, account);
    const code2 = await allowAndReadCode(page2);
    await context2.close();

    const signedIn = await runCli(env, ['login', '--code', code2]);
    expect(signedIn.stderr).toBe('');
    expect(signedIn.code).toBe(0);
    expect(signedIn.stdout).toContain('browser@example.com');
    expect(existsSync(pendingFile)).toBe(false);
    const status = JSON.parse((await runCli(env, ['status', '--json'])).stdout) as Record<string, unknown>;
    expect(status).toMatchObject({ signedIn: true, account: { email: 'browser@example.com' } });
    const log = readFileSync(join(env.home, 'logs', 'sync.log'), 'utf8');
    expect(log).not.toContain(code2);

    // The code works once.
    const reused = await runCli(env, ['login', '--code', code2]);
    expect(reused.code).toBe(1);
  });
  it('login --no-browser also takes the code pasted on its stdin while it waits', async () => {
    const env: CliEnv = { home: tempDir('hc-cli-paste-'), url: platform.url };
    const { child, url } = await startLogin(env);
    const context = await browser.newContext();
    const page = await context.newPage();
    const port = new URL(new URL(url).searchParams.get('redirect_uri') as string).port;
    await page.route(`http://127.0.0.1:${port}/**`, (route) => route.abort('aborted'));
    await logInOnPlatform(page, url, account);
    const code = await allowAndReadCode(page);
    await context.close();

    child.stdin?.write(`${code}\n`);
    expect(await exited(child)).toBe(0);
    expect(child.output().stdout).toContain('Signed in to');
    const status = JSON.parse((await runCli(env, ['status', '--json'])).stdout) as Record<string, unknown>;
    expect(status).toMatchObject({ signedIn: true, account: { email: 'browser@example.com' } });
  });
});
