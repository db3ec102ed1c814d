// Where the desktop app gets its engine: the engine-backed AppBackend (sign-in, settings, log out) with the engine's
// session loop as its SyncRunner. The loop (watcher + poller) is being written in sync-engine/; until it exports a
// runner, `createRunner` stays null and the app shows "needs attention" instead of pretending to sync.

import type { Settings } from '../../sync-engine/settings.js';
import type { AppBackend } from '../core/backend.js';
import type { AppConfig } from '../core/config.js';
import type { AppLog } from '../core/controller.js';
import { createEngineBackend } from '../core/engine-backend.js';

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

export async function createAppBackend(context: BackendContext): Promise<AppBackend> {
  const backend = createEngineBackend({
    origin: context.config.origin,
    scheme: context.config.scheme,
    deviceName: context.deviceName,
    clientVersion: context.clientVersion,
    settings: context.settings,
    log: (level, line) => {
      if (level !== 'debug') context.log(level, line);
    },
    createRunner: null,
  });
  // The window opens at start only when signed out: know that before the controller is built.
  await backend.ready;
  return backend;
}
