// The sign-in pages in real Chromium: escaping runs no script, framing is refused, the consent POST passes its
// origin check, and the redirects the CSP must allow (loopback IPv4 and IPv6) reach the callback without a referrer.

import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contextSignedInAs, launchChromium, waitForFound } from '../helpers/browser.js';
import { exchange, pkcePair, type Rig, startRig } from './server-auth-helpers.js';

interface Listener {
  server: Server;
  base: string;
  calls: { url: URL; headers: IncomingHttpHeaders }[];
}

/** A loopback callback listener (what the CLI runs) on 127.0.0.1 or ::1. */
async function startListener(host: '127.0.0.1' | '::1', html = '<p id="done">done</p>'): Promise<Listener> {
  const calls: Listener['calls'] = [];
  const server = createServer((req, res) => {
    calls.push({ url: new URL(req.url ?? '/', 'http://localhost'), headers: req.headers });
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(html);
  });
  await new Promise<void>((done) => server.listen(0, host, done));
  const port = (server.address() as AddressInfo).port;
  return { server, base: host === '::1' ? `http://[::1]:${port}` : `http://127.0.0.1:${port}`, calls };
}

let rig: Rig;
let browser: Browser;
let v4: Listener;
let v6: Listener;

beforeAll(async () => {
  rig = await startRig();
  rig.identity.add('acct-ann', 'ann@example.com');
  v4 = await startListener('127.0.0.1');
  v6 = await startListener('::1');
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  for (const listener of [v4, v6]) await new Promise<void>((done) => listener?.server.close(() => done()));
  await rig?.close();
});

function signedInContext(): Promise<BrowserContext> {
  return contextSignedInAs(browser, rig.url, 'acct-ann');
}

function authorizeUrl(redirectUri: string, state: string, challenge: string, deviceName = 'Laptop'): string {
  const query = new URLSearchParams({
    redirect_uri: redirectUri,
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    device_name: deviceName,
  });
  return `${rig.url}/sync/authorize?${query}`;
}

describe('sign-in pages in Chromium', () => {
  it('shows a hostile device name as text and runs none of it', async () => {
    const context = await signedInContext();
    const page = await context.newPage();
    const violations: string[] = [];
    page.on('console', (message) => violations.push(message.text()));
    const hostile = `<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>`;
    const { challenge } = pkcePair();
    await page.goto(authorizeUrl(`${v4.base}/callback`, 'xss-state', challenge, hostile));
    await expect(page.locator('#device').textContent()).resolves.toBe(hostile);
    expect(await page.evaluate(() => (window as { __xss?: number }).__xss)).toBeUndefined();
    expect(await page.locator('img').count()).toBe(0);

    await page.getByRole('button', { name: 'Allow' }).click();
    await waitForFound(() => v4.calls.find((c) => c.url.searchParams.get('state') === 'xss-state'), 'the callback');
    expect(violations.filter((v) => v.includes('Content Security Policy'))).toEqual([]);
    await context.close();
  });

  it('Allow reaches the IPv4 loopback callback with the code the page shows, and no referrer', async () => {
    const context = await signedInContext();
    const page = await context.newPage();
    const { verifier, challenge } = pkcePair();
    const redirectUri = `${v4.base}/callback`;
    await page.goto(authorizeUrl(redirectUri, 'v4-state', challenge));
    // The code page shows the code, then returns to the app once it answers: the code is read from its answer.
    const answered = page.waitForResponse(
      (response) => response.url() === `${rig.url}/sync/authorize` && response.request().method() === 'POST',
    );
    await page.getByRole('button', { name: 'Allow' }).click();
    const shown = /<code id="code">([^<]+)<\/code>/.exec(await (await answered).text())?.[1];
    expect(shown).toMatch(/\S/);
    const arrived = await waitForFound(
      () => v4.calls.find((c) => c.url.searchParams.get('state') === 'v4-state'),
      'the callback',
    );
    expect(arrived.url.searchParams.get('code')).toBe(shown);
    expect(arrived.headers.referer).toBeUndefined();
    const result = await exchange(rig, { code: shown, code_verifier: verifier, redirect_uri: redirectUri });
    expect(result.status).toBe(200);
    await context.close();
  });

  it('Cancel reaches the IPv6 loopback callback with access_denied (the CSP lets the form redirect there)', async () => {
    const context = await signedInContext();
    const page = await context.newPage();
    const violations: string[] = [];
    page.on('console', (message) => violations.push(message.text()));
    const { challenge } = pkcePair();
    await page.goto(authorizeUrl(`${v6.base}/callback`, 'v6-state', challenge));
    await page.getByRole('button', { name: 'Cancel' }).click();
    const arrived = await waitForFound(
      () => v6.calls.find((c) => c.url.searchParams.get('state') === 'v6-state'),
      'the callback',
    );
    expect(arrived.url.searchParams.get('error')).toBe('access_denied');
    expect(arrived.url.searchParams.get('code')).toBeNull();
    expect(violations.filter((v) => v.includes('Content Security Policy'))).toEqual([]);
    await context.close();
  });

  it('refuses to be framed by another origin', async () => {
    const { challenge } = pkcePair();
    const target = authorizeUrl(`${v4.base}/callback`, 'frame-state', challenge);
    const framer = await startListener(
      '127.0.0.1',
      `<iframe id="f" src="${target.replaceAll('&', '&amp;')}"></iframe>`,
    );
    const context = await signedInContext();
    try {
      const page = await context.newPage();
      const blocked = page.waitForEvent('console', (m) => /frame|ancestors|X-Frame-Options/i.test(m.text()));
      await page.goto(`${framer.base}/`);
      await blocked;
      const frame = page.frames().find((f) => f !== page.mainFrame());
      expect(frame).toBeDefined();
      expect(await frame?.locator('button').count()).toBe(0);
    } finally {
      await context.close();
      await new Promise<void>((done) => framer.server.close(() => done()));
    }
  });
});
