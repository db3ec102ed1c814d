// The window in real Chromium: renderer/ served over 127.0.0.1, its preload API bridged (page.exposeFunction) to the
// real app controller through the real typed IPC wrappers, on a fake engine. SPEC.md "The desktop app".

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { build } from 'esbuild';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, ROOT } from '../../build/build-app.js';
import { WINDOW_CSP } from '../../electron/core/app-protocol.js';
import { AppController } from '../../electron/core/controller.js';
import { VIEW_CHANNEL } from '../../electron/core/ipc-contract.js';
import {
  controllerHandlers,
  type InvokeEventLike,
  type IpcMainLike,
  registerIpcHandlers,
} from '../../electron/core/ipc-main.js';
import { NOTICE_TEXT } from '../../sync-engine/status.js';
import { callbackLink, FakeBackend, GOOD_CODE, ORIGIN, SCHEME } from '../unit/desktop-fake-backend.js';

const SCREENSHOTS = join(ROOT, 'test-results', 'screenshots');
const GREEN = 'rgb(31, 157, 85)';
const GREY = 'rgb(138, 143, 152)';
const RED = 'rgb(209, 44, 44)';

let browser: Browser;
let server: Server;
let pageUrl: string;
let bridgeScript: string;
const temp = mkdtempSync(join(tmpdir(), 'hc-renderer-'));

