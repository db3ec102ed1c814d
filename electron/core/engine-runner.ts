// The desktop app's SyncRunner: the real sync engine for one account and folder, holding the folder's lock while it
// runs (one engine per folder, app or CLI), with its state file in the app's data folder.

import { type DataPaths, stateFileFor } from '../../sync-engine/config.js';
import { createSyncEngine } from '../../sync-engine/engine.js';
import { acquireFolderLock, type FolderLock } from '../../sync-engine/folder-lock.js';
import type { EngineLog } from '../../sync-engine/log.js';
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
  /** Seconds between health probes while offline (the engine's default when unset). */
  probeSeconds?: number;
}

/** `createRunner` for createEngineBackend: each call is a fresh engine on the context's account and folder. */
export function engineRunnerFactory(options: EngineRunnerOptions): (context: RunnerContext) => SyncRunner {
  return (context) => {
    let lock: FolderLock | null = null;
    const release = (): void => {
      lock?.release();
      lock = null;
    };
    const engine = createSyncEngine({
      api: context.api,
      folder: context.folder,
      accountId: context.accountId,
      status: context.status,
      stateFile: stateFileFor(options.dataPaths, context.accountId, context.folder),
      log: options.log,
      deviceName: options.deviceName,
      pollSeconds: options.pollSeconds,
      ...(options.probeSeconds === undefined ? {} : { probeSeconds: options.probeSeconds }),
      onSignedOut: (error) => {
        // The engine has stopped itself: the folder is free again.
        release();
        context.onSignedOut(error);
      },
    });
    let stopping = false;
    let starting: Promise<void> | null = null;
    const start = async (): Promise<void> => {
      // Throws FolderLockedError naming the holder; the backend shows it and starts nothing.
      lock = await acquireFolderLock(options.locksDir, context.folder, APP_LOCK_DESCRIPTION);
      if (stopping) {
        release();
        return;
      }
      try {
        await engine.start();
      } catch (error) {
        await engine.stop().catch(() => {});
        release();
        throw error;
      }
    };
    return {
      start() {
        starting ??= start();
        return starting;
      },
      async stop() {
        // Sync: Off clicked while sync was still starting: let the start finish, then stop what it started, so no
        // engine is left running without its lock.
        stopping = true;
        await starting?.catch(() => {});
        try {
          await engine.stop();
        } finally {
          release();
        }
      },
      setOsOnline: (online) => engine.setOsOnline(online),
      suspend: () => engine.suspend(),
      resume: () => engine.resume(),
    };
  };
}
