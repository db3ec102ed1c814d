// A folder's sync as the CLI (`start`, `sync`) and the desktop app both run it: the folder's lock (one engine per
// folder, app or CLI), the status file a running sync keeps, the engine, and what happens when the platform signs
// this device out (the engine stops, the token is forgotten, the lock let go).

import type { ApiClient } from './endpoints.js';
import {
  createSyncEngine,
  type SessionReport,
  type SyncEngine,
  type SyncOnceOptions,
  type SyncRunner,
} from './engine.js';
import type { SignedOutError } from './errors.js';
import { acquireFolderLock, type FolderLock } from './folder-lock.js';
import type { EngineLog } from './log.js';
import { StatusModel } from './status.js';
import { readStatusFile, type StatusWriter, writeStatusFile } from './status-file.js';

export interface FolderSyncOptions {
  api: ApiClient;
  /** The sync folder (absolute, checked). */
  folder: string;
  account: { id: string; email: string };
  /** The status to keep; a new one (off, for this account and folder) when not given. */
  status?: StatusModel;
  /** This account and folder's state file (in the data folder, never in the sync folder). */
  stateFile: string;
  /** Where folder locks live: shared by the app and the CLI, so the two never sync one folder at once. */
  locksDir: string;
  /** What the lock says holds the folder ("hyperclay-sync start", "the Hyperclay Sync app"). */
  holder: string;
  /** The status file a running sync keeps (the CLI's `status` reads it); none when not given. */
  statusFile?: string;
  log: EngineLog;
  deviceName: string;
  pollSeconds: number;
  /** Live polls (default on). */
  live?: boolean;
  /** Seconds between health probes while offline (the engine's default when unset). */
  probeSeconds?: number;
  /** Forgets this device's token: the platform signed it out (401/402). */
  forgetToken: () => void | Promise<void>;
  /** Told once the engine has stopped after the platform signed this device out, and the token is forgotten. */
  onSignedOut?: (error: SignedOutError) => void;
}

export class FolderSync implements SyncRunner {
  readonly status: StatusModel;
  readonly #o: FolderSyncOptions;
  readonly #engine: SyncEngine;
  #lock: FolderLock | null = null;
  #statusWriter: StatusWriter | null = null;
  #starting: Promise<void> | null = null;
  #stopping = false;
  /** Switched off by `pause` (the process and the folder's lock stay); one change at a time. */
  #paused = false;
  #signedOutBy: SignedOutError | null = null;
  #switching: Promise<void> = Promise.resolve();

  constructor(options: FolderSyncOptions) {
    this.#o = options;
    this.status = options.status ?? new StatusModel({ phase: 'off', account: options.account, folder: options.folder });
    this.#engine = createSyncEngine({
      api: options.api,
      folder: options.folder,
      accountId: options.account.id,
      status: this.status,
      stateFile: options.stateFile,
      log: options.log,
      deviceName: options.deviceName,
      pollSeconds: options.pollSeconds,
      ...(options.live === undefined ? {} : { live: options.live }),
      ...(options.probeSeconds === undefined ? {} : { probeSeconds: options.probeSeconds }),
      onSignedOut: (error) => void this.#signedOut(error),
    });
  }

  /**
   * Takes the folder's lock (FolderLockedError names the holder), then syncs until stop(); with `paused`, it holds the
   * folder and waits for resume() (sync switched off by `pause` stays off across a restart).
   */
  start(options: { paused?: boolean } = {}): Promise<void> {
    this.#starting ??= this.#start(options.paused === true);
    return this.#starting;
  }

  async #start(paused: boolean): Promise<void> {
    await this.#acquire(this.#o.holder, 'start');
    // Stopped while the lock was being taken: start nothing.
    if (this.#stopping) return this.#release();
    if (paused) {
      this.#paused = true;
      this.status.paused();
      this.#o.log('info', 'sync is paused: `hyperclay-sync resume` switches it on');
      return;
    }
    try {
      await this.#engine.start();
    } catch (error) {
      await this.#engine.stop().catch(() => {});
      await this.#release();
      throw error;
    }
  }

  get isPaused(): boolean {
    return this.#paused;
  }

  /** Switches sync off (the engine stops, its state on disk) while the process keeps the folder. */
  pause(): Promise<void> {
    this.#switching = this.#switching.then(async () => {
      if (this.#paused || this.#stopping) return;
      this.#paused = true;
      this.status.paused();
      await this.#engine.stop();
      // A session or poll that was ending while the engine stopped may have said "syncing" since: paused it is.
      this.status.paused();
      this.#o.log('info', 'sync paused');
    });
    return this.#switching;
  }

  /** Switches sync on again after pause(): a new session, then watching and polling. */
  unpause(): Promise<void> {
    this.#switching = this.#switching.then(async () => {
      if (!this.#paused || this.#stopping) return;
      this.#paused = false;
      this.#o.log('info', 'sync resumed');
      await this.#engine.start();
    });
    return this.#switching;
  }

  /** Stops the engine (a start still under way first finishes), writes the last status, lets the folder go. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#starting?.catch(() => {});
    await this.#switching.catch(() => {});
    try {
      await this.#engine.stop();
    } finally {
      await this.#release();
    }
  }

  /**
   * One full session under the folder's lock, then exit: the CLI's `sync`. A dry run changes and writes nothing, so
   * it takes no lock and works while another process syncs the folder.
   */
  async syncOnce(options: SyncOnceOptions = {}): Promise<SessionReport> {
    if (options.dryRun === true) return this.#engine.syncOnce(options);
    await this.#acquire(this.#o.holder, 'sync');
    try {
      return await this.#engine.syncOnce(options);
    } finally {
      await this.#release();
    }
  }

  setOsOnline(online: boolean): void {
    this.#engine.setOsOnline(online);
  }

  suspend(): void {
    this.#engine.suspend();
  }

  resume(): void {
    this.#engine.resume();
  }

  /** Resolves once no transfer is queued or running. */
  idle(): Promise<void> {
    return this.#engine.idle();
  }

  async #acquire(holder: string, command: 'start' | 'sync' | null): Promise<void> {
    this.#lock = await acquireFolderLock(this.#o.locksDir, this.#o.folder, holder);
    const file = this.#o.statusFile;
    if (file === undefined || command === null) return;
    // Another folder's running sync owns the status file: do not overwrite its record.
    const other = readStatusFile(file);
    if (command === 'sync' && other?.running && other.pid !== process.pid) return;
    this.#statusWriter = writeStatusFile(file, this.status, { command });
  }

  async #release(): Promise<void> {
    const writer = this.#statusWriter;
    this.#statusWriter = null;
    await writer?.close();
    this.#lock?.release();
    this.#lock = null;
  }

  /** True once the platform has signed this device out (the token is being forgotten by the runner itself). */
  get signedOut(): boolean {
    return this.#signedOutBy !== null;
  }

  /** The engine has stopped itself: forget the token, let the folder go, tell the owner. */
  async #signedOut(error: SignedOutError): Promise<void> {
    this.#signedOutBy = error;
    try {
      await this.#o.forgetToken();
    } finally {
      await this.#release();
      this.#o.onSignedOut?.(error);
    }
  }
}
