// SPEC.md "Your files from any device", in real Chromium against the reference server: the dashboard installs as a
// web app (manifest, icons, a service worker that controls the page and serves the shell offline, and caches
// nothing of the account), browses the account's files, renders Markdown without running anything in it, previews
// images and text safely, and looks right on a phone and a desktop (screenshots under test-results/screenshots).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHELL_PATHS } from '../../server-endpoints/reference/shell-assets.js';
import { call } from '../helpers/reference.js';
import { type DashboardWorld, PLAIN_TXT, screenshotAt, startDashboardWorld } from './dashboard-harness.js';

/** A PNG's width and height from its IHDR chunk. */
function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect(png.subarray(12, 16).toString('ascii')).toBe('IHDR');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

describe('the dashboard as a web app', { timeout: 90_000 }, () => {
  let world: DashboardWorld;

  beforeAll(async () => {
    world = await startDashboardWorld();
  }, 120_000);

  afterAll(async () => {
    await world?.close();
  });

  it('is installable: the manifest, its icons, a service worker that controls the page after a reload', async () => {
    const { page, origin, context } = world;
    await page.goto(`${origin}/`);
    const manifestHref = await page.locator('link[rel="manifest"]').getAttribute('href');
    expect(manifestHref).toBe('/manifest.webmanifest');
    const reply = await context.request.get(`${origin}${manifestHref}`);
    expect(reply.headers()['content-type']).toBe('application/manifest+json');
    const manifest = (await reply.json()) as Record<string, unknown> & {
      icons: Array<{ src: string; sizes: string; type: string; purpose: string }>;
    };
    expect(manifest).toMatchObject({
      name: 'Hyperclay',
      short_name: 'Hyperclay',
      start_url: '/',
      scope: '/',
      display: 'standalone',
    });
    expect(manifest.theme_color).toMatch(/^#[0-9a-f]{6}$/);
    expect(manifest.background_color).toMatch(/^#[0-9a-f]{6}$/);
    const wanted = [
      ['192x192', 'any'],
      ['512x512', 'any'],
      ['512x512', 'maskable'],
    ];
    expect(manifest.icons.map((icon) => [icon.sizes, icon.purpose])).toEqual(wanted);
    for (const icon of manifest.icons) {
      const image = await context.request.get(`${origin}${icon.src}`);
      expect(image.headers()['content-type']).toBe('image/png');
      const side = Number(icon.sizes.split('x')[0]);
      expect(pngSize(await image.body())).toEqual({ width: side, height: side });
    }

    // The page's CSP lets this origin's script run (the worker and the shell's script), and no inline script.
    const html = await context.request.get(`${origin}/`);
    const csp = html.headers()['content-security-policy'] ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("worker-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    const worker = await context.request.get(`${origin}/sw.js`);
    expect(worker.headers()['content-type']).toBe('text/javascript; charset=utf-8');

    await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
    await page.reload();
    expect(await page.evaluate(() => navigator.serviceWorker.controller?.scriptURL)).toBe(`${origin}/sw.js`);
  });

  it('shows times in the viewer local time', async () => {
    const { page, origin } = world;
    await page.goto(`${origin}/`);
    const time = page.locator('#sites time').first();
    const iso = (await time.getAttribute('datetime')) ?? '';
    expect(iso).toMatch(/^\d{4}-\d\d-\d\dT/);
    const local = await page.evaluate(
      (at) => new Date(at).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }),
      iso,
    );
    await expect.poll(() => time.textContent()).toBe(local);
  });

  it('serves the shell offline, and keeps only the shell: no page of the account is ever cached', async () => {
    const { page, origin, context } = world;
    await page.goto(`${origin}/`);
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
    // Pages of the account visited while online...
    await page.goto(`${origin}/dashboard/files/notes/readme.md`);
    await page.goto(`${origin}/dashboard/sites/hello`);
    await context.setOffline(true);
    try {
      await page.goto(`${origin}/dashboard/files`);
      await expect.poll(() => page.locator('#offline').textContent()).toBe('You are offline');
      // The shell's stylesheet came from the cache too: the header has its colour.
      const header = await page.locator('header.top').evaluate((el) => getComputedStyle(el).backgroundColor);
      expect(header).toBe('rgb(43, 89, 195)');
      await screenshotAt(page, 'offline', 390);
      // ...are not in any cache: only the shell's static files and the offline page are.
      const cached = await page.evaluate(async () => {
        const paths: string[] = [];
        for (const key of await caches.keys()) {
          const cache = await caches.open(key);
          for (const request of await cache.keys()) paths.push(new URL(request.url).pathname);
        }
        return paths.sort();
      });
      expect(cached).toEqual([...SHELL_PATHS].sort());
    } finally {
      await context.setOffline(false);
    }
  });

  it('browses folders, sites and uploads as a tree', async () => {
    const { page, origin } = world;
    await page.goto(`${origin}/`);
    await page.locator('#nav-files').click();
    const level = (selector = '#tree li') =>
      page.locator(selector).evaluateAll((items) => items.map((li) => `${li.dataset.kind} ${li.dataset.path}`));
    expect(await level()).toEqual([
      'folder notes',
      'folder pics',
      'site doomed.html',
      'site hello.html',
      'upload trash.txt',
    ]);
    await page.locator('#tree a', { hasText: 'notes' }).click();
    expect(await level()).toEqual(['upload notes/evil.svg', 'upload notes/plain.txt', 'upload notes/readme.md']);
    expect(await page.locator('#crumbs').textContent()).toBe('Files / notes');
    await page.goto(`${origin}/dashboard/files/hello.html`);
    expect(await page.locator('#text-preview').textContent()).toContain('second draft');
    expect(await page.locator('#open-site').getAttribute('href')).toBe('/hello');
  });

  it('renders Markdown; a script, raw HTML and a javascript: link in it do nothing and show as text', async () => {
    const { page, origin } = world;
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await page.goto(`${origin}/dashboard/files/notes/readme.md`);
    const article = page.locator('#markdown');
    expect(await article.locator('h1').textContent()).toBe('Notes from the road');
    expect(await article.locator('strong').textContent()).toBe('bold');
    expect(await article.locator('li').allTextContents()).toEqual(['one', 'two']);
    expect(await article.locator('a[href="https://example.com/"]').textContent()).toBe('safe link');
    expect(await article.locator('pre code').textContent()).toBe('code block\n');
    // A relative image shows the upload next to the file, through the image route.
    const image = article.locator('img');
    expect(await image.getAttribute('src')).toBe('/dashboard/image/pics/dot.png');
    await expect.poll(() => image.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(192);
    // Raw HTML is text, not elements.
    expect(await article.locator('script, [onerror], img[src="x"]').count()).toBe(0);
    const text = (await article.textContent()) ?? '';
    expect(text).toContain("<script>window.__markdownRan = true; document.title = 'pwned';</script>");
    expect(text).toContain('<img src="x" onerror="window.__markdownRan = true">');
    // The javascript: link is not a link.
    expect(await article.locator('a[href^="javascript"]').count()).toBe(0);
    expect(text).toContain('[click me](javascript:window.__markdownRan=true)');
    expect(await page.evaluate(() => (window as { __markdownRan?: boolean }).__markdownRan ?? false)).toBe(false);
    expect(await page.title()).toBe('readme.md · Hyperclay (reference)');
    expect(dialogs).toEqual([]);
  });

  it('previews an image through the authenticated image route, which serves image types only', async () => {
    const { page, origin, context, port, platform } = world;
    await page.goto(`${origin}/dashboard/files/pics/dot.png`);
    const preview = page.locator('#image-preview');
    await expect.poll(() => preview.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(192);
    const image = await context.request.get(`${origin}/dashboard/image/pics/dot.png`);
    expect(image.status()).toBe(200);
    expect(image.headers()).toMatchObject({
      'content-type': 'image/png',
      'x-content-type-options': 'nosniff',
      'content-security-policy': "sandbox; default-src 'none'",
    });
    // Never SVG, HTML or text on the platform's origin, and never without the login.
    for (const path of ['notes/evil.svg', 'notes/plain.txt', 'hello.html']) {
      expect((await context.request.get(`${origin}/dashboard/image/${path}`)).status()).toBe(404);
    }
    const anonymous = await call(platform.url, { path: '/dashboard/image/pics/dot.png', host: `localhost:${port}` });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['content-type']).toMatch(/^text\/html/);
  });

  it('shows text and SVG as escaped text', async () => {
    const { page, origin } = world;
    await page.goto(`${origin}/dashboard/files/notes/plain.txt`);
    expect(await page.locator('#text-preview').textContent()).toBe(PLAIN_TXT);
    expect(await page.locator('#text-preview b').count()).toBe(0);
    await page.goto(`${origin}/dashboard/files/notes/evil.svg`);
    expect(await page.locator('#text-preview').textContent()).toContain('<script>window.__svgRan = true</script>');
    expect(await page.locator('svg, script:not([src])').count()).toBe(0);
    expect(await page.evaluate(() => (window as { __svgRan?: boolean }).__svgRan ?? false)).toBe(false);
  });

  it('lays out on a 390 px phone and a 1280 px desktop (screenshots)', async () => {
    const { page, origin } = world;
    const pages: Array<[string, string]> = [
      ['home', '/'],
      ['files', '/dashboard/files/notes'],
      ['markdown', '/dashboard/files/notes/readme.md'],
      ['versions', '/dashboard/sites/hello'],
      ['compare', '/dashboard/sites/hello/versions/1/compare'],
    ];
    for (const width of [390, 1280] as const) {
      for (const [name, path] of pages) {
        await page.goto(`${origin}${path}`);
        await screenshotAt(page, name, width);
        // Nothing is wider than the screen: no sideways scrolling of the whole page.
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        expect(overflow, `${name} at ${width}px`).toBeLessThanOrEqual(0);
      }
    }
    await page.setViewportSize({ width: 1280, height: 900 });
  });
});
