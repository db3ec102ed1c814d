// The one small window: hardened web preferences, no navigation, no new windows, hidden (not closed) on close.

import { BrowserWindow, session } from 'electron';
import { APP_PAGE_URL } from '../core/app-protocol.js';

let window: BrowserWindow | null = null;
let quitting = false;

export function markQuitting(): void {
  quitting = true;
}

export function appWindow(): BrowserWindow | null {
  return window;
}

/** Denies every permission (camera, notifications, ...) the page could ask for: it needs none. */
export function lockDownSession(): void {
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.defaultSession.setPermissionCheckHandler(() => false);
}

export function showWindow(preloadPath: string): BrowserWindow {
  if (window !== null && !window.isDestroyed()) {
    if (window.isMinimized()) window.restore();
    window.show();
    window.focus();
    return window;
  }
  const created = new BrowserWindow({
    width: 360,
    height: 320,
    resizable: false,
    maximizable: false,
    fullscreenable: false,
    show: false,
    title: 'Hyperclay Sync',
    autoHideMenuBar: true,
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
      devTools: process.env.NODE_ENV === 'development',
    },
  });
  const contents = created.webContents;
  contents.on('will-navigate', (event) => event.preventDefault());
  contents.on('will-redirect', (event) => event.preventDefault());
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  created.on('close', (event) => {
    // A tray app keeps running when its window closes; Quit is in the tray.
    if (!quitting) {
      event.preventDefault();
      created.hide();
    }
  });
  created.on('closed', () => {
    window = null;
  });
  created.once('ready-to-show', () => created.show());
  void created.loadURL(APP_PAGE_URL);
  window = created;
  return created;
}
