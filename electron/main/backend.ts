// Where the desktop app gets its engine. The sync engine (sync-engine/) is being written alongside this app;
// until its desktop entry point exists this returns a backend that says so, and the integrator replaces the body.

import type { Settings } from '../../sync-engine/settings.js';
import { StatusModel } from '../../sync-engine/status.js';
import { type AppBackend, AppError } from '../core/backend.js';
import type { AppConfig } from '../core/config.js';
import type { AppLog } from '../core/controller.js';

export interface BackendContext {
  config: AppConfig;
  /** app.getPath('userData'): sync state and locks live here, never inside the sync folder. */
  dataDir: string;
  logsDir: string;
  /** The engine's settings: token (keychain-encrypted where possible), folder, sync on/off. */
  settings: Settings;
  log: AppLog;
  clientVersion: string;
  deviceName: string;
}

const MISSING = 'This build has no sync engine yet. Use `npm run sync -- start` to sync from a terminal.';

export async function createAppBackend(context: BackendContext): Promise<AppBackend> {
  context.log('warn', 'no sync engine in this build: the window can only show the signed-out state');
  const status = new StatusModel({ phase: 'signed-out', folder: context.settings.getFolder() });
  const refuse = async (): Promise<never> => {
    throw new AppError('engine_missing', MISSING);
  };
  return {
    status,
    beginSignIn: refuse,
    completeSignIn: refuse,
    cancelSignIn: async () => {},
    setSyncOn: refuse,
    logOut: async () => {},
    chooseFolder: async (path) => context.settings.setFolder(path),
    setOsOnline: () => {},
    suspend: () => {},
    resume: () => {},
    shutdown: async () => {},
  };
}
