// The Electron main process: lifecycle only. Every decision lives in electron/core; this wires it to Electron.

import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { config as loadDotenv } from 'dotenv';
import { app, dialog, net, powerMonitor, shell } from 'electron';
import { type AppConfig, isAllowedExternalUrl, resolveAppConfig } from '../core/config.js';
import { AppController, type AppLog } from '../core/controller.js';
import { createLaunchHandler } from '../core/launch.js';
import type { TrayAction } from '../core/tray.js';
import { registerAppScheme, serveAppScheme } from './app-protocol.js';
import { createAppBackend } from './backend.js';
import { wireIpc } from './ipc.js';
import { openAppLog } from './log.js';
import { registerProtocolClient } from './protocol-client.js';
import { openDesktopSettings } from './store.js';
import { destroyTray, renderTray } from './tray.js';
import { lockDownSession, markQuitting, showWindow } from './window.js';

// Release builds replace this with the production URL (build/build-app.ts); development reads HYPERCLAY_URL.
declare const __HYPERCLAY_BAKED_URL__: string | undefined;
const bakedUrl = typeof __HYPERCLAY_BAKED_URL__ === 'string' ? __HYPERCLAY_BAKED_URL__ : null;

const here = (relative: string): string => fileURLToPath(new URL(relative, import.meta.url));
const PRELOAD = here('../preload/index.cjs');
const RENDERER_DIR = here('../../renderer/');
const ICONS_DIR = here('../icons/');

// Development reads `.env` (the environment wins); a release build reads nothing from wherever it was started.
if (bakedUrl === null) loadDotenv({ quiet: true, path: resolve('.env') });

let config: AppConfig;
try {
  config = resolveAppConfig({ env: process.env, bakedUrl });
} catch (error) {
  dialog.showErrorBox('Hyperclay Sync', (error as Error).message);
  app.exit(1);
  throw error;
}

const fileLog = openAppLog(app.getPath('logs'));
const log: AppLog = fileLog.log;
let controller: AppController | null = null;
let quitStarted = false;

const launch = createLaunchHandler({
  scheme: config.scheme,
  onDeepLink: (url) => void controller?.handleDeepLink(url),
  showWindow: () => showWindow(PRELOAD),
});

// Both must happen before `ready`: macOS delivers a cold-start link through open-url that early.
app.on('open-url', (event, url) => {
  event.preventDefault();
  launch.openUrl(url);
});
registerAppScheme();

if (!app.requestSingleInstanceLock()) {
  // The first instance receives our argv through `second-instance`.
  app.quit();
} else {
  app.on('second-instance', (_event, argv) => launch.secondInstance(argv));
  launch.coldStart(process.argv);
  app.on('window-all-closed', () => {
    // A tray app: closing the window is not quitting.
  });
  app.on('activate', () => showWindow(PRELOAD));
  app.on('before-quit', (event) => {
    markQuitting();
    if (quitStarted || controller === null) return;
    quitStarted = true;
    // Hold the quit until the engine has stopped: no half-written file, no half-applied page.
    event.preventDefault();
    void controller
      .shutdown()
      .then(() => {
        log('info', 'quit');
        return fileLog.close();
      })
      .finally(() => {
        destroyTray();
        app.exit(0);
      });
  });
  app.whenReady().then(start, (error: unknown) => {
    log('error', `the app could not start: ${(error as Error).message}`);
    app.exit(1);
  });
}

async function start(): Promise<void> {
  log('info', `start ${app.getVersion()} (${config.origin})`);
  lockDownSession();
  serveAppScheme(RENDERER_DIR);
  registerProtocolClient(config.scheme, log);
  const backend = await createAppBackend({
    config,
    dataDir: app.getPath('userData'),
    logsDir: app.getPath('logs'),
    settings: openDesktopSettings(log),
    log,
    clientVersion: app.getVersion(),
    deviceName: `Hyperclay Sync on ${hostname()}`,
  });
  const created = new AppController({
    backend,
    origin: config.origin,
    scheme: config.scheme,
    openExternal: async (url) => {
      if (!isAllowedExternalUrl(url, config.origin)) throw new Error('refused to open a page outside the platform');
      await shell.openExternal(url);
    },
    log,
  });
  controller = created;
  wireIpc(created, (message) => log('warn', message));
  const redrawTray = (): void => renderTray(created.state, ICONS_DIR, (action) => void onTrayAction(action));
  created.on('change', redrawTray);
  redrawTray();

  powerMonitor.on('suspend', () => created.suspend());
  powerMonitor.on('resume', () => created.resume());
  watchNetwork(created);

  launch.ready();
  if (created.state.phase === 'signed-out') showWindow(PRELOAD);
}

/** Electron has no online/offline event in the main process: poll `net.isOnline()` and report changes. */
function watchNetwork(target: AppController): void {
  let online = net.isOnline();
  target.setOsOnline(online);
  const timer = setInterval(() => {
    const now = net.isOnline();
    if (now !== online) {
      online = now;
      target.setOsOnline(now);
    }
  }, 5000);
  timer.unref();
}

async function onTrayAction(action: TrayAction): Promise<void> {
  const target = controller;
  if (target === null) return;
  switch (action) {
    case 'toggle-sync':
      await target.toggleSync();
      return;
    case 'open-folder': {
      const folder = target.state.folder;
      if (folder !== null) {
        const problem = await shell.openPath(folder);
        if (problem) log('warn', `the sync folder could not be opened: ${problem}`);
      }
      return;
    }
    case 'choose-folder': {
      const picked = await dialog.showOpenDialog({
        title: 'Choose Sync Folder',
        properties: ['openDirectory', 'createDirectory'],
      });
      const path = picked.filePaths[0];
      if (!picked.canceled && path !== undefined) await target.chooseFolder(path);
      return;
    }
    case 'open-log': {
      const problem = await shell.openPath(fileLog.path);
      if (problem) log('warn', `the log file could not be opened: ${problem}`);
      return;
    }
    case 'sign-in':
      showWindow(PRELOAD);
      await target.signIn();
      return;
    case 'log-out':
      await target.logOut();
      return;
    case 'quit':
      app.quit();
      return;
  }
}
