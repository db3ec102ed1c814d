// Sessions and polls (SPEC.md "Sessions and polling"): a session lists everything, scans the folder and reconciles
// it all; then a poll every few seconds applies the change pages after the cursor. A failing session or poll is
// tried again with a growing delay. Offline, polls stop and the online monitor probes until the platform answers,
// which starts a new session.

import { lstat } from 'node:fs/promises';
import { type Entry, MAX_WAIT_SECONDS } from '../protocol/index.js';
import type { ApiClient } from './endpoints.js';
import type { EngineCore } from './engine-core.js';
import type { ActionOutcome, Executor } from './executor.js';
import { Feed, type Listing } from './feed.js';
import { type Action, type EntryKey, entryKeyOf, type LocalItem, type RemoteState, type StateRecord } from './model.js';
import { createOnlineMonitor, type OnlineMonitor } from './online.js';
import { agreedEntry, plan } from './plan.js';
import type { Reconciler } from './reconciler.js';
import { scanFolder } from './scan.js';
import type { StatusModel } from './status.js';

/** What a plan limit refused is tried again at most this often when nothing else says there is room. */
const LIMIT_RETRY_MS = 5 * 60 * 1000;
/** After a live poll that brought changes, the next one starts this much later (a burst elsewhere is read in bulk). */
const LIVE_SETTLE_MS = 100;
/** The longest wait between polls after failures (the delay doubles from the poll interval up to this). */
const MAX_BACKOFF_MS = 5 * 60 * 1000;

export interface SessionReport {
  actions: Action[];
  brake: boolean;
  held: number;
  /** Entries whose last push or pull failed (tried again at the next session or poll). */
  failed: number;
  /** What became of each action, in the order they ended (only when the session waits for its transfers). */
  outcomes: ActionOutcome[];
}

/** A one-off session's progress: the transfers planned (files, bytes), then each action's outcome as it ends. */
export type SessionProgress =
  | { type: 'planned'; files: number; bytes: number }
  | { type: 'outcome'; outcome: ActionOutcome };

export interface SessionParts {
  api: ApiClient;
  deviceName: string;
  pollSeconds: number;
  /** Live polls (SPEC.md "Live polls"): each poll a long-poll of the poll interval, the next one right after it. */
  live: boolean;
  /** Seconds between health probes while offline. */
  probeSeconds: number;
  now: () => Date;
  status: StatusModel;
  executor: Executor;
  reconciler: Reconciler;
  allowDeletes: () => boolean;
  /** Sync runs (started and not stopped). */
  running: () => boolean;
  /** Resolves once no reconcile and no transfer is queued or running. */
  allIdle: () => Promise<void>;
  /** Before each session and poll: throws when the sync folder is gone or was replaced. */
  checkFolder: () => Promise<void>;
  /** A session or poll failed: the engine's one reaction; `repeated` when it failed the same way last time. */
  failed: (error: unknown, repeated: boolean) => Promise<void>;
  /** Paths that changed while a session ran are handled right after it. */
  afterSession: () => void;
}

export class SessionLoop {
  readonly #c: EngineCore;
  readonly #p: SessionParts;
  readonly #feed: Feed;
  #sessionId = '';
  #pollTimer: NodeJS.Timeout | null = null;
  #sessionBusy: Promise<void> | null = null;
  #pollBusy: Promise<void> | null = null;
  #suspended = false;
  /** Held while the sync folder is missing: no session, no poll. */
  #held = false;
  #monitor: OnlineMonitor | null = null;
  /** Sessions and polls failed in a row, and how the last one failed. */
  #failures = 0;
  #lastFailure = '';
  /** The next poll comes at once: the last one stopped at its page bound, or it was a live poll the server held. */
  #pollNow = false;
  /** The last poll brought changes: the next one waits a moment, so a burst of saves elsewhere comes in a few pages. */
  #changesSeen = false;

