// The sync engine for one account and folder: wires its parts (path index, entry memory, executor, reconciler,
// sessions and polls, local events, status) and owns their life: open, start, stop, a one-off sync, and the one
// reaction to every classified failure. Every decision is the planner's; the parts do the I/O.

import { rename } from 'node:fs/promises';
import type { Entry } from '../protocol/index.js';
import type { ApiClient } from './endpoints.js';
import { EngineCore } from './engine-core.js';
import type { EntryMemory } from './entry-memory.js';
import { type SignedOutError, TransferIntegrityError } from './errors.js';
import { Executor, pathOf } from './executor.js';
import { classify, type Failure } from './failures.js';
import { FolderReturnWatch, folderPresence } from './folder-guard.js';
import { bindFolder, createFolderRules, readFolderAccount, SyncFolderError } from './folder-rules.js';
import { FolderMissingError } from './fsutil.js';
import { LocalEvents } from './local-events.js';
import type { EngineLog } from './log.js';
import type { Action, EntryKey } from './model.js';
import { Reconciler } from './reconciler.js';
import { detectCaseInsensitive } from './scan.js';
import { SessionLoop, type SessionProgress, type SessionReport } from './sessions.js';
import { openStateStore } from './state-store.js';
import { NOTICE_TEXT, type StatusModel } from './status.js';
import { TransferQueue } from './transfers.js';

export type { SessionProgress, SessionReport } from './sessions.js';

/** A one-off sync: `dryRun` changes nothing on either side; `onProgress` hears of the plan and each outcome. */
export interface SyncOnceOptions {
  dryRun?: boolean;
  allowDeletes?: boolean;
  onProgress?: (event: SessionProgress) => void;
}

/** What the app and the CLI start and stop. */
export interface SyncRunner {
  /** Opens a session (list, scan, reconcile), then keeps watching and polling until stop(). */
  start(): Promise<void>;
  /** Stops watching, polling and transfers; resolves once no write is half-done and the state is on disk. */
  stop(): Promise<void>;
  /** The OS's network state (the desktop app feeds it). */
  setOsOnline(online: boolean): void;
  suspend(): void;
  resume(): void;
}

export interface SyncEngine extends SyncRunner {
  /** One full session without watching: the CLI's `sync`. With dryRun, nothing is changed on either side. */
  syncOnce(options?: SyncOnceOptions): Promise<SessionReport>;
  /** Resolves once no transfer is queued or running (tests and the CLI use it). */
  idle(): Promise<void>;
}

export interface EngineOptions {
  api: ApiClient;
  /** The sync folder (absolute). */
  folder: string;
  accountId: string;
  status: StatusModel;
  /** The state file for this account and folder (in the data folder, never in the sync folder). */
  stateFile: string;
  log: EngineLog;
  deviceName: string;
  pollSeconds: number;
  /** Live polls: each poll a long-poll held by the platform until a change (default true; SYNC_LIVE=0 turns it off). */
  live?: boolean;
  /** Many small transfers in /sync/batch and /sync/fetch (default true); false: every file its own request. */
  batches?: boolean;
  /** Parallel transfers (default 8: the platform commits each write with an fsync, so 4 left it waiting). */
  concurrency?: number;
  /** Seconds between health probes while offline (default 3). */
  probeSeconds?: number;
  /** Called once when the platform signs this device out (401/402): the caller forgets the token. */
  onSignedOut?: (error: SignedOutError) => void;
  now?: () => Date;
}

export function createSyncEngine(options: EngineOptions): SyncEngine {
  return new Engine(options);
}

/** How long the first session's transfers may go without one finishing before the watcher starts anyway. */
const FIRST_SESSION_STALL_MS = 5000;
/** How long the watcher's first crawl may take before polls and the catch-up go on without it. */
const WATCH_READY_MS = 60_000;

