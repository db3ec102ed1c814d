// The window harness for the renderer tests: renderer/ built and served over 127.0.0.1, real Chromium, and the
// preload API bridged (page.exposeFunction) to a real AppController through the real typed IPC wrappers; plus the
// whole app over the real engine and reference server, and the browser sign-in in a second page.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { buildApp, ROOT } from '../../build/build-app.js';
import { WINDOW_CSP } from '../../electron/core/app-protocol.js';
import type { AppBackend } from '../../electron/core/backend.js';
import { AppController } from '../../electron/core/controller.js';
import { createEngineBackend, type EngineBackendOptions } from '../../electron/core/engine-backend.js';
import { engineRunnerFactory } from '../../electron/core/engine-runner.js';
import { VIEW_CHANNEL } from '../../electron/core/ipc-contract.js';
import {
  controllerHandlers,
  type InvokeEventLike,
  type IpcMainLike,
  registerIpcHandlers,
} from '../../electron/core/ipc-main.js';
import { dataPathsFor } from '../../sync-engine/config.js';
import { openSettings, type Settings } from '../../sync-engine/settings.js';
import { launchChromium, logInOnPlatform } from '../helpers/browser.js';
import type { TestAccount, TestPlatform } from '../helpers/engine.js';

export const SCREENSHOTS = join(ROOT, 'test-results', 'screenshots');

declare global {
  interface Window {
    __hcPush?: (channel: string, payload: unknown) => void;
    __hcInvoke?: (channel: string, request: unknown) => Promise<unknown>;
    __injected?: boolean;
  }
}

export interface OpenWindow {
  page: Page;
  controller: AppController;
  /** URLs the app asked the OS browser to open. */
  opened: string[];
  logs: string[];
  close(): Promise<void>;
}

export interface WindowHarness {
  browser: Browser;
  openWindow(backend: AppBackend, origin: string): Promise<OpenWindow>;
  close(): Promise<void>;
}

type Listener = (event: InvokeEventLike, ...args: unknown[]) => Promise<unknown>;