  constructor(core: EngineCore, parts: SessionParts) {
    this.#c = core;
    this.#p = parts;
    this.#feed = new Feed(parts.api, core);
  }

  /** A session is running: watcher events wait for its end. */
  get inSession(): boolean {
    return this.#sessionBusy !== null;
  }

  /**
   * A session: list everything, scan everything, reconcile everything. With dryRun, only the plan. With
   * waitForTransfers, it resolves once every transfer it started has ended (the CLI's `sync` reports on them).
   */
  async session(
    options: { dryRun?: boolean; waitForTransfers?: boolean; onProgress?: (event: SessionProgress) => void } = {},
  ): Promise<SessionReport> {
    const { log, memory } = this.#c;
    const s = this.#c.state();
    // A dry run may look at a folder that does not exist yet (everything would come down into it).
    if (!options.dryRun) await this.#p.checkFolder();
    this.#sessionId = (await this.#p.api.createSession(this.#p.deviceName)).sessionId;
    log('info', `session started for ${this.#c.folder}`);
    if (!options.dryRun) this.#p.status.sessionStarted();
    // A session tries again what a plan limit refused: it reconciles everything anyway.
    memory.releaseLimited();
    const listing = await this.#feed.listAll(this.#sessionId);
    const scan = await this.#scan(options.dryRun === true);
    const result = plan({
      local: scan.items,
      remote: this.#remoteOf(listing, s),
      state: s.all(),
      options: { complete: true, caseInsensitive: this.#c.index.caseInsensitive, allowDeletes: this.#p.allowDeletes() },
    });
    const report: SessionReport = {
      ...{ actions: result.actions, brake: result.brake, held: result.held },
      ...{ failed: 0, outcomes: [] },
    };
    if (options.dryRun) return report;
    const { onProgress } = options;
    const unwatch = options.waitForTransfers
      ? this.#p.executor.watchOutcomes((outcome) => {
          report.outcomes.push(outcome);
          onProgress?.({ type: 'outcome', outcome });
        })
      : () => {};
    try {
      onProgress?.({ type: 'planned', ...transferTotals(result.actions, scan.items) });
      await this.#p.executor.execute(result);
      if (options.waitForTransfers) await this.#p.allIdle();
    } finally {
      unwatch();
    }
    s.setCursor(listing.cursor);
    await s.flush();
    report.failed = memory.failed.size;
    const transfers = result.actions.filter((a) => a.type === 'push' || a.type === 'pull').length;
    const counts = `${listing.entries.length} on the platform, ${scan.items.length} local, ${transfers} transfers`;
    log('info', `session done: ${counts}`);
    this.#p.status.synced(this.#p.now(), memory.failed.size);
    // Live, the first poll is the one that waits for the next change: it starts at once.
    this.#pollNow = this.#p.live;
    return report;
  }

  /** The folder as it is now, indexed; a dry run on a folder that does not exist yet sees it empty. */
  async #scan(dryRun: boolean) {
    const { index, memory } = this.#c;
    const missing = dryRun && (await lstat(this.#c.folder).catch(() => null)) === null;
    const scan = missing
      ? { items: [], skipped: [] }
      : await scanFolder(this.#c.folder, this.#c.rules, { caseInsensitive: index.caseInsensitive });
    index.clear();
    for (const item of scan.items) index.add(item);
    for (const skipped of scan.skipped) memory.skipOnce(skipped.localPath, skipped.message);
    return scan;
  }

  /**
   * The platform side of a complete listing. An entry that is listed but unreadable is still there: it counts as
   * agreed (never as a tombstone); a platform delete seen earlier and not yet applied is kept.
   */
  #remoteOf(listing: Listing, s: { get(key: EntryKey): StateRecord | undefined }): Map<EntryKey, RemoteState> {
    const remote = new Map<EntryKey, RemoteState>();
    for (const entry of listing.entries) if (!this.#ignored(entry)) remote.set(entryKeyOf(entry), { entry });
    for (const key of listing.unreadable) {
      const record = s.get(key);
      if (record && !remote.has(key)) remote.set(key, { entry: agreedEntry(record) });
    }
    for (const [key, known] of this.#c.memory.knownTombstones()) if (!remote.has(key)) remote.set(key, known);
    return remote;
  }

  /** Ignored means ignored both ways (SPEC.md "The folder"): such a platform entry is never downloaded. */
  #ignored(entry: Entry): boolean {
    return this.#c.rules.isIgnored(entry.path, entry.kind === 'folder');
  }

  /**
   * One poll: the pages after the cursor (a bounded number), plus the entries whose last transfer failed. A live poll
   * is held by the platform until a change or the poll interval; a platform that answers at once without changes
   * does not get the next poll before the interval (no busy loop).
   */
  async poll(): Promise<void> {
    await this.#p.checkFolder();
    const s = this.#c.state();
    const cursor = s.getCursor();
    if (cursor === null) return this.runSession();
    this.#pollNow = false;
    const wait = this.#p.live ? Math.min(this.#p.pollSeconds, MAX_WAIT_SECONDS) : 0;
    const started = Date.now();
    let changes = 0;
    for await (const page of this.#feed.pages(this.#sessionId, cursor, wait)) {
      changes += page.entries.length;
      const remote = new Map<EntryKey, RemoteState>();
      for (const entry of page.entries) {
        if (this.#ignored(entry)) continue;
        const key = entryKeyOf(entry);
        // The echo of this client's own push (or a change already applied): the platform side is what was agreed,
        // so there is nothing to reconcile; local changes are the watcher's. After a big first sync this spared
        // re-hashing every file at the first poll.
        if (!entry.deleted && isAgreed(s.get(key), entry)) continue;
        remote.set(key, entry.deleted ? { tombstone: true } : { entry });
      }
      const retry = this.#roomMayHaveAppeared(page.entries) ? this.#c.memory.releaseLimited() : [];
      if (remote.size > 0 || retry.length > 0 || this.#c.memory.failed.size > 0) {
        await this.#p.executor.execute(await this.#p.reconciler.planKeys([...remote.keys(), ...retry], remote));
      }
      s.setCursor(page.cursor);
      this.#pollNow = page.more;
    }
    if (wait > 0 && (changes > 0 || Date.now() - started >= (wait * 1000) / 2)) this.#pollNow = true;
    this.#changesSeen = changes > 0;
    await s.flush();
    this.#p.status.synced(this.#p.now(), this.#c.memory.failed.size);
  }

  /**
   * Whether what a plan limit refused should be tried again: a site was deleted on the platform (room for a site),
   * or a while has passed (the plan may have been upgraded meanwhile). Never at every poll.
   */
  #roomMayHaveAppeared(entries: Entry[]): boolean {
    if (entries.some((entry) => entry.deleted && entry.kind !== 'folder')) return true;
    return this.#c.memory.limitedFor(this.#p.now().getTime()) > LIMIT_RETRY_MS;
  }

  /** Runs a session (or joins the one running); its failures go to the engine's reaction. */
  async runSession(): Promise<void> {
    if (this.#held) return;
    if (this.#sessionBusy) return this.#sessionBusy;
    this.#sessionBusy = this.#guarded(() => this.session()).finally(() => {
      this.#sessionBusy = null;
    });
    await this.#sessionBusy;
    this.#p.afterSession();
  }

  async #guarded(step: () => Promise<unknown>): Promise<void> {
    try {
      await step();
      if (this.#failures > 0) this.#c.log('info', `sync works again after ${this.#failures} failed attempts`);
      this.#failures = 0;
      this.#lastFailure = '';
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      const repeated = text === this.#lastFailure;
      this.#failures++;
      this.#lastFailure = text;
      await this.#p.failed(error, repeated);
    }
  }

  /** The next poll: after the poll interval, doubled for each failure in a row; at once when pages were left. */
  schedulePoll(): void {
    this.#clearPoll();
    if (!this.#p.running() || this.#suspended || this.#held || this.#monitor?.online === false) return;
    const interval = this.#p.pollSeconds * 1000;
    const delay =
      this.#pollNow && this.#failures === 0
        ? this.#changesSeen
          ? LIVE_SETTLE_MS
          : 0
        : Math.min(interval * 2 ** this.#failures, Math.max(interval, MAX_BACKOFF_MS));
    this.#pollTimer = setTimeout(() => {
      this.#pollTimer = null;
      this.#pollBusy = this.#guarded(() => this.poll()).finally(() => {
        this.#pollBusy = null;
        this.schedulePoll();
      });
    }, delay);
    this.#pollTimer.unref?.();
  }

  #clearPoll(): void {
    if (this.#pollTimer) clearTimeout(this.#pollTimer);
    this.#pollTimer = null;
  }

  /** Starts watching for offline and online (requests that fail, the OS's word, the health probe). */
  watchOnline(): void {
    const { status } = this.#p;
    const { log } = this.#c;
    const monitor = createOnlineMonitor({
      probe: () => this.#p.api.health(),
      intervalMs: this.#p.probeSeconds * 1000,
      log: (level, line) => log(level, line),
    });
    monitor.on('offline', (reason) => {
      log('warn', `offline: ${reason}`);
      this.#clearPoll();
      status.offline();
    });
    monitor.on('online', () => {
      log('info', 'online again: starting a new session');
      status.online();
      void this.runSession().then(() => this.schedulePoll());
    });
    this.#monitor = monitor;
  }

  goOffline(reason: string): void {
    this.#monitor?.reportNetworkFailure(new Error(reason));
  }

  setOsOnline(online: boolean): void {
    this.#monitor?.setOsOnline(online);
  }

  suspend(): void {
    this.#suspended = true;
    this.#clearPoll();
    this.#c.log('info', 'system suspended: polling paused');
  }

  resume(): void {
    if (!this.#suspended) return;
    this.#suspended = false;
    this.#c.log('info', 'system resumed: starting a new session');
    if (this.#p.running()) void this.runSession().then(() => this.schedulePoll());
  }

  /** No new session and no poll until release() (the sync folder is gone); one under way ends by itself. */
  hold(): void {
    this.#held = true;
    this.#clearPoll();
  }

  /** Sessions and polls again: a new session at once, then polls. */
  async release(): Promise<void> {
    this.#held = false;
    await this.runSession();
    this.schedulePoll();
  }

  /** Stops polls and probes; resolves once the running session or poll has ended. */
  async stop(): Promise<void> {
    this.#clearPoll();
    this.#monitor?.stop();
    this.#monitor = null;
    await Promise.allSettled([this.#sessionBusy, this.#pollBusy]);
  }
}

/** The files a plan transfers and their bytes (a push's size from the scan, a pull's from the listing). */
function transferTotals(actions: Action[], local: LocalItem[]): { files: number; bytes: number } {
  const sizes = new Map(local.map((item) => [item.key, item.size ?? 0]));
  let files = 0;
  let bytes = 0;
  for (const action of actions) {
    if (action.type === 'push') bytes += sizes.get(action.key) ?? 0;
    else if (action.type === 'pull') bytes += action.entry.size ?? 0;
    else continue;
    files++;
  }
  return { files, bytes };
}

/** The platform's entry is exactly what was last agreed for it. */
function isAgreed(record: StateRecord | undefined, entry: Entry): boolean {
  if (!record || record.held || record.localDeleted || record.platformPath !== entry.path) return false;
  if (entry.kind === 'folder') return record.kind === 'folder';
  return record.sha256 === entry.sha256 && record.version === entry.version;
}
