// The dashboard web app's tests: the real reference server, a real sync client whose folder seeds the account (and
// then receives what the browser does), and real Chromium signed in through the platform's login page.

import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { iconPng } from '../../server-endpoints/reference/icons.js';
import { launchChromium } from '../helpers/browser.js';
import { filesOf, startClient, startPlatform, type TestClient, type TestPlatform, until } from '../helpers/engine.js';

export const SCREENSHOTS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test-results', 'screenshots');

export const HELLO_V1 =
  '<!doctype html>\n<html><head><title>Hello</title></head>\n<body>\n<h1>Hello</h1>\n<p>first draft</p>\n</body></html>\n';
export const HELLO_V2 =
  '<!doctype html>\n<html><head><title>Hello</title></head>\n<body>\n<h1>Hello</h1>\n<p>second draft</p>\n<p>one more line</p>\n</body></html>\n';
/** Markdown that tries raw HTML, a script, an event handler and a javascript: link. */
export const README_MD = `# Notes from the road

Some **bold** text, a [safe link](https://example.com/), and a list:

- one
- two

![a dot](../pics/dot.png)

<script>window.__markdownRan = true; document.title = 'pwned';</script>

<img src="x" onerror="window.__markdownRan = true">

[click me](javascript:window.__markdownRan=true)

\`\`\`
code block
\`\`\`
`;
export const PLAIN_TXT = 'A plain note with <b>tags</b> & an ampersand.\nSecond line.\n';

/** The account's files as its synced folder holds them at the start. */
const SEED: Record<string, string | Buffer> = {
  'hello.html': HELLO_V1,
  'doomed.html': '<!doctype html><title>Doomed</title><p>delete me, then bring me back</p>\n',
  'notes/readme.md': README_MD,
  'notes/plain.txt': PLAIN_TXT,
  'notes/evil.svg': '<svg xmlns="http://www.w3.org/2000/svg"><script>window.__svgRan = true</script></svg>',
  'pics/dot.png': iconPng('icon-192.png'),
  'trash.txt': 'throw me away\n',
};

export interface DashboardWorld {
  platform: TestPlatform;
  client: TestClient;
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** `http://localhost:<port>`: the platform's origin as a browser uses it. */
  origin: string;
  port: number;
  close(): Promise<void>;
}

/** The platform, its client's folder synced (hello.html at v2), and a browser signed in on the login page. */
export async function startDashboardWorld(): Promise<DashboardWorld> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const platform = await startPlatform([{ email: 'ada@example.com' }]);
  const account = platform.accounts[0]!;
  const folder = mkdtempSync(join(tmpdir(), 'hc-dashboard-'));
  for (const [path, content] of Object.entries(SEED)) {
    mkdirSync(dirname(join(folder, path)), { recursive: true });
    writeFileSync(join(folder, path), content);
  }
  const client = startClient(platform, account, { folder });
  await client.engine.start();
  const seeded = Object.keys(SEED).sort();
  await until(
    async () => {
      const listed = (await platform.listing(account)).filter((e) => e.kind !== 'folder').map((e) => e.path);
      return seeded.every((path) => listed.includes(path));
    },
    'the seed on the platform',
    30_000,
  );
  // A second version of hello, so the site has history to compare and restore.
  writeFileSync(join(folder, 'hello.html'), HELLO_V2);
  await until(async () => (await platform.remote(account, 'site', 'hello')) === HELLO_V2, 'hello v2', 30_000);
  const browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const origin = platform.server.publicUrl;
  await page.goto(`${origin}/login`);
  await page.getByLabel('Email').fill(account.email);
  await page.getByLabel('Password').fill(account.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#account-email').waitFor();
  return {
    platform,
    client,
    browser,
    context,
    page,
    origin,
    port: platform.server.port,
    async close() {
      await browser.close();
      await client.stop();
      await platform.close();
    },
  };
}

/** The client's folder without its state, as a sorted list. */
export const clientFiles = (world: DashboardWorld): string[] => filesOf(world.client.folder);

/** A full-page screenshot at a phone's or a desktop's width, under test-results/screenshots. */
export async function screenshotAt(page: Page, name: string, width: 390 | 1280): Promise<string> {
  await page.setViewportSize({ width, height: width === 390 ? 844 : 900 });
  const path = join(SCREENSHOTS, `dashboard-${name}-${width}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