export async function startWindowHarness(): Promise<WindowHarness> {
  const temp = mkdtempSync(join(tmpdir(), 'hc-renderer-'));
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
  const bridgeScript = bundled.outputFiles[0]!.text;
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };
  const server: Server = createServer(async (request, response) => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    const name = path === '/' ? 'index.html' : path.slice(1);
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
  const pageUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/index.html`;
  const browser = await launchChromium();
  mkdirSync(SCREENSHOTS, { recursive: true });

  async function openWindow(backend: AppBackend, origin: string): Promise<OpenWindow> {
    const opened: string[] = [];
    const logs: string[] = [];
    const controller = new AppController({
      backend,
      origin,
      scheme: 'hyperclay',
      openExternal: async (url) => {
        opened.push(url);
      },
      log: (level, message) => logs.push(`${level} ${message}`),
    });
    const handlers = new Map<string, Listener>();
    const ipcMain: IpcMainLike = {
      handle: (channel, listener) => handlers.set(channel, listener),
      removeHandler: (channel) => handlers.delete(channel),
    };
    registerIpcHandlers(ipcMain, controllerHandlers(controller), { pageUrl, webContentsId: () => 1 }, (m) =>
      logs.push(m),
    );
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
    return { page, controller, opened, logs, close: () => context.close() };
  }

  return {
    browser,
    openWindow,
    async close() {
      await browser.close();
      await new Promise((resolve) => server.close(resolve));
      rmSync(temp, { recursive: true, force: true });
    },
  };
}

export async function visibleButtons(page: Page): Promise<string[]> {
  return page.locator('button:visible').allInnerTexts();
}

export function screenshot(page: Page, name: string): Promise<Buffer> {
  return page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
}

/** The text of the window's red line, or null when there is none. */
export async function redLine(page: Page): Promise<string | null> {
  const alert = page.getByRole('alert');
  return (await alert.isVisible()) ? alert.textContent() : null;
}

export interface SyncingApp extends OpenWindow {
  backend: ReturnType<typeof createEngineBackend>;
  settings: Settings;
  /** The engine's and backend's log lines. */
  lines: string[];
  /** The app's home folder: the sync folder defaults to `<home>/Hyperclay`. */
  home: string;
  locksDir: string;
}

/** The app's backend for the test device ("Ada laptop", app version 0.1.0, the hyperclay:// scheme). */
export function appBackend(
  origin: string,
  options: Pick<EngineBackendOptions, 'settings' | 'log' | 'home' | 'createRunner'>,
): ReturnType<typeof createEngineBackend> {
  return createEngineBackend({
    origin,
    scheme: 'hyperclay',
    deviceName: 'Ada laptop',
    clientVersion: '0.1.0',
    ...options,
  });
}

/**
 * The desktop app as electron/main/backend.ts builds it (engine-backed backend, the real engine with its folder lock
 * and state file) with its window open; `home` holds both the data folder and the default sync folder.
 */
export async function openSyncingApp(
  harness: WindowHarness,
  platform: TestPlatform,
  options: { home: string; pollSeconds: number },
): Promise<SyncingApp> {
  const dataDir = join(options.home, 'data');
  const settings = openSettings(dataDir);
  const lines: string[] = [];
  const log = (level: string, line: string) => lines.push(`${level} ${line}`);
  const paths = dataPathsFor(dataDir);
  const backend = appBackend(platform.url, {
    settings,
    log,
    home: options.home,
    createRunner: engineRunnerFactory({
      dataPaths: paths,
      locksDir: paths.locksDir,
      log,
      deviceName: 'Ada laptop',
      pollSeconds: options.pollSeconds,
      probeSeconds: 0.2,
    }),
  });
  await backend.ready;
  const window = await harness.openWindow(backend, platform.url);
  return { ...window, backend, settings, lines, home: options.home, locksDir: paths.locksDir };
}

/** The system browser: the authorize page the app opened, the platform's login, then Allow; returns the deep link. */
export async function signInInBrowser(harness: WindowHarness, url: string, account: TestAccount): Promise<string> {
  const context = await harness.browser.newContext();
  try {
    const page = await context.newPage();
    await logInOnPlatform(page, url, account);
    await page.getByRole('button', { name: 'Allow' }).click();
    const link = await page.locator('#callback').getAttribute('href');
    if (link === null) throw new Error('the authorize page showed no link back to the app');
    return link;
  } finally {
    await context.close();
  }
}

/** Click Sync, sign in as `account` in a second page, hand the deep link to the app, wait for Sync: On. */
export async function signInFromWindow(
  harness: WindowHarness,
  app: OpenWindow,
  account: TestAccount,
  shots?: { signedOut: string; waiting: string },
): Promise<void> {
  if (shots) await screenshot(app.page, shots.signedOut);
  await app.page.getByRole('button', { name: 'Sync', exact: true }).click();
  await app.page.getByText('Finish signing in in your browser').waitFor();
  if (shots) await screenshot(app.page, shots.waiting);
  const link = await signInInBrowser(harness, app.opened.at(-1)!, account);
  const result = await app.controller.handleDeepLink(link);
  if (!result.ok) throw new Error(`the app refused the sign-in link: ${result.message}`);
  await app.page.getByRole('button', { name: 'Sync: On' }).waitFor();
}

/** What the platform holds for a site, or null (asked with the test's own token for the account). */
export async function sitePlatformHolds(
  platform: TestPlatform,
  account: TestAccount,
  name: string,
): Promise<string | null> {
  const response = await platform.api(account, `/sync/sites/${name}`);
  if (response.status === 404) return null;
  if (response.status !== 200) throw new Error(`GET site ${name}: ${response.status}`);
  return response.text();
}
