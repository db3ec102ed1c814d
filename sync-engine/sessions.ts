// Sessions and polls (SPEC.md "Sessions and polling"): a session lists everything, scans the folder and reconciles
// it all; then a poll every few seconds applies the change pages after the cursor. Offline, polls stop and the
// online monitor probes until the platform answers, which starts a new session.

import { lstat } from 'node:fs/promises';
import type { Entry } from '../protocol/index.js';
import type { ApiClient } from './endpoints.js';
import type { EngineCore } from './engine-core.js';
import type { Executor } from './executor.js';
import { type Action, type EntryKey, entryKeyOf, type RemoteState, type StateRecord } from './model.js';
import { createOnlineMonitor, type OnlineMonitor } from './online.js';
import { plan } from './plan.js';
import type { Reconciler } from './reconciler.js';
import { scanFolder } from './scan.js';
import type { StatusModel } from './status.js';

const PAGE_LIMIT = 1000;

export interface SessionReport {
  actions: Action[];
  brake: boolean;
  held: number;
  failed: number;
}

export interface SessionParts {
  api: ApiClient;
  deviceName: string;
  pollSeconds: number;
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
  /** A session or poll failed: the engine's one reaction to the classified failure. */
  failed: (error: unknown) => Promise<void>;
  /** Paths that changed while a session ran are handled right after it. */
  afterSession: () => void;
}

export class SessionLoop {
  readonly #c: EngineCore;
  readonly #p: SessionParts;
  #sessionId = '';
  #pollTimer: NodeJS.Timeout | null = null;
  #sessionBusy: Promise<void> | null = null;
  #pollBusy: Promise<void> | null = null;
  #suspended = false;
  #monitor: OnlineMonitor | null = null;

  constructor(core: EngineCore, parts: SessionParts) {
    this.#c = core;
    this.#p = parts;
  }

  /** A session is running: watcher events wait for its end. */
  get inSession(): boolean {
    return this.#sessionBusy !== null;
  }

  /** A session: list everything, scan everything, reconcile everything. With dryRun, only the plan. */
  async session(dryRun = false): Promise<SessionReport> {
    const { api } = this.#p;
    const { log, index, memory } = this.#c;
    const s = this.#c.state();
    this.#sessionId = (await api.createSession(this.#p.deviceName)).sessionId;
    log('info', `session started for ${this.#c.folder}`);
    const listing = await this.#listAll();
    const scan = await this.#scan(dryRun);
    index.clear();
    for (const item of scan.items) index.add(item);
    for (const skipped of scan.skipped) memory.skipOnce(skipped.localPath, skipped.message);
    const remote = new Map<EntryKey, RemoteState>();
    for (const entry of listing.entries) if (!this.#ignored(entry)) remote.set(entryKeyOf(entry), { entry });
    for (const [key, known] of memory.knownTombstones()) if (!remote.has(key)) remote.set(key, known);
    const result = plan({
      local: scan.items,
      remote,
      state: s.all(),
      options: { complete: true, caseInsensitive: index.caseInsensitive, allowDeletes: this.#p.allowDeletes() },
    });
    const report: SessionReport = { actions: result.actions, brake: result.brake, held: result.held, failed: 0 };
    if (dryRun) return report;
    await this.#p.executor.execute(result);
    await this.#p.allIdle();
    s.setCursor(listing.cursor);
    await s.flush();
    report.failed = memory.failed.size;
    const transfers = result.actions.filter((a) => a.type === 'push' || a.type === 'pull').length;
    const counts = `${listing.entries.length} on the platform, ${scan.items.length} local, ${transfers} transfers`;
    log('info', `session done: ${counts}`);
    this.#p.status.synced(this.#p.now(), memory.failed.size);
    return report;
  }

  /** A dry run on a folder that does not exist yet: everything would come down into it (nothing is created). */
  async #scan(dryRun: boolean) {
    const caseInsensitive = this.#c.index.caseInsensitive;
    const missing = dryRun && (await lstat(this.#c.folder).catch(() => null)) === null;
    if (missing) return { items: [], skipped: [], caseInsensitive, tempFiles: [] };
    return scanFolder(this.#c.folder, this.#c.rules, { caseInsensitive });
  }

  /** Ignored means ignored both ways (SPEC.md "The folder"): such a platform entry is never downloaded. */
  #ignored(entry: Entry): boolean {
    return this.#c.rules.isIgnored(entry.path, entry.kind === 'folder');
  }

  async #listAll(): Promise<{ entries: Entry[]; cursor: string }> {
    const entries: Entry[] = [];
    let cursor = '0';
    for (;;) {
      const page = await this.#p.api.changes({ session: this.#sessionId, cursor, limit: PAGE_LIMIT });
      entries.push(...page.entries);
      cursor = page.cursor;
      if (!page.hasMore) return { entries, cursor };
    }
  }

  /** One poll: the pages after the cursor, plus the entries whose last transfer failed. */
  async poll(): Promise<void> {
    const s = this.#c.state();
    let cursor = s.getCursor();
    if (cursor === null) return this.runSession();
    for (;;) {
      const page = await this.#p.api.changes({ session: this.#sessionId, cursor, limit: PAGE_LIMIT });
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
      if (remote.size > 0 || this.#c.memory.failed.size > 0) {
        await this.#p.executor.execute(await this.#p.reconciler.planKeys([...remote.keys()], remote));
      }
      cursor = page.cursor;
      s.setCursor(cursor);
      if (!page.hasMore) break;
    }
    await s.flush();
    this.#p.status.synced(this.#p.now(), this.#c.memory.failed.size);
  }

  /** Runs a session (or joins the one running); its failures go to the engine's reaction. */
  async runSession(): Promise<void> {
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
    } catch (error) {
      await this.#p.failed(error);
    }
  }

  schedulePoll(): void {
    this.#clearPoll();
    if (!this.#p.running() || this.#suspended || this.#monitor?.online === false) return;
    this.#pollTimer = setTimeout(() => {
      this.#pollTimer = null;
      this.#pollBusy = this.#guarded(() => this.poll()).finally(() => {
        this.#pollBusy = null;
        this.schedulePoll();
      });
    }, this.#p.pollSeconds * 1000);
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

  /** Stops polls and probes; resolves once the running session or poll has ended. */
  async stop(): Promise<void> {
    this.#clearPoll();
    this.#monitor?.stop();
    this.#monitor = null;
    await Promise.allSettled([this.#sessionBusy, this.#pollBusy]);
  }
}

/** The platform's entry is exactly what was last agreed for it. */
function isAgreed(record: StateRecord | undefined, entry: Entry): boolean {
  if (!record || record.held || record.localDeleted || record.platformPath !== entry.path) return false;
  if (entry.kind === 'folder') return record.kind === 'folder';
  return record.sha256 === entry.sha256 && record.version === entry.version;
}
