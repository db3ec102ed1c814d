// Makes the OS hand `<scheme>://` links to this app: the packaged app, a dev run (electron + script path), and an
// AppImage (which has no installer to write its desktop entry).

import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { app } from 'electron';
import type { AppLog } from '../core/controller.js';
import { DESKTOP_FILE_NAME, desktopEntry } from '../core/desktop-entry.js';

export function registerProtocolClient(scheme: string, log: AppLog): void {
  // In development the OS must start Electron with our script, or the link would open a bare Electron.
  const ok =
    process.defaultApp && process.argv[1] !== undefined
      ? app.setAsDefaultProtocolClient(scheme, process.execPath, [resolve(process.argv[1])])
      : app.setAsDefaultProtocolClient(scheme);
  log(ok ? 'info' : 'warn', `${scheme}:// links ${ok ? 'registered' : 'could not be registered'} with the OS`);
  if (process.platform === 'linux' && process.env.APPIMAGE) void registerAppImage(process.env.APPIMAGE, scheme, log);
}

async function registerAppImage(appImagePath: string, scheme: string, log: AppLog): Promise<void> {
  const entry = desktopEntry({ appImagePath, scheme });
  if (entry === null) {
    log('warn', 'the AppImage path has characters a desktop entry cannot hold; sign in with the pasted code');
    return;
  }
  const dataHome = process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  const dir = join(dataHome, 'applications');
  const file = join(dir, DESKTOP_FILE_NAME);
  try {
    const existing = await readFile(file, 'utf8').catch(() => null);
    if (existing === entry) return;
    await mkdir(dir, { recursive: true });
    await writeFile(file, entry, { mode: 0o644 });
    execFile('xdg-mime', ['default', DESKTOP_FILE_NAME, `x-scheme-handler/${scheme}`], (error) => {
      log(error ? 'warn' : 'info', `AppImage desktop entry ${error ? 'written, but xdg-mime failed' : 'registered'}`);
    });
  } catch (error) {
    log('warn', `the AppImage desktop entry could not be written: ${(error as Error).message}`);
  }
}
