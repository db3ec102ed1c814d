// The desktop app's runner: the engine's FolderSync (lock, engine, sign-out) for the signed-in account and folder,
// with its state file in the app's data folder and the folder locks shared with the CLI.

import { type DataPaths, stateFileFor } from '../../sync-engine/config.js';
import type { EngineLog } from '../../sync-engine/log.js';
import { FolderSync } from '../../sync-engine/runner.js';
import type { RunnerContext, SyncRunner } from './engine-backend.js';

/** What the lock file says holds the folder (the CLI's "a second one says which process holds it"). */
export const APP_LOCK_DESCRIPTION = 'the Hyperclay Sync app';

export interface EngineRunnerOptions {
  /** The app's data folder layout: the state file of each account and folder goes in `stateDir`. */
  dataPaths: DataPaths;
  /** Where folder locks live; shared with the CLI so that the two never sync one folder at once. */
  locksDir: string;
  log: EngineLog;
  deviceName: string;
  pollSeconds: number;
  /** Live polls (default on). */
  live?: boolean;
  /** Seconds between health probes while offline (the engine's default when unset). */
  probeSeconds?: number;
}

/** `createRunner` for createEngineBackend: each call is a fresh engine on the context's account and folder. */
export function engineRunnerFactory(options: EngineRunnerOptions): (context: RunnerContext) => SyncRunner {
  return (context) =>
    new FolderSync({
      api: context.api,
      folder: context.folder,
      account: context.account,
      status: context.status,
      stateFile: stateFileFor(options.dataPaths, context.account.id, context.folder),
      locksDir: options.locksDir,
      holder: APP_LOCK_DESCRIPTION,
      log: options.log,
      deviceName: options.deviceName,
      pollSeconds: options.pollSeconds,
      ...(options.live === undefined ? {} : { live: options.live }),
      ...(options.probeSeconds === undefined ? {} : { probeSeconds: options.probeSeconds }),
      forgetToken: context.forgetToken,
      onSignedOut: context.onSignedOut,
    });
}
