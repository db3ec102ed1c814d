// The sync engine for one account and folder: wires its parts (path index, entry memory, executor, reconciler,
// sessions and polls, local events, status) and owns their life: open, start, stop, a one-off sync, and the one
// reaction to every classified failure. Every decision is the planner's; the parts do the I/O.

import type { ApiClient } from './endpoints.js';
import { EngineCore } from './engine-core.js';
import type { SignedOutError } from './errors.js';
import { Executor } from './executor.js';
import { classify, type Failure } from './failures.js';
import { bindFolder, createFolderRules, readFolderAccount, SyncFolderError } from './folder-rules.js';
import { LocalEvents } from './local-events.js';
import type { EngineLog } from './log.js';
import { type Action, keyName } from './model.js';
import { Reconciler } from './reconciler.js';
import { detectCaseInsensitive } from './scan.js';
import { SessionLoop, type SessionReport } from './sessions.js';
import { openStateStore } from './state-store.js';
import { NOTICE_TEXT, type StatusModel } from './status.js';
import { TransferQueue } from './transfers.js';

export type { SessionReport } from './sessions.js';

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
  syncOnce(options?: { dryRun?: boolean; allowDeletes?: boolean }): Promise<SessionReport>;
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

class Engine implements SyncEngine {
  readonly #o: EngineOptions;
  readonly #core: EngineCore;
  readonly #queue: TransferQueue;
  readonly #executor: Executor;
  readonly #reconciler: Reconciler;
  readonly #sessions: SessionLoop;
  readonly #local: LocalEvents;
  #running = false;
  #allowDeletes = false;

  constructor(options: EngineOptions) {
    this.#o = options;
    const { api, status } = options;
    const now = options.now ?? (() => new Date());
    const core = new EngineCore(options.folder, options.log);
    this.#core = core;
    this.#queue = new TransferQueue(options.concurrency ?? 8);
    const running = () => this.#running;
    const allowDeletes = () => this.#allowDeletes;
    this.#executor = new Executor(core, {
      ...{ api, now, status },
      queue: this.#queue,
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
      probeSeconds: options.probeSeconds ?? 3,
      allIdle: () => this.idle(),
      failed: (error) => this.#stepFailed(error),
      afterSession: () => this.#local.replayMissed(),
    });
    this.#local = new LocalEvents(core, { reconciler, running, inSession: () => this.#sessions.inSession });
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
    if (dryRun) {
      // A dry run changes nothing on either side: it checks the folder's account instead of binding it.
      const bound = await readFolderAccount(folder);
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
    this.#core.index.caseInsensitive = await detectCaseInsensitive(folder);
    this.#core.store ??= await openStateStore(this.#o.stateFile);
  }

  async start(): Promise<void> {
    if (this.#running) return;
    await this.#open();
    this.#running = true;
    this.#o.status.started(this.#o.folder);
    this.#sessions.watchOnline();
    // The first session runs before the watcher: chokidar re-reads a whole folder each time a file appears in it,
    // which made a bulk download into a watched folder several times slower than the download itself.
    await this.#sessions.runSession();
    if (!this.#running) return;
    await this.#local.watch();
    await this.#local.catchUp();
    this.#sessions.schedulePoll();
  }

  async stop(): Promise<void> {
    if (!this.#running && !this.#core.store) return;
    this.#running = false;
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

  async syncOnce(once: { dryRun?: boolean; allowDeletes?: boolean } = {}): Promise<SessionReport> {
    await this.#open(once.dryRun === true);
    this.#allowDeletes = once.allowDeletes === true;
    this.#running = !once.dryRun;
    try {
      return await this.#sessions.session(once.dryRun === true);
    } finally {
      this.#running = false;
      await this.idle();
      await this.#closeState();
    }
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
    const what = 'localPath' in action ? action.localPath : keyName(action.key);
    const failure = classify(error);
    if (this.#stops(failure, `${action.type} ${what}: `)) return;
    this.#core.memory.failed.add(action.key);
    if (failure.kind === 'offline') {
      this.#sessions.goOffline(failure.message);
      return;
    }
    if (failure.kind === 'retry' && failure.notice) {
      this.#o.status.limitReached(failure.notice);
      this.#core.memory.skipOnce(what, failure.message);
      return;
    }
    const message = 'message' in failure ? failure.message : String(error);
    if (failure.kind === 'retry' && failure.backup) {
      const line = `the backup could not be written, so nothing was overwritten (${message})`;
      this.#core.log('error', `${action.type} ${what}: ${line}`);
      this.#o.status.failed(`Backup failed for ${what}: ${message}`);
      return;
    }
    const reason = message.replace(/\.$/, '');
    this.#core.log('error', `${action.type} ${what} failed: ${reason}; retried at the next poll`);
    this.#o.status.failed(`${action.type} ${what}: ${reason}`);
  }

  /** A session or poll failed. */
  async #stepFailed(error: unknown): Promise<void> {
    const failure = classify(error);
    if (failure.kind === 'cursor-reset') {
      this.#core.log('info', 'cursor reset by the platform: starting a new session');
      this.#core.state().setCursor(null);
      return this.#sessions.runSession();
    }
    if (this.#stops(failure, '')) return;
    if (failure.kind === 'offline') {
      this.#sessions.goOffline(failure.message);
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    this.#core.log('error', `sync failed: ${message}`);
    this.#o.status.failed(message);
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
    this.#core.log('warn', `signed out by the platform: ${error.message}`);
    const notice =
      error.code === 'subscription_required'
        ? { code: 'subscription_required' as const, text: NOTICE_TEXT.subscription_required }
        : null;
    this.#o.status.signedOut(notice);
    // stop() waits for the running session or poll, which is usually our caller: waiting here would never end.
    void this.stop().then(() => this.#o.onSignedOut?.(error));
  }
}
