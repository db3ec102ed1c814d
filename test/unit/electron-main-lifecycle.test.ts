// electron/main as built (the esbuild bundle), run in Node against the thinnest fake `electron` module: the
// lifecycle order, single-instance hand-off, window hardening, tray, IPC sender checks, the app:// origin, deep
// links and a clean quit. Only the Electron binary is faked; everything behind it is the real app.

import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../build/build-app.js';
import { openSettings } from '../../sync-engine/settings.js';

const temp = mkdtempSync(join(tmpdir(), 'hc-main-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

const FAKE_ELECTRON = `
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
const rec = (globalThis.__rec = { calls: [], windows: [], trays: [], handlers: new Map(), protocols: new Map() });
const call = (...entry) => rec.calls.push(entry);
class App extends EventEmitter {
  constructor() { super(); this.ready = new Promise((resolve) => { this.markReady = resolve; }); }
  on(name, listener) { call('app.on', name); return super.on(name, listener); }
  getPath(name) { return join(process.env.FAKE_HOME, name); }
  getVersion() { return '0.1.0'; }
  requestSingleInstanceLock() { call('requestSingleInstanceLock'); return process.env.FAKE_LOCK !== 'taken'; }
  whenReady() { return this.ready; }
  quit() {
    call('app.quit');
    const event = { prevented: false, preventDefault() { this.prevented = true; } };
    this.emit('before-quit', event);
    if (!event.prevented) call('quit-went-through');
  }
  exit(code) { call('app.exit', code); }
  setAsDefaultProtocolClient(...args) { call('setAsDefaultProtocolClient', ...args); return true; }
}
export const app = new App();
export const ipcMain = {
  handle: (c, f) => rec.handlers.set(c, f),
  removeHandler: (c) => rec.handlers.delete(c),
  on: (c) => call('ipcMain.on', c),
};
export const protocol = {
  registerSchemesAsPrivileged: (schemes) => call('registerSchemesAsPrivileged', schemes),
  handle: (scheme, handler) => { call('protocol.handle', scheme); rec.protocols.set(scheme, handler); },
};
let ids = 1;
class WebContents extends EventEmitter {
  constructor() { super(); this.id = ids++; this.sent = []; }
  send(channel, payload) { this.sent.push([channel, payload]); }
  setWindowOpenHandler(handler) { this.openHandler = handler; }
}
export class BrowserWindow extends EventEmitter {
  constructor(options) { super(); this.options = options; this.webContents = new WebContents(); rec.windows.push(this); }
  loadURL(url) { this.url = url; return Promise.resolve(); }
  isDestroyed() { return false; }
  isMinimized() { return false; }
  restore() {}
  show() { call('window.show'); }
  hide() { call('window.hide'); }
  focus() {}
}
export class Tray {
  constructor(image) { this.image = image; rec.trays.push(this); }
  setImage(image) { this.image = image; }
  setToolTip(text) { this.tooltip = text; }
  setContextMenu(menu) { this.menu = menu; }
  isDestroyed() { return false; }
  destroy() { call('tray.destroy'); }
}
export const Menu = { buildFromTemplate: (template) => template };
export const nativeImage = { createFromPath: (path) => ({ path }) };
export const safeStorage = {
  isEncryptionAvailable: () => true,
  getSelectedStorageBackend: () => 'basic_text',
  encryptString: (s) => Buffer.from(s),
  decryptString: (b) => b.toString(),
};
export const session = { defaultSession: {
  setPermissionRequestHandler: (h) => { rec.permissionRequest = h; },
  setPermissionCheckHandler: (h) => { rec.permissionCheck = h; },
} };
export const shell = {
  openExternal: async (url) => call('shell.openExternal', url),
  openPath: async (path) => { call('shell.openPath', path); return ''; },
};
export const dialog = {
  showErrorBox: (title, message) => call('dialog.showErrorBox', message),
  showOpenDialog: async () => ({ canceled: true, filePaths: [] }),
};
export const net = { isOnline: () => true };
export const powerMonitor = new EventEmitter();
// The real module is CommonJS: electron-store takes it as a default import.
export default { app, ipcMain, protocol, BrowserWindow, Tray, Menu, nativeImage, safeStorage, session, shell, dialog, net, powerMonitor };
`;

const DRIVER = `
import { setTimeout as sleep } from 'node:timers/promises';
const fake = await import('./node_modules/electron/index.js');
const rec = globalThis.__rec;
const LINK = 'hyperclay://auth/callback?code=abcdefgh12345&state=abcdefgh12345678';
process.argv = [process.execPath, '/opt/app', '--some-switch', LINK];
process.defaultApp = true;
await import('./electron/main/index.js');
const out = { beforeReady: rec.calls.map((c) => c.join(' ')) };
const until = async (test, tries = 400) => { for (let i = 0; i < tries && !test(); i++) await sleep(10); return test(); };
if (process.env.FAKE_LOCK === 'taken') {
  await sleep(50);
  out.calls = rec.calls.map((c) => c.join(' '));
  out.windows = rec.windows.length;
  out.trays = rec.trays.length;
  console.log(JSON.stringify(out));
  process.exit(0);
}
fake.app.markReady();
if (process.env.FAKE_MODE === 'signed-in') {
  // Signed in from the start: no window opens; the tray shows who, where and when.
  // The engine starts before the tray (an unreachable platform here): give it room on a busy machine.
  const started = Date.now();
  await until(() => rec.trays.length > 0 && rec.trays.at(-1).menu && rec.trays.at(-1).tooltip.includes('@'), 6000);
  out.trayAfterMs = Date.now() - started;
  const tray = rec.trays.at(-1);
  out.tooltip = tray.tooltip;
  out.trayMenu = tray.menu.map((item) => item.type === 'separator' ? '---' : item.label + (item.enabled === false ? ' (disabled)' : ''));
  fake.app.quit();
  await until(() => rec.calls.some((c) => c[0] === 'app.exit'));
  console.log(JSON.stringify(out));
  process.exit(0);
}
await until(() => rec.windows.length > 0 && rec.trays.length > 0 && rec.trays[0].menu);
const window = rec.windows[0];
out.afterReady = rec.calls.map((c) => c.join(' '));
out.webPreferences = window.options.webPreferences;
out.url = window.url;
out.trayImage = rec.trays[0].image.path;
out.trayMenu = rec.trays[0].menu.map((item) => item.type === 'separator' ? '---' : item.label);
out.channels = [...rec.handlers.keys()].sort();
const own = { sender: { id: window.webContents.id }, senderFrame: { url: 'app://hyperclay-sync/index.html', parent: null } };
out.view = await rec.handlers.get('app:get-view')(own, null);
out.stranger = await rec.handlers.get('app:get-view')({ ...own, sender: { id: 999 } }, null).then(() => 'allowed', (e) => e.code);
out.evilFrame = await rec.handlers.get('app:log-out')({ ...own, senderFrame: { url: 'https://evil.example/', parent: null } }, null).then(() => 'allowed', (e) => e.code);
const serve = rec.protocols.get('app');
const page = await serve(new Request('app://hyperclay-sync/index.html'));
out.page = { status: page.status, csp: page.headers.get('content-security-policy'), hasSync: (await page.text()).includes('id="sync-button"') };
out.traversal = (await serve(new Request('app://hyperclay-sync/%2e%2e/electron/main/index.js'))).status;
const nav = { prevented: false, preventDefault() { this.prevented = true; } };
window.webContents.emit('will-navigate', nav, 'https://evil.example/');
out.navigationBlocked = nav.prevented;
out.newWindow = window.webContents.openHandler({ url: 'https://evil.example/' });
let granted = null;
rec.permissionRequest(window.webContents, 'notifications', (g) => { granted = g; });
out.permissionGranted = granted;
const close = { prevented: false, preventDefault() { this.prevented = true; } };
window.emit('close', close);
out.closeHides = close.prevented;
const signIn = rec.trays[0].menu.find((item) => item.label === 'Sign In…');
signIn.click();
await until(() => rec.calls.some((c) => c[0] === 'shell.openExternal'));
const shownBefore = rec.calls.filter((c) => c[0] === 'window.show').length;
fake.app.emit('second-instance', {}, ['/opt/app', LINK.replace('abcdefgh12345678', 'zzzzzzzzzzzzzzzz')]);
fake.app.emit('open-url', { preventDefault() {} }, 'hyperclay://evil/x');
await sleep(50);
out.shownBySecondInstance = rec.calls.filter((c) => c[0] === 'window.show').length - shownBefore;
out.opened = rec.calls.filter((c) => c[0] === 'shell.openExternal').map((c) => c[1]);
await until(() => window.webContents.sent.length > 0);
out.pushed = window.webContents.sent.map(([channel, view]) => channel + ' ' + view.screen);
out.trayMenuWaiting = rec.trays[0].menu.map((item) => item.type === 'separator' ? '---' : item.label);
fake.app.quit();
await until(() => rec.calls.some((c) => c[0] === 'app.exit'));
out.quit = rec.calls.filter((c) => ['app.quit', 'quit-went-through', 'tray.destroy', 'app.exit'].includes(c[0])).map((c) => c.join(' '));
console.log(JSON.stringify(out));
process.exit(0);
`;

interface Run {
  [key: string]: unknown;
}

function run(lock: 'free' | 'taken', mode: 'signed-out' | 'signed-in' = 'signed-out'): Promise<Run> {
  const home = join(temp, `home-${lock}-${mode}`);
  mkdirSync(home, { recursive: true });
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['driver.mjs'],
      {
        cwd: temp,
        timeout: 30_000,
        env: {
          ...process.env,
          FAKE_HOME: home,
          FAKE_LOCK: lock,
          FAKE_MODE: mode,
          HYPERCLAY_URL: 'http://127.0.0.1:9',
          HYPERCLAY_PROTOCOL: '',
        },
      },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${error.message}\n${stderr}`));
        else resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Run);
      },
    );
  });
}

beforeAll(async () => {
  await buildApp({ outDir: temp });
  mkdirSync(join(temp, 'node_modules', 'electron'), { recursive: true });
  writeFileSync(join(temp, 'node_modules', 'electron', 'package.json'), '{"type":"module","main":"index.js"}');
  writeFileSync(join(temp, 'node_modules', 'electron', 'index.js'), FAKE_ELECTRON);
  writeFileSync(join(temp, 'package.json'), '{"type":"module"}');
  writeFileSync(join(temp, 'driver.mjs'), DRIVER);
}, 60_000);

describe('electron/main lifecycle (fake electron module)', () => {
  it('a second instance hands over and quits without opening a window or a tray', async () => {
    const out = await run('taken');
    expect(out.calls).toContain('requestSingleInstanceLock');
    expect(out.calls).toContain('app.quit');
    expect(out.windows).toBe(0);
    expect(out.trays).toBe(0);
  });

  it('the first instance: order, window, tray, IPC, app origin, deep links and a clean quit', async () => {
    const out = await run('free');
    const before = out.beforeReady as string[];
    // open-url and the privileged scheme are registered before ready.
    expect(before).toContain('app.on open-url');
    expect(before.indexOf('app.on open-url')).toBeLessThan(before.indexOf('requestSingleInstanceLock'));
    expect(before.some((c) => c.startsWith('registerSchemesAsPrivileged'))).toBe(true);
    expect(before).toContain('app.on second-instance');
    expect(before.some((c) => c.startsWith('protocol.handle'))).toBe(false);

    const after = out.afterReady as string[];
    expect(after).toContain('protocol.handle app');
    // Development registration: the OS must start Electron with the app's path.
    expect(after).toContain(`setAsDefaultProtocolClient hyperclay ${process.execPath} /opt/app`);

    expect(out.webPreferences).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      webviewTag: false,
    });
    const preload = (out.webPreferences as { preload: string }).preload;
    expect(preload.endsWith('/electron/preload/index.cjs')).toBe(true);
    expect(existsSync(preload)).toBe(true);
    expect(out.url).toBe('app://hyperclay-sync/index.html');

    expect(existsSync(out.trayImage as string)).toBe(true);
    expect((out.trayImage as string).endsWith('tray-off.png')).toBe(true);
    expect(out.trayMenu).toEqual([
      'Sync: Off',
      '---',
      'Open Sync Folder',
      'Choose Sync Folder…',
      'Open Log File',
      '---',
      'Sign In…',
      'Quit',
    ]);

    expect(out.channels).toEqual([
      'app:cancel-sign-in',
      'app:get-view',
      'app:log-out',
      'app:set-sync',
      'app:sign-in',
      'app:submit-code',
    ]);
    expect(out.view).toEqual({ screen: 'signed-out', notice: null });
    expect(out.stranger).toBe('untrusted_sender');
    expect(out.evilFrame).toBe('untrusted_sender');

    expect(out.page).toEqual({ status: 200, csp: expect.stringContaining("default-src 'none'"), hasSync: true });
    expect(out.traversal).toBe(404);
    expect(out.navigationBlocked).toBe(true);
    expect(out.newWindow).toEqual({ action: 'deny' });
    expect(out.permissionGranted).toBe(false);
    expect(out.closeHides).toBe(true);

    // Sign In… from the tray opens the platform's authorize page, and the window and tray follow.
    expect(out.opened).toHaveLength(1);
    expect((out.opened as string[])[0]).toMatch(/^http:\/\/127\.0\.0\.1:9\/sync\/authorize\?/);
    expect(out.pushed).toContain('app:view waiting');
    // A second launch brings the window forward.
    expect(out.shownBySecondInstance).toBe(1);

    // Quit waits for the engine, then exits 0 and removes the tray.
    expect(out.quit).toEqual(['app.quit', 'tray.destroy', 'app.exit 0']);

    const logText = readFileSync(join(temp, 'home-free-signed-out', 'logs', 'hyperclay-sync.log'), 'utf8');
    // The cold-start link (argv) came before any sign-in: ignored and logged, never its code.
    expect(logText).toMatch(/deep link ignored: no sign-in is pending/);
    // The second instance's link had the wrong state; the open-url one was not a callback.
    expect(logText).toMatch(/deep link ignored: the callback state does not match/);
    expect(logText).toMatch(/deep link ignored: the callback is not/);
    expect(logText).toMatch(/basic_text/);
    expect(logText).not.toContain('abcdefgh12345&');

    // The settings went through electron-store into the engine's own file, in the form and mode the CLI reads.
    const settingsFile = join(temp, 'home-free-signed-out', 'userData', 'settings.json');
    expect(statSync(settingsFile).mode & 0o777).toBe(0o600);
    expect(existsSync(join(temp, 'home-free-signed-out', 'userData', 'config.json'))).toBe(false);
    expect(openSettings(join(temp, 'home-free-signed-out', 'userData')).getSyncOn()).toBe(true);
  });

  it('signed in (a token the CLI module wrote, read back through electron-store): the tray names the account, folder and last sync', async () => {
    const userData = join(temp, 'home-free-signed-in', 'userData');
    const cli = openSettings(userData);
    const now = Date.now();
    cli.tokens.save({
      token: 'a.b.c',
      origin: 'http://127.0.0.1:9',
      expiresAt: new Date(now + 86_400_000).toISOString(),
      issuedAt: new Date(now).toISOString(),
      user: { id: 'u1', email: 'ada@example.com', plan: 'paid' },
    });
    const folder = join(temp, 'home-free-signed-in', 'Sites');
    cli.setFolder(folder);
    const out = await run('free', 'signed-in');
    // The platform here is unreachable: offline. The temp folder's long path makes Windows' 127-character cut apply.
    const tooltip = out.tooltip as string;
    expect(tooltip.split('\n').slice(0, 2)).toEqual([
      'Hyperclay Sync: offline, will sync when the network is back',
      `ada@example.com · ${folder}`,
    ]);
    expect(tooltip.length).toBeLessThanOrEqual(127);
    const menu = out.trayMenu as string[];
    expect(menu.slice(0, 4)).toEqual([
      'ada@example.com (disabled)',
      `${folder} (disabled)`,
      'Last sync: never (disabled)',
      '---',
    ]);
    expect(menu).toContain('Log Out');
    // What the app wrote through electron-store is what the CLI's settings module reads.
    expect(openSettings(userData).tokens.account()?.user.email).toBe('ada@example.com');
  });
});
