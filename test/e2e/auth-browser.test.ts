// The browser sign-in in real Chromium against the reference platform: authorize, the platform login, consent,
// the loopback callback, the PKCE code exchange and a working token; and Cancel.

import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  openReferenceStores,
  type ReferenceServer,
  startReferenceServer,
} from '../../server-endpoints/reference/server.js';
import { launchChromium, waitForFound } from '../helpers/browser.js';
import { exchange, pkcePair } from '../integration/server-auth-helpers.js';

const EMAIL = 'carol@example.com';
const PASSWORD = 'carol password 1';
// A site in a folder that loads an upload next to it by a relative URL, as it would from disk.
const GALLERY_HTML = '<p id="t">Gallery</p><img id="dot" src="dot.svg" onload="document.title = \'loaded\'">';
const DOT_SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>';
const SITE_HTML = '<!doctype html><title>Carol</title><p id="text">first</p>';

/** The CLI's loopback listener, reduced to what the test needs: it remembers every callback URL it receives. */
async function startCallbackListener(): Promise<{ server: Server; port: number; calls: URL[] }> {
  const calls: URL[] = [];
  const server = createServer((req, res) => {
    calls.push(new URL(req.url ?? '/', 'http://127.0.0.1'));
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>Signed in</title><p id="done">You can close this window.</p>');
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { server, port: (server.address() as AddressInfo).port, calls };
}

describe('browser sign-in (real Chromium)', () => {
  let dir: string;
  let platform: ReferenceServer;
  let callback: Awaited<ReturnType<typeof startCallbackListener>>;
  let browser: Browser;
  const logLines: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hc-auth-browser-'));
    const stores = await openReferenceStores(dir);
    try {
      const carol = await stores.accounts.create({ email: EMAIL, password: PASSWORD, plan: 'paid' });
      const content = Buffer.from(SITE_HTML);
      const seed = (kind: 'site' | 'upload', key: string, path: string, text: string) => {
        const bytes = Buffer.from(text);
        return stores.storage.writeFile({
          accountId: carol.id,
          kind,
          key,
          path,
          content: bytes,
          sha256: createHash('sha256').update(bytes).digest('hex'),
          baseVersion: 0,
          modifiedAtMs: Date.now(),
          limits: { maxSites: null, maxStorageBytes: null },
        });
      };
      await seed('site', 'gallery', 'art/gallery.html', GALLERY_HTML);
      await seed('upload', 'art/dot.svg', 'art/dot.svg', DOT_SVG);
      await stores.storage.writeFile({
        accountId: carol.id,
        kind: 'site',
        key: 'carolsite',
        path: 'carolsite.html',
        content,
        sha256: createHash('sha256').update(content).digest('hex'),
        baseVersion: 0,
        modifiedAtMs: Date.now(),
        limits: { maxSites: null, maxStorageBytes: null },
      });
    } finally {
      await stores.close();
    }
    platform = await startReferenceServer({ port: 0, dataDir: dir, log: (line) => logLines.push(line) });
    callback = await startCallbackListener();
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((done) => (callback ? callback.server.close(() => done()) : done()));
    await platform?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function authorizeUrl(state: string, challenge: string): string {
    const query = new URLSearchParams({
      redirect_uri: `http://127.0.0.1:${callback.port}/callback`,
      state,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      device_name: 'Carol’s <laptop>',
    });
    return `${platform.url}/sync/authorize?${query}`;
  }

  it('signs in, allows, reaches the loopback callback, and exchanges the code for a working token', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const { verifier, challenge } = pkcePair();
    const state = randomBytes(12).toString('hex');

    await page.goto(authorizeUrl(state, challenge));
    expect(new URL(page.url()).pathname).toBe('/login');

    await page.fill('input[name="email"]', EMAIL);
    await page.fill('input[name="password"]', 'not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.locator('#error').textContent()).resolves.toContain('do not match');

    await page.fill('input[name="password"]', PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Allow' }).waitFor();
    // The device name is shown as text, never as markup.
    await expect(page.locator('#device').textContent()).resolves.toBe('Carol’s <laptop>');

    await page.getByRole('button', { name: 'Allow' }).click();
    const arrived = await waitForFound(
      () => callback.calls.find((u) => u.searchParams.get('state') === state),
      'the callback',
    );
    expect(arrived.pathname).toBe('/callback');
    const code = arrived.searchParams.get('code');
    expect(code).toBeTruthy();
    expect(arrived.searchParams.get('error')).toBeNull();
    await page.waitForURL((url) => url.port === String(callback.port));

    const grant = { code, code_verifier: verifier, redirect_uri: `http://127.0.0.1:${callback.port}/callback` };
    const exchanged = await exchange(platform, grant);
    expect(exchanged.status).toBe(200);
    const { token, user } = exchanged.body as { token: string; user: { email: string; plan: string } };
    expect(user).toMatchObject({ email: EMAIL, plan: 'paid' });

    const me = await fetch(`${platform.url}/sync/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
    const body = (await me.json()) as { user: { email: string } };
    expect(body.user.email).toBe(EMAIL);

    expect((await exchange(platform, grant)).status).toBe(400);
    await context.close();
  });

  it('Cancel sends error=access_denied with the state to the callback, and no code', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const { challenge } = pkcePair();
    const state = randomBytes(12).toString('hex');

    await page.goto(authorizeUrl(state, challenge));
    await page.fill('input[name="email"]', EMAIL);
    await page.fill('input[name="password"]', PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Cancel' }).click();

    const arrived = await waitForFound(
      () => callback.calls.find((u) => u.searchParams.get('state') === state),
      'the callback',
    );
    expect(arrived.searchParams.get('error')).toBe('access_denied');
    expect(arrived.searchParams.get('code')).toBeNull();
    await context.close();
  });

  it('a site saves itself from its own origin after its owner opens it; a page on another origin cannot save it', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${platform.url}/login`);
    await page.fill('input[name="email"]', EMAIL);
    await page.fill('input[name="password"]', PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#account-email').waitFor();

    // The dashboard's link goes through the platform, which sends the owner on to the site's own origin.
    await page.goto(`${platform.url}/carolsite`);
    const siteOrigin = `http://carolsite.localhost:${platform.port}`;
    expect(new URL(page.url()).origin).toBe(siteOrigin);
    expect(new URL(page.url()).pathname).toBe('/');
    await expect(page.locator('#text').textContent()).resolves.toBe('first');
    // The site's host holds its own pass, never the platform's login cookie.
    const cookies = (await context.cookies(siteOrigin)).map((cookie) => cookie.name);
    expect(cookies).toContain('hc_site');
    expect(cookies).not.toContain('hc_session');
    const saved = await page.evaluate(async () => {
      document.querySelector('#text')!.textContent = 'second';
      const response = await fetch('/save/carolsite', {
        method: 'POST',
        body: `<!doctype html>${document.documentElement.outerHTML}`,
      });
      return { status: response.status, body: (await response.json()) as { entry: { version: number } } };
    });
    expect(saved.status).toBe(200);
    expect(saved.body.entry.version).toBe(2);
    await page.reload();
    await expect(page.locator('#text').textContent()).resolves.toBe('second');

    // Another origin cannot save it, neither on the site's host nor on the platform's.
    await page.goto(`http://127.0.0.1:${callback.port}/elsewhere`);
    const attack = await page.evaluate(
      async (targets) => {
        const sent: string[] = [];
        for (const target of targets) {
          try {
            await fetch(target, { method: 'POST', body: '<p>defaced</p>', mode: 'no-cors', credentials: 'include' });
            sent.push('sent');
          } catch (error) {
            sent.push(String(error));
          }
        }
        return sent;
      },
      [`${siteOrigin}/save/carolsite`, `${platform.url}/save/carolsite`],
    );
    expect(attack).toEqual(['sent', 'sent']);
    // Both reached the server (so the refusals are the server's, not the browser's).
    await waitForFound(
      () => logLines.find((line) => /^POST carolsite\.localhost\/save\/carolsite 403 /.test(line)),
      'the refused save on the site host',
    );
    await waitForFound(
      () => logLines.find((line) => /^POST \/save\/carolsite 403 /.test(line)),
      'the refused save on the platform origin',
    );
    const served = await fetch(`${platform.url}/sync/health`);
    expect(served.status).toBe(200);
    await page.goto(`${siteOrigin}/`);
    const html = await page.content();
    expect(html).toContain('second');
    expect(html).not.toContain('defaced');
    await context.close();
  });

  it('opens a site at http://<name>.localhost:<port>/ with the upload it links relatively', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`http://gallery.localhost:${platform.port}/`);
    await expect(page.locator('#t').textContent()).resolves.toBe('Gallery');
    await page.waitForFunction(() => document.title === 'loaded');
    const width = await page.evaluate(() => (document.getElementById('dot') as HTMLImageElement).naturalWidth);
    expect(width).toBe(4);
    await context.close();
  });
});