beforeAll(async () => {
  const built = await buildApp({ outDir: temp });
  // The browser half of the bridge: the same createDesktopApi the preload uses, over exposed functions.
  const bundled = await build({
    stdin: {
      contents: `
        import { createDesktopApi } from './electron/core/api.ts';
        const listeners = new Set();
        window.__hcPush = (channel, payload) => { if (channel === ${JSON.stringify(VIEW_CHANNEL)}) for (const l of listeners) l(payload); };
        window.hyperclay = Object.freeze(createDesktopApi({
          invoke: (channel, request) => window.__hcInvoke(channel, request),
          subscribe(listener) { listeners.add(listener); return () => listeners.delete(listener); },
        }));`,
      resolveDir: ROOT,
      loader: 'ts',
    },
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
  });
  bridgeScript = bundled.outputFiles[0]!.text;
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };
  server = createServer(async (request, response) => {
    const name =
      (request.url ?? '/').split('?')[0] === '/' ? 'index.html' : (request.url ?? '').slice(1).split('?')[0]!;
    if (!/^[a-z]+\.(html|js|css)$/.test(name)) {
      response.writeHead(404).end();
      return;
    }
    try {
      const body = await readFile(join(built.rendererDir, name));
      response
        .writeHead(200, { 'Content-Type': types[extname(name)]!, 'Content-Security-Policy': WINDOW_CSP })
        .end(body);
    } catch {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  pageUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/index.html`;
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
      '--disable-dev-shm-usage',
    ],
  });
  mkdirSync(SCREENSHOTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve));
  rmSync(temp, { recursive: true, force: true });
});

type Listener = (event: InvokeEventLike, ...args: unknown[]) => Promise<unknown>;

/** Opens the window: a fresh controller on a fake engine, wired exactly as electron/main wires the real one. */
async function openWindow(backend = new FakeBackend()) {
  const opened: string[] = [];
  const controller = new AppController({
    backend,
    origin: ORIGIN,
    scheme: SCHEME,
    openExternal: async (url) => {
      opened.push(url);
    },
    log: () => {},
  });
  const handlers = new Map<string, Listener>();
  const ipcMain: IpcMainLike = {
    handle: (channel, listener) => handlers.set(channel, listener),
    removeHandler: (channel) => handlers.delete(channel),
  };
  registerIpcHandlers(ipcMain, controllerHandlers(controller), { pageUrl, webContentsId: () => 1 }, () => {});
  const context = await browser.newContext({ viewport: { width: 360, height: 320 } });
  const page = await context.newPage();
  // The window's own main frame is the sender of every call, as Electron would report it.
  await page.exposeFunction('__hcInvoke', (channel: string, request: unknown) => {
    const listener = handlers.get(channel);
    if (listener === undefined) throw new Error(`No handler registered for '${channel}'`);
    return listener({ sender: { id: 1 }, senderFrame: { url: page.url(), parent: null } }, request);
  });
  await page.addInitScript({ content: bridgeScript });
  controller.on('change', () => {
    void page
      .evaluate(([channel, view]) => window.__hcPush?.(channel, view), [VIEW_CHANNEL, controller.view] as const)
      .catch(() => {});
  });
  await page.goto(pageUrl);
  await page.locator('main[aria-busy="false"]').waitFor();
  return { page, controller, backend, opened, close: () => context.close() };
}

declare global {
  interface Window {
    __hcPush?: (channel: string, payload: unknown) => void;
    __hcInvoke?: (channel: string, request: unknown) => Promise<unknown>;
    __injected?: boolean;
  }
}

async function visibleButtons(page: Page): Promise<string[]> {
  return page.locator('button:visible').allInnerTexts();
}

const shot = (page: Page, name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });

describe('the window', () => {
  it('signed out: a single Sync button; click -> "Finish signing in in your browser" with the paste-code field', async () => {
    const { page, opened, backend, close } = await openWindow();
    expect(await visibleButtons(page)).toEqual(['Sync']);
    await expect.poll(() => page.locator('#notice').isVisible()).toBe(false);
    await shot(page, '1-signed-out');

    await page.getByRole('button', { name: 'Sync', exact: true }).click();
    await page.getByText('Finish signing in in your browser').waitFor();
    const field = page.getByLabel('Paste code');
    expect(await field.isVisible()).toBe(true);
    expect(await page.getByRole('button', { name: 'Sign in' }).isVisible()).toBe(true);
    expect(opened).toHaveLength(1);
    expect(opened[0]).toContain('/sync/authorize?');
    expect(backend.calls).toEqual(['beginSignIn']);
    await shot(page, '2-waiting-for-browser');
    await close();
  });

  it('a wrong code shows the red line and keeps the field; the right code -> Sync: On in green', async () => {
    const { page, close } = await openWindow();
    await page.getByRole('button', { name: 'Sync', exact: true }).click();
    await page.getByLabel('Paste code').fill('wrong-code-12345');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const notice = page.locator('#notice');
    await expect.poll(() => notice.textContent()).toBe('That code is wrong or expired. Click Sync to get a new one.');
    expect(await notice.evaluate((el) => getComputedStyle(el).color)).toBe(RED);
    expect(await page.getByLabel('Paste code').isVisible()).toBe(true);

    await page.getByLabel('Paste code').fill(GOOD_CODE);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const toggle = page.getByRole('button', { name: 'Sync: On' });
    await toggle.waitFor();
    expect(await toggle.getAttribute('aria-pressed')).toBe('true');
    expect(await toggle.evaluate((el) => getComputedStyle(el).backgroundColor)).toBe(GREEN);
    expect(await visibleButtons(page)).toEqual(['Sync: On', 'Log out']);
    expect(await notice.isVisible()).toBe(false);
    await shot(page, '3-sync-on');
    await close();
  });

  it('the deep link arriving while waiting turns the window to Sync: On', async () => {
    const { page, controller, backend, close } = await openWindow();
    await page.getByRole('button', { name: 'Sync', exact: true }).click();
    await page.getByText('Finish signing in in your browser').waitFor();
    await controller.handleDeepLink(callbackLink(backend.pendingState!));
    await page.getByRole('button', { name: 'Sync: On' }).waitFor();
    await close();
  });

  it('Sync: On -> click -> Sync: Off in grey -> click -> Sync: On', async () => {
    const { page, backend, controller, close } = await openWindow();
    await controller.signIn();
    await controller.submitCode(GOOD_CODE);
    await page.getByRole('button', { name: 'Sync: On' }).click();
    const off = page.getByRole('button', { name: 'Sync: Off' });
    await off.waitFor();
    expect(await off.getAttribute('aria-pressed')).toBe('false');
    expect(await off.evaluate((el) => getComputedStyle(el).backgroundColor)).toBe(GREY);
    expect(backend.syncOn).toBe(false);
    await shot(page, '4-sync-off');
    await off.click();
    await page.getByRole('button', { name: 'Sync: On' }).waitFor();
    expect(backend.calls.slice(-2)).toEqual(['setSyncOn:false', 'setSyncOn:true']);
    await close();
  });

  it('the site limit shows the red quota line, and only then', async () => {
    const { page, backend, controller, close } = await openWindow();
    await controller.signIn();
    await controller.submitCode(GOOD_CODE);
    await page.getByRole('button', { name: 'Sync: On' }).waitFor();
    expect(await page.locator('#notice').isVisible()).toBe(false);
    backend.reachSiteLimit();
    const line = page.getByRole('alert');
    await expect.poll(() => line.textContent()).toBe("You've run out of sites. We can't sync any more sites.");
    expect(await line.evaluate((el) => getComputedStyle(el).color)).toBe(RED);
    expect(await visibleButtons(page)).toEqual(['Sync: On', 'Log out']);
    await shot(page, '5-quota');
    backend.status.update({ notice: null });
    await expect.poll(() => page.locator('#notice').isVisible()).toBe(false);
    await close();
  });

  it('the subscription and outdated-client messages take the same red line', async () => {
    const { page, backend, controller, close } = await openWindow();
    await controller.signIn();
    await controller.submitCode(GOOD_CODE);
    backend.status.update({ notice: { code: 'client_outdated', text: NOTICE_TEXT.client_outdated } });
    await expect.poll(() => page.getByRole('alert').textContent()).toBe(NOTICE_TEXT.client_outdated);
    backend.loseSubscription();
    await page.getByRole('button', { name: 'Sync', exact: true }).waitFor();
    await expect.poll(() => page.getByRole('alert').textContent()).toBe(NOTICE_TEXT.subscription_required);
    await shot(page, '6-subscription-required');
    await close();
  });

  it('Log out returns to the Sync button', async () => {
    const { page, backend, controller, close } = await openWindow();
    await controller.signIn();
    await controller.submitCode(GOOD_CODE);
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('button', { name: 'Sync', exact: true }).waitFor();
    expect(await visibleButtons(page)).toEqual(['Sync']);
    expect(backend.calls).toContain('logOut');
    await close();
  });

  it('works from the keyboard alone, focus following each screen', async () => {
    const { page, backend, close } = await openWindow();
    const focused = () => page.evaluate(() => document.activeElement?.id ?? '');
    await expect.poll(focused).toBe('sync-button');
    await page.keyboard.press('Enter');
    await expect.poll(focused).toBe('code-input');
    await page.keyboard.type(GOOD_CODE);
    await page.keyboard.press('Enter');
    await expect.poll(focused).toBe('sync-toggle');
    await page.keyboard.press('Space');
    await page.getByRole('button', { name: 'Sync: Off' }).waitFor();
    await page.keyboard.press('Tab');
    await expect.poll(focused).toBe('logout-button');
    await page.keyboard.press('Enter');
    await expect.poll(focused).toBe('sync-button');
    expect(backend.calls).toEqual(['beginSignIn', 'completeSignIn', 'setSyncOn:false', 'logOut']);
    await close();
  });

  it('the page runs no inline script (strict CSP)', async () => {
    const { page, close } = await openWindow();
    const csp = await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
    expect(csp).toContain("script-src 'self'");
    await page.evaluate(() => {
      const script = document.createElement('script');
      script.textContent = 'window.__injected = true;';
      document.body.append(script);
      const img = document.createElement('img');
      img.setAttribute('src', 'x');
      img.setAttribute('onerror', 'window.__injected = true');
      document.body.append(img);
    });
    await page.waitForLoadState('load');
    expect(await page.evaluate(() => window.__injected === true)).toBe(false);
    await close();
  });
});