class Engine implements SyncEngine {
  readonly #o: EngineOptions;
  /** The engine's own view of the client: stop() aborts what it has in flight, and only that. */
  readonly #api: ApiClient;
  readonly #core: EngineCore;
  readonly #queue: TransferQueue;
  readonly #executor: Executor;
  readonly #reconciler: Reconciler;
  readonly #sessions: SessionLoop;
  readonly #local: LocalEvents;
  readonly #folderBack: FolderReturnWatch;
  #running = false;
  #allowDeletes = false;
  #folderMissing = false;

  constructor(options: EngineOptions) {
    this.#o = options;
    const { status } = options;
    const api = options.api.scoped();
    this.#api = api;
    const now = options.now ?? (() => new Date());
    const core = new EngineCore(options.folder, options.log, status);
    this.#core = core;
    this.#queue = new TransferQueue(options.concurrency ?? 8);
    const running = () => this.#running;
    const allowDeletes = () => this.#allowDeletes;
    this.#executor = new Executor(core, {
      ...{ api, now, status },
      queue: this.#queue,
      batches: options.batches ?? true,
      again: (key) => void this.#reconciler.reconcileKey(key),
      failed: (action, error) => this.#actionFailed(action, error),
    });
    const executor = this.#executor;
    this.#reconciler = new Reconciler(core, { executor, allowDeletes });
    const reconciler = this.#reconciler;
    this.#sessions = new SessionLoop(core, {
      ...{ api, now, status, executor, reconciler, allowDeletes, running },
      deviceName: options.deviceName,
      pollSeconds: options.pollSeconds,
      live: options.live ?? true,
      probeSeconds: options.probeSeconds ?? 3,
      allIdle: () => this.idle(),
      checkFolder: () => this.#checkFolder(),
      failed: (error, repeated) => this.#stepFailed(error, repeated),
      afterSession: () => this.#local.replayMissed(),
    });
    this.#local = new LocalEvents(core, { reconciler, status, running, inSession: () => this.#sessions.inSession });
    const probeMs = (options.probeSeconds ?? 3) * 1000;
    this.#folderBack = new FolderReturnWatch(options.folder, probeMs, () => void this.#folderReturned());
  }

  /** Resolves once no reconcile and no transfer is queued or running (a reconcile may start transfers). */
  async idle(): Promise<void> {
    while (this.#queue.pending > 0 || this.#reconciler.pending > 0) {
      await this.#reconciler.idle();
      await this.#queue.idle();
    }
  }

  /** Binds the folder to the account (a dry run only checks it), reads its rules and disk, opens the state. */
  async #open(dryRun = false): Promise<void> {
    const { folder, accountId } = this.#o;
    const presence = await folderPresence(folder, accountId);
    if (dryRun) {
      // A dry run changes nothing on either side: it checks the folder's account instead of binding it.
      const bound = await readFolderAccount(folder).catch(() => null);
      if (bound !== null && bound !== accountId) {
        throw new SyncFolderError(
          'bound_to_other_account',
          `"${folder}" is synced with another Hyperclay account; choose an empty folder or another folder for this account.`,
        );
      }
    } else {
      await bindFolder(folder, accountId);
    }
    this.#core.rules = createFolderRules(folder);
    this.#core.index.caseInsensitive = await detectCaseInsensitive(folder).catch(() => false);
    this.#core.store ??= await openStateStore(this.#o.stateFile, { readOnly: dryRun });
    // A folder whose marker is gone while the state says it was synced is a new folder (SPEC.md).
    if (!dryRun && presence === 'replaced' && this.#core.store.size > 0) await this.#setStateAside();
  }

  /** The agreed state belongs to a folder that is not there any more: kept aside, never read as local deletes. */
  async #setStateAside(): Promise<void> {
    const file = this.#o.stateFile;
    await this.#closeState();
    const aside = `${file}.set-aside-${Date.now()}`;
    await rename(file, aside).catch(() => {});
    await rename(`${file}.journal`, `${aside}.journal`).catch(() => {});
    this.#core.store = await openStateStore(file);
    this.#core.log(
      'warn',
      `the marker of ${this.#o.folder} is gone: it is synced as a new folder (everything comes down again, local files are kept); the earlier state is kept as ${aside}`,
    );
  }

  async start(): Promise<void> {
    if (this.#running) return;
    await this.#open();
    this.#running = true;
    this.#o.status.started(this.#o.folder);
    this.#sessions.watchOnline();
    await this.#sessions.runSession();
    if (!this.#running) return;
    // The first session's transfers before the watcher: a watched folder reports every file a bulk download writes
    // into it, each one looked at again. A transfer that stalls does not hold this up.
    await this.#queue.idleOrStalled(FIRST_SESSION_STALL_MS);
    this.#sessions.schedulePoll();
    if (this.#folderMissing) return;
    await this.#watch();
  }

  /** Starts the watcher and catches up with what changed meanwhile; a crawl that does not end holds up nothing. */
  async #watch(): Promise<void> {
    const ready = await this.#local.watch(WATCH_READY_MS);
    if (!ready) {
      const line = `the folder could not be read whole within ${WATCH_READY_MS / 1000} s; changes in it may be seen late`;
      this.#core.log('warn', `watcher: ${line}`);
      this.#o.status.failed(`Watching ${this.#o.folder}: ${line}.`);
    }
    if (this.#running) await this.#local.catchUp();
  }

  async stop(): Promise<void> {
    if (!this.#running && !this.#core.store) return;
    this.#running = false;
    this.#folderBack.stop();
    // Whatever is in flight (a retry chain while offline, a listing that does not end) ends now.
    this.#api.close();
    await this.#local.close();
    await this.#sessions.stop();
    await this.idle();
    await this.#closeState();
    this.#o.status.stopped();
    this.#core.log('info', 'sync stopped');
  }

  async #closeState(): Promise<void> {
    const s = this.#core.store;
    this.#core.store = null;
    await s?.close();
  }

  async syncOnce(once: SyncOnceOptions = {}): Promise<SessionReport> {
    await this.#open(once.dryRun === true);
    this.#allowDeletes = once.allowDeletes === true;
    this.#running = !once.dryRun;
    try {
      const progress = once.onProgress ? { onProgress: once.onProgress } : {};
      return await this.#sessions.session({ dryRun: once.dryRun === true, waitForTransfers: true, ...progress });
    } finally {
      this.#running = false;
      await this.idle();
      await this.#closeState();
    }
  }

  // ---------------------------------------------------------------- the folder itself

  /** Before each session and poll: the folder is where it was and still the one synced. */
  async #checkFolder(): Promise<void> {
    const presence = await folderPresence(this.#o.folder, this.#o.accountId);
    if (presence === 'missing') throw new FolderMissingError(this.#o.folder);
    if (presence === 'replaced') {
      await bindFolder(this.#o.folder, this.#o.accountId);
      if (this.#core.state().size > 0) await this.#setStateAside();
    }
  }

  /** The folder is gone: nothing is pushed, pulled or removed for it until it is back; the state is kept. */
  #folderGone(message: string): void {
    if (this.#folderMissing || !this.#running) return;
    this.#folderMissing = true;
    this.#core.log('warn', `folder missing: ${message}`);
    this.#o.status.folderMissing(message);
    this.#sessions.hold();
    this.#api.close();
    void this.#local.close();
    this.#folderBack.start();
  }

  async #folderReturned(): Promise<void> {
    if (!this.#running) return;
    this.#folderMissing = false;
    this.#core.log('info', `the sync folder ${this.#o.folder} is back: starting a new session`);
    this.#o.status.folderBack();
    await this.#sessions.release();
    if (this.#running && !this.#folderMissing) await this.#watch();
  }

  setOsOnline(online: boolean): void {
    this.#sessions.setOsOnline(online);
  }

  suspend(): void {
    this.#sessions.suspend();
  }

  resume(): void {
    this.#sessions.resume();
  }

  // ---------------------------------------------------------------- the one reaction to failures

  /** A push, pull or other action failed. */
  #actionFailed(action: Action, error: unknown): void {
    const what = pathOf(action);
    const failure = classify(error);
    if (this.#stops(failure, `${action.type} ${what}: `)) return;
    const { memory, log } = this.#core;
    if (failure.kind === 'skip') {
      // Trying again changes nothing until the entry changes on either side (which brings it back into a plan).
      if (failure.notice) this.#o.status.limitReached(failure.notice);
      memory.skipOnce(what, `${failure.message} (${failure.code}); skipped until it changes`);
      return;
    }
    memory.failed.add(action.key);
    if (action.type === 'pull') noteNewer(memory, action.key, action.entry, error);
    if (this.#pauses(failure)) return;
    const message = failure.kind === 'retry' ? failure.message : String(error);
    if (failure.kind === 'retry' && failure.backup) {
      log('error', `${action.type} ${what}: the backup could not be written, so nothing was overwritten (${message})`);
      this.#o.status.failed(`Backup failed for ${what}: ${message}`);
      this.#o.status.fileFailing(what, `the backup could not be written, so nothing was overwritten (${message})`);
      return;
    }
    const reason = message.replace(/\.$/, '');
    log('error', `${action.type} ${what} failed: ${reason}; retried at the next poll`);
    this.#o.status.failed(`${action.type} ${what}: ${reason}`);
    this.#o.status.fileFailing(what, `${action.type} failed: ${reason}; retried at the next poll`);
  }

  /** A session or poll failed; `repeated`: the same way as the one before (logged once, not at every try). */
  async #stepFailed(error: unknown, repeated: boolean): Promise<void> {
    const failure = classify(error);
    if (failure.kind === 'cursor-reset') {
      this.#core.log('info', 'cursor reset by the platform: starting a new session');
      this.#core.state().setCursor(null);
      return this.#sessions.runSession();
    }
    if (this.#stops(failure, '') || this.#pauses(failure)) return;
    const message = error instanceof Error ? error.message : String(error);
    this.#core.log(repeated ? 'debug' : 'error', `sync failed: ${message}${repeated ? ' (again)' : ''}`);
    this.#o.status.failed(message);
  }

  /** The failures after which nothing is tried until something comes back: the folder, the network, a start. */
  #pauses(failure: Failure): boolean {
    switch (failure.kind) {
      case 'stopped':
        return true;
      case 'folder-missing':
        this.#folderGone(failure.message);
        return true;
      case 'offline':
        this.#sessions.goOffline(failure.message);
        return true;
      default:
        return false;
    }
  }

  /** The failures that end syncing: signed out, or a client the platform no longer serves. */
  #stops(failure: Failure, where: string): boolean {
    if (failure.kind === 'signed-out') {
      void this.#signedOut(failure.error);
      return true;
    }
    if (failure.kind === 'outdated') {
      this.#o.status.needsAttention({ code: 'client_outdated', text: NOTICE_TEXT.client_outdated });
      this.#core.log('error', `${where}${failure.message}`);
      void this.stop();
      return true;
    }
    return false;
  }

  async #signedOut(error: SignedOutError): Promise<void> {
    if (!this.#running) return;
    // No token here at all (status 0) is `logout` on this device, not a fault: whoever owns the token says so.
    if (error.status !== 0) this.#core.log('warn', `signed out by the platform: ${error.message}`);
    const notice =
      error.code === 'subscription_required'
        ? { code: 'subscription_required' as const, text: NOTICE_TEXT.subscription_required }
        : null;
    this.#o.status.signedOut(notice);
    // stop() waits for the running session or poll, which is usually our caller: waiting here would never end.
    void this.stop().then(() => this.#o.onSignedOut?.(error));
  }
}

/**
 * A download found the platform holding another version than planned: the next try plans with that version, as the
 * platform announced it, rather than with the one the feed gave (its change may already lie behind the cursor).
 */
function noteNewer(memory: EntryMemory, key: EntryKey, entry: Entry, error: unknown): void {
  if (!(error instanceof TransferIntegrityError) || error.reason !== 'changed' || !error.current) return;
  const { sha256, version, size, updatedAt } = error.current;
  const newer: Entry = { ...entry, sha256, version, updatedAt: updatedAt ?? entry.updatedAt };
  if (size === undefined) delete newer.size;
  else newer.size = size;
  memory.noteSeen(new Map([[key, { entry: newer }]]));
}
