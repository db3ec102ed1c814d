// Where the desktop app gets its engine: the engine-backed AppBackend (sign-in, settings, log out) with the real sync
// engine as its SyncRunner: state per account and folder in userData, the folder lock shared with the CLI.

import { dataPathsFor, defaultDataHome } from '../../sync-engine/config.js';
import type { Settings } from '../../sync-engine/settings.js';
import type { AppBackend } from '../core/backend.js';
import type { AppConfig } from '../core/config.js';
import type { AppLog } from '../core/controller.js';
import { createEngineBackend } from '../core/engine-backend.js';
import { engineRunnerFactory } from '../core/engine-runner.js';

export interface BackendContext {
  config: AppConfig;
  /** app.getPath('userData'): sync state lives here, never inside the sync folder. */
  dataDir: string;
  logsDir: string;
  /** The engine's settings: token (keychain-encrypted where possible), folder, sync on/off. */
  settings: Settings;
  log: AppLog;
  clientVersion: string;
  deviceName: string;
}

export async function createAppBackend(context: BackendContext): Promise<AppBackend> {
  const log = (level: 'debug' | 'info' | 'warn' | 'error', line: string): void => {
    if (level !== 'debug') context.log(level, line);
  };
  // The CLI's data folder (HYPERCLAY_SYNC_HOME or the platform's config folder) holds the folder locks, so that the
  // app and a `hyperclay-sync start` never sync one folder at once even where userData is another folder (Linux).
  const cliHome = process.env.HYPERCLAY_SYNC_HOME?.trim() || defaultDataHome();
  const backend = createEngineBackend({
    origin: context.config.origin,
    scheme: context.config.scheme,
    deviceName: context.deviceName,
    clientVersion: context.clientVersion,
    settings: context.settings,
    log,
    createRunner: engineRunnerFactory({
      dataPaths: dataPathsFor(context.dataDir),
      locksDir: dataPathsFor(cliHome).locksDir,
      log,
      deviceName: context.deviceName,
      pollSeconds: context.config.pollSeconds,
      live: context.config.live,
    }),
  });
  // The window opens at start only when signed out: know that before the controller is built.
  await backend.ready;
  return backend;
}
