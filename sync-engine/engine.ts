// The sync loop for one account and folder: sessions, the watcher, the poller, and the executor that carries the
// planner's actions out (transfers, backups, atomic installs). Every decision is the planner's; this file does I/O.

import { createHash } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { lstat, mkdir, readdir, readFile, rmdir, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { type Entry, MAX_FILE_BYTES, siteNameOf } from '../protocol/index.js';
import { BackupError, installFile, moveToBackup } from './backup.js';
import type { ApiClient } from './endpoints.js';
import {
  ApiError,
  ClientOutdatedError,
  ConflictError,
  CursorResetError,
  isSignedOut,
  OfflineError,
  type SignedOutError,
} from './errors.js';
import { bindFolder, createFolderRules, type FolderRules, readFolderAccount, SyncFolderError } from './folder-rules.js';
import { errnoOf, resolveInside, tempPathFor } from './fsutil.js';
import { type EngineLog, formatBytes } from './log.js';
import type { Action, EntryKey, LocalItem, RemoteState, StateRecord } from './model.js';
import { createOnlineMonitor, type OnlineMonitor } from './online.js';
import { entryKeyOf, type PlanResult, plan } from './plan.js';
import { detectCaseInsensitive, scanFolder, statItem } from './scan.js';
import { openStateStore, type StateStore } from './state-store.js';
import { NOTICE_TEXT, type StatusModel } from './status.js';
import { TransferQueue } from './transfers.js';
import { type FolderWatcher, type WatchEvent, watchFolder } from './watcher.js';

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

export interface SessionReport {
  actions: Action[];
  brake: boolean;
  held: number;
  failed: number;
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

const PAGE_LIMIT = 1000;
/** Reconciles hash files and plan; they run beside the transfers, a few at a time. */
const RECONCILE_POOL = 8;
/** chokidar's per-file change throttle is 50 ms: look again just after it. */
const LOOK_AGAIN_MS = 75;

/** A remote side known but not yet applied for a key: every later reconcile of that key plans with it. */
type Known = Exclude<RemoteState, undefined>;

export function createSyncEngine(options: EngineOptions): SyncEngine {
  const { api, folder, status, log } = options;
  const now = options.now ?? (() => new Date());
  const queue = new TransferQueue(options.concurrency ?? 8);
  /**
   * Reconciles (watcher events, retries) in a pool of their own: a reconcile waits for the transfers it plans, so
   * sharing the transfer pool let four simultaneous events take every slot and wait forever for their transfers.
   */
  const reconciles = new TransferQueue(RECONCILE_POOL);
  let store: StateStore | null = null;
  let rules: FolderRules = createFolderRules(folder);
  let caseInsensitive = false;
  let watcher: FolderWatcher | null = null;
  let monitor: OnlineMonitor | null = null;
  let sessionId = '';
  let pollTimer: NodeJS.Timeout | null = null;
  let running = false;
  let suspended = false;
  let sessionBusy: Promise<void> | null = null;
  let pollBusy: Promise<void> | null = null;
  let allowDeletes = false;

  /** Local files by fold(key): every path on disk that maps to that entry (several for twins). */
  const localPaths = new Map<string, Set<string>>();
  /** The key each indexed local path maps to. */
  const keyOfPath = new Map<string, EntryKey>();
  const pendingRemote = new Map<EntryKey, Known>();
  const failed = new Set<EntryKey>();
  /** Content refused by the platform for good (413, name_taken, invalid_*, 409 conflict): not sent again. */
  const refused = new Map<EntryKey, string>();
  const loggedSkips = new Set<string>();
  /** Paths that changed while a session was reconciling: handled right after it. */
  const eventsDuringSession = new Set<string>();

  const fold = (key: string): string => (caseInsensitive ? key.normalize('NFC').toLowerCase() : key);
  const state = (): StateStore => {
    if (!store) throw new Error('the sync engine is not started');
    return store;
  };
  const pathOfKey = (key: EntryKey): string => key.slice(key.indexOf(':') + 1);

  function indexLocal(item: LocalItem): void {
    const previous = keyOfPath.get(item.localPath);
    if (previous !== undefined && previous !== item.key) unindexPath(item.localPath);
    keyOfPath.set(item.localPath, item.key);
    let paths = localPaths.get(fold(item.key));
    if (!paths) {
      paths = new Set();
      localPaths.set(fold(item.key), paths);
    }
    paths.add(item.localPath);
  }

  function unindexPath(localPath: string): EntryKey | undefined {
    const key = keyOfPath.get(localPath);
    if (key === undefined) return undefined;
    keyOfPath.delete(localPath);
    const paths = localPaths.get(fold(key));
    paths?.delete(localPath);
    if (paths?.size === 0) localPaths.delete(fold(key));
    return key;
  }

  /** Resolves once no reconcile and no transfer is queued or running (a reconcile may start transfers). */
  async function allIdle(): Promise<void> {
    while (queue.pending > 0 || reconciles.pending > 0) {
      await reconciles.idle();
      await queue.idle();
    }
  }

  function updatePending(): void {
    status.update({ pending: queue.pending });
  }

  // ---------------------------------------------------------------- planning

  /** Fresh local items (re-stat and re-hash) for the given keys, from the index and the agreed local paths. */
  async function freshLocal(keys: Iterable<EntryKey>): Promise<LocalItem[]> {
    const paths = new Set<string>();
    for (const key of keys) {
      for (const p of localPaths.get(fold(key)) ?? []) paths.add(p);
      const agreed = store?.get(key)?.localPath;
      if (agreed) paths.add(agreed);
    }
    const items: LocalItem[] = [];
    for (const localPath of paths) {
      const result = await statItem(folder, localPath, rules);
      if (result.status === 'item') {
        indexLocal(result.item);
        items.push(result.item);
      } else {
        unindexPath(localPath);
        if (result.status === 'skipped') skipOnce(localPath, result.skipped.message);
      }
    }
    return items;
  }

  function localFileCount(): number {
    let count = 0;
    for (const key of keyOfPath.values()) if (!key.startsWith('folder:')) count++;
    return count;
  }

  /** Plans the given keys with what is on disk now and everything known of the platform. */
  async function planKeys(keys: EntryKey[], remote: Map<EntryKey, RemoteState>): Promise<PlanResult> {
    const scope = new Set([...keys, ...failed]);
    for (const key of scope) {
      const known = pendingRemote.get(key);
      if (known && !remote.has(key)) remote.set(key, known);
    }
    const local = await freshLocal(scope);
    const s = state();
    return plan({
      local,
      remote,
      // A scoped plan only looks records up by key (on a case-sensitive disk): no copy of the whole state per event.
      state: { get: (key) => s.get(key), keys: () => s.all().keys(), values: () => s.all().values() },
      options: {
        scope,
        failedKeys: failed,
        caseInsensitive,
        allowDeletes,
        localFileCount: localFileCount(),
      },
    });
  }

  // ---------------------------------------------------------------- executing

  async function execute(result: PlanResult): Promise<void> {
    for (const [key, seen] of result.remoteSeen) {
      if (seen) pendingRemote.set(key, seen);
    }
    if (result.brake) {
      log(
        'error',
        `delete brake: the platform removed ${result.removals} of ${localFileCount()} local files; none removed (held)`,
      );
      status.update({ phase: 'needs-attention', notice: { code: 'delete_brake', text: NOTICE_TEXT.delete_brake } });
    }
    // Phases in the planner's order: each phase's entries run in parallel, one job per entry.
    let phase: Promise<void>[] = [];
    let phaseType: string | null = null;
    for (const action of result.actions) {
      const type = phaseOf(action);
      if (phaseType !== null && type !== phaseType) {
        await Promise.allSettled(phase);
        phase = [];
      }
      phaseType = type;
      phase.push(runAction(action));
    }
    await Promise.allSettled(phase);
    for (const key of result.again) void reconcileKey(key);
  }

  function runAction(action: Action): Promise<void> {
    const job = async (): Promise<void> => {
      try {
        await perform(action);
      } catch (error) {
        handleFailure(action, error);
      } finally {
        updatePending();
      }
    };
    const done = queue.run(action.key, job);
    updatePending();
    // The queue counts a job until it has fully ended: count again once it has.
    return done.finally(updatePending);
  }

  function consumed(key: EntryKey, seen: Known | undefined): void {
    failed.delete(key);
    if (seen === undefined || pendingRemote.get(key) === seen) pendingRemote.delete(key);
  }

  async function perform(action: Action): Promise<void> {
    const seen = pendingRemote.get(action.key);
    const s = state();
    switch (action.type) {
      case 'push':
        await push(action);
        break;
      case 'pull':
        await pull(action.key, action.entry, action.localPath, action.local);
        break;
      case 'record':
        s.put(recordFrom(action.key, action.entry, action.local));
        break;
      case 'createFolder': {
        const result = await api.putFolder(pathOfKey(action.key));
        s.put({ key: action.key, kind: 'folder', localPath: action.localPath, platformPath: result.entry.path });
        if (result.status === 'created') log('info', `folder ${action.localPath} created on the platform`);
        break;
      }
      case 'makeLocalFolder': {
        const abs = await resolveInside(folder, action.localPath);
        await mkdir(abs, { recursive: true });
        s.put({ key: action.key, kind: 'folder', localPath: action.localPath, platformPath: action.entry.path });
        break;
      }
      case 'rememberDelete': {
        const record = s.get(action.key);
        if (record) s.put({ ...record, localDeleted: true, held: false });
        log('info', `deleted locally ${record?.localPath ?? pathOfKey(action.key)}: kept on the platform`);
        break;
      }
      case 'removeLocal':
        await removeLocal(action.key, action.localPath);
        break;
      case 'removeLocalFolder':
        await removeLocalFolder(action.key, action.localPath);
        break;
      case 'forget':
        s.delete(action.key);
        break;
      case 'hold': {
        const record = s.get(action.key);
        if (record) s.put({ ...record, held: true, localDeleted: false, localPath: action.localPath });
        log('warn', `held ${action.localPath}: ${action.why}`);
        break;
      }
      case 'skip':
        skipOnce(action.localPath, action.why);
        if (action.entry) failed.add(action.key);
        return;
    }
    consumed(action.key, seen);
  }

  function recordFrom(
    key: EntryKey,
    entry: Entry,
    local: LocalItem | { localPath: string; mtimeMs: number },
  ): StateRecord {
    const record: StateRecord = {
      key,
      kind: entry.kind,
      localPath: local.localPath,
      platformPath: entry.path,
      updatedAt: entry.updatedAt,
    };
    if (entry.name !== undefined) record.name = entry.name;
    if (entry.kind !== 'folder') {
      if (entry.sha256 !== undefined) record.sha256 = entry.sha256;
      if (entry.size !== undefined) record.size = entry.size;
      if (entry.version !== undefined) record.version = entry.version;
      if (local.mtimeMs !== undefined) record.mtimeMs = local.mtimeMs;
    }
    return record;
  }

  /** Reads a file whole, again if it moved under the read (size or mtime changed). */
  async function readStable(abs: string): Promise<{ content: Buffer; size: number; mtimeMs: number } | null> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const before = await lstat(abs).catch(() => null);
      if (!before?.isFile()) return null;
      if (before.size > MAX_FILE_BYTES) return { content: Buffer.alloc(0), size: before.size, mtimeMs: before.mtimeMs };
      const content = await readFile(abs);
      const after = await lstat(abs).catch(() => null);
      if (after && after.size === before.size && after.mtimeMs === before.mtimeMs && content.length === after.size) {
        return { content, size: after.size, mtimeMs: after.mtimeMs };
      }
    }
    throw new Error('the file kept changing while it was read');
  }

  async function push(action: Extract<Action, { type: 'push' }>): Promise<void> {
    const s = state();
    const abs = await resolveInside(folder, action.localPath);
    const read = await readStable(abs);
    if (!read) return; // gone meanwhile: its removal is a watcher event of its own
    if (read.size > MAX_FILE_BYTES) {
      skipOnce(action.localPath, `it is larger than 20 MiB (${formatBytes(read.size)}); skipped until it changes`);
      return;
    }
    const sha256 = createHash('sha256').update(read.content).digest('hex');
    const record = s.get(action.key);
    if (record && record.sha256 === sha256 && !record.localDeleted && action.baseVersion !== 0) {
      // Nothing new (also the echo of a file this engine just wrote); follow a local move.
      if (record.localPath !== action.localPath || record.mtimeMs !== read.mtimeMs) {
        s.put({ ...record, localPath: action.localPath, mtimeMs: read.mtimeMs, held: false });
      }
      return;
    }
    if (refused.get(action.key) === sha256) return;
    const baseVersion = action.baseVersion === 0 ? 0 : (record?.version ?? 0);
    const started = Date.now();
    const kind = action.kind;
    const key = kind === 'site' ? siteNameOf(action.localPath) : pathOfKey(action.key);
    try {
      const result = await api.putFile(kind, key, {
        content: read.content,
        sha256,
        baseVersion,
        modifiedAtIso: new Date(api.toServerTime(read.mtimeMs)).toISOString(),
        localPath: action.localPath,
      });
      s.put(recordFrom(action.key, result.entry, { localPath: action.localPath, mtimeMs: read.mtimeMs }));
      refused.delete(action.key);
      // Only a new site shows the plan has room for sites again; a new upload says nothing about that.
      if (kind === 'site' && result.status === 'created' && status.current.notice?.code === 'site_limit_reached') {
        clearNotice();
      }
      log(
        'info',
        `push ${action.localPath} v${result.entry.version} ${formatBytes(read.size)} ${Date.now() - started} ms${
          result.status === 'unchanged' ? ' (already there)' : ''
        }`,
      );
    } catch (error) {
      if (error instanceof ConflictError) {
        // Last write wins on the platform's clock and this write lost: final. Back up L (the install's move),
        // pull the winner, and never send this content again.
        refused.set(action.key, sha256);
        log(
          'info',
          `conflict ${action.localPath}: the platform's newer version wins; local copy kept in sites-versions`,
        );
        const local: LocalItem = {
          key: action.key,
          kind,
          localPath: action.localPath,
          sha256,
          size: read.size,
          mtimeMs: read.mtimeMs,
        };
        await pull(action.key, error.current, action.localPath, local);
        return;
      }
      if (error instanceof ApiError && isFinalRefusal(error.code)) {
        refused.set(action.key, sha256);
        skipOnce(action.localPath, `${error.message} (${error.code}); skipped until it changes`);
        return;
      }
      throw error;
    }
  }

  async function pull(key: EntryKey, entry: Entry, localPath: string, compared: LocalItem | undefined): Promise<void> {
    const s = state();
    if (entry.kind === 'folder' || entry.sha256 === undefined) return;
    const abs = await resolveInside(folder, localPath);
    await mkdir(join(abs, '..'), { recursive: true });
    // The parent may have been created just now: check again that nothing symlinked got in between.
    await resolveInside(folder, localPath);
    const temp = tempPathFor(abs);
    const started = Date.now();
    const fileKey = entry.kind === 'site' ? (entry.name ?? siteNameOf(entry.path)) : entry.path;
    const expect: { size?: number; sha256?: string; version?: number } = { sha256: entry.sha256 };
    if (entry.size !== undefined) expect.size = entry.size;
    if (entry.version !== undefined) expect.version = entry.version;
    const headers = await api.download(entry.kind, fileKey, temp, expect);
    // The platform's updatedAt in local time, so the next comparison sees the file as unchanged.
    const mtime = new Date(Date.parse(headers.updatedAt) - api.clockOffsetMs);
    await utimes(temp, mtime, mtime);
    // Recorded from the temp file (a rename keeps mtime and size): the installed file may be moved or edited by the
    // user the moment it lands, and a failed lstat then made the pull look failed and download it again.
    const installedInfo = await lstat(temp);
    const comparedStat =
      compared?.sha256 !== undefined && compared.size !== undefined && compared.mtimeMs !== undefined
        ? { sha256: compared.sha256, size: compared.size, mtimeMs: compared.mtimeMs }
        : null;
    const installed = await installFile(folder, localPath, temp, comparedStat, now());
    const pulled: Entry = { ...entry, size: headers.size, sha256: headers.sha256, version: headers.version };
    pulled.updatedAt = headers.updatedAt;
    if (installed.status === 'local_changed') {
      log('info', `pull ${localPath} postponed: it changed on disk meanwhile`);
      failed.add(key);
      void reconcileKey(key);
      return;
    }
    s.put(recordFrom(key, pulled, { localPath, mtimeMs: installedInfo.mtimeMs }));
    indexLocal({ key, kind: entry.kind, localPath });
    const backup = installed.status === 'installed' && installed.backup ? ` (old copy: ${installed.backup.path})` : '';
    log(
      'info',
      `pull ${localPath} v${headers.version} ${formatBytes(headers.size)} ${Date.now() - started} ms${backup}`,
    );
    if (installed.status === 'restored') {
      log('info', `pull ${localPath}: a save landed during the install; it is kept and sent`);
      void reconcileKey(key);
    }
  }

  async function removeLocal(key: EntryKey, localPath: string): Promise<void> {
    const s = state();
    const record = s.get(key);
    const current = await statItem(folder, localPath, rules);
    if (current.status !== 'item') {
      s.delete(key);
      return;
    }
    if (record?.sha256 !== undefined && current.item.sha256 !== record.sha256) {
      // Edited since it was compared: the local edit survives (the next plan pushes it as new).
      void reconcileKey(key);
      return;
    }
    const backup = await moveToBackup(folder, localPath, now());
    unindexPath(localPath);
    s.delete(key);
    log('info', `removed ${localPath}: deleted on the platform (kept in ${backup.path})`);
  }

  async function removeLocalFolder(key: EntryKey, localPath: string): Promise<void> {
    try {
      await rmdir(await resolveInside(folder, localPath));
      unindexPath(localPath);
      log('info', `removed empty folder ${localPath}: deleted on the platform`);
    } catch (error) {
      const code = errnoOf(error);
      if (code === 'ENOTEMPTY' || code === 'EEXIST') {
        // Sync never deletes a folder's contents: the folder stays, held, and is not tried again every session.
        const record = state().get(key);
        if (record) state().put({ ...record, held: true, localDeleted: false });
        log('info', `kept folder ${localPath}: deleted on the platform, but it still holds files`);
        return;
      }
      if (code !== 'ENOENT') throw error;
    }
    state().delete(key);
  }

  function skipOnce(localPath: string, why: string): void {
    const line = `skip ${localPath}: ${why}`;
    if (loggedSkips.has(line)) return;
    loggedSkips.add(line);
    log('warn', line);
  }

  function clearNotice(): void {
    status.update({ notice: null, phase: running ? 'syncing' : status.current.phase });
  }

  function handleFailure(action: Action, error: unknown): void {
    const what = 'localPath' in action ? action.localPath : pathOfKey(action.key);
    if (isSignedOut(error)) {
      void signedOut(error);
      return;
    }
    if (error instanceof ClientOutdatedError) {
      status.update({
        phase: 'needs-attention',
        notice: { code: 'client_outdated', text: NOTICE_TEXT.client_outdated },
      });
      log('error', `${action.type} ${what}: ${error.message}`);
      void stop();
      return;
    }
    failed.add(action.key);
    if (error instanceof ApiError && error.code === 'site_limit_reached') {
      status.update({ notice: { code: 'site_limit_reached', text: NOTICE_TEXT.site_limit_reached } });
      skipOnce(what, 'the site limit of the plan is reached');
      return;
    }
    if (error instanceof ApiError && error.code === 'storage_limit_reached') {
      status.update({ notice: { code: 'storage_limit_reached', text: error.message } });
      skipOnce(what, error.message);
      return;
    }
    if (error instanceof BackupError) {
      log(
        'error',
        `${action.type} ${what}: the backup could not be written, so nothing was overwritten (${error.message})`,
      );
      status.update({ lastError: `Backup failed for ${what}: ${error.message}` });
      return;
    }
    if (error instanceof OfflineError) {
      goOffline(error.message);
      return;
    }
    const message = (error instanceof Error ? error.message : String(error)).replace(/\.$/, '');
    log('error', `${action.type} ${what} failed: ${message}; retried at the next poll`);
    status.update({ lastError: `${action.type} ${what}: ${message}` });
  }

  async function signedOut(error: SignedOutError): Promise<void> {
    if (!running) return;
    log('warn', `signed out by the platform: ${error.message}`);
    const notice =
      error.code === 'subscription_required'
        ? { code: 'subscription_required' as const, text: NOTICE_TEXT.subscription_required }
        : null;
    status.update({ phase: 'signed-out', notice, account: null });
    // stop() waits for the running session or poll, which is usually our caller: waiting here would never end.
    void stop().then(() => options.onSignedOut?.(error));
  }

  // ---------------------------------------------------------------- watcher events

  /** Reconciles one entry with the disk now and what is known of the platform (one job per entry). */
  function reconcileKey(key: EntryKey): Promise<void> {
    if (!running && !store) return Promise.resolve();
    const done = reconciles.run(key, async () => {
      try {
        const result = await planKeys([key], new Map());
        await execute(result);
      } catch (error) {
        failed.add(key);
        log('error', `reconcile ${pathOfKey(key)} failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    });
    updatePending();
    return done.finally(updatePending);
  }

  /** Per file: the look-again after a burst of change events (see onWatchEvent). */
  const lookAgain = new Map<string, NodeJS.Timeout>();

  function onWatchEvent(event: WatchEvent): void {
    void onLocalPath(event.localPath);
    if (event.type !== 'file') return;
    // chokidar drops a change event that comes within 50 ms of the previous one for the same file and never
    // sends it later, so a quick second save could be missed for good. Look once more after that window (the
    // push above already happened at once: this is no debounce); it costs one lstat when nothing moved.
    clearTimeout(lookAgain.get(event.localPath));
    const timer = setTimeout(() => {
      lookAgain.delete(event.localPath);
      void lookAgainAt(event.localPath);
    }, LOOK_AGAIN_MS);
    timer.unref?.();
    lookAgain.set(event.localPath, timer);
  }

  async function lookAgainAt(localPath: string): Promise<void> {
    if (!running) return;
    const key = keyOfPath.get(localPath);
    const record = key === undefined ? undefined : store?.get(key);
    const info = await lstat(join(folder, localPath)).catch(() => null);
    if (record && info && record.localPath === localPath && info.size === record.size) {
      if (info.mtimeMs === record.mtimeMs) return;
    }
    await onLocalPath(localPath);
  }

  async function onLocalPath(localPath: string): Promise<void> {
    if (!running) return;
    if (sessionBusy) {
      eventsDuringSession.add(localPath);
      return;
    }
    if (localPath === '.syncignore') {
      const problem = rules.reload();
      if (problem) log('warn', `.syncignore: ${problem}`);
      return;
    }
    const result = await statItem(folder, localPath, rules).catch(() => ({ status: 'missing' as const }));
    let key: EntryKey | undefined;
    if (result.status === 'item') {
      indexLocal(result.item);
      key = result.item.key;
    } else {
      key = unindexPath(localPath);
      if (result.status === 'skipped') skipOnce(localPath, result.skipped.message);
    }
    if (key !== undefined) await reconcileKey(key);
  }

  // ---------------------------------------------------------------- sessions and polls

  function isAgreed(record: StateRecord | undefined, entry: Entry): boolean {
    if (!record || record.held || record.localDeleted || record.platformPath !== entry.path) return false;
    if (entry.kind === 'folder') return record.kind === 'folder';
    return record.sha256 === entry.sha256 && record.version === entry.version;
  }

  /** Ignored means ignored both ways (SPEC.md "The folder"): such a platform entry is never downloaded. */
  function ignoredOnPlatform(entry: Entry): boolean {
    return rules.isIgnored(entry.path, entry.kind === 'folder');
  }

  async function listAll(): Promise<{ entries: Entry[]; cursor: string }> {
    const entries: Entry[] = [];
    let cursor = '0';
    for (;;) {
      const page = await api.changes({ session: sessionId, cursor, limit: PAGE_LIMIT });
      entries.push(...page.entries);
      cursor = page.cursor;
      if (!page.hasMore) return { entries, cursor };
    }
  }

  /** A session: list everything, scan everything, reconcile everything (SPEC.md "Sessions and polling"). */
  async function session(dryRun = false): Promise<SessionReport> {
    const s = state();
    const opened = await api.createSession(options.deviceName);
    sessionId = opened.sessionId;
    log('info', `session started for ${folder}`);
    const listing = await listAll();
    // A dry run on a folder that does not exist yet: everything would come down into it (nothing is created).
    const missing = dryRun && (await lstat(folder).catch(() => null)) === null;
    const scan = missing
      ? { items: [], skipped: [], caseInsensitive, tempFiles: [] }
      : await scanFolder(folder, rules, { caseInsensitive });
    localPaths.clear();
    keyOfPath.clear();
    for (const item of scan.items) indexLocal(item);
    for (const skipped of scan.skipped) skipOnce(skipped.localPath, skipped.message);
    const remote = new Map<EntryKey, RemoteState>();
    for (const entry of listing.entries) if (!ignoredOnPlatform(entry)) remote.set(entryKeyOf(entry), { entry });
    for (const [key, known] of pendingRemote) if (!remote.has(key) && 'tombstone' in known) remote.set(key, known);
    const result = plan({
      local: scan.items,
      remote,
      state: s.all(),
      options: { complete: true, caseInsensitive, allowDeletes },
    });
    const report: SessionReport = { actions: result.actions, brake: result.brake, held: result.held, failed: 0 };
    if (dryRun) return report;
    await execute(result);
    await allIdle();
    s.setCursor(listing.cursor);
    await s.flush();
    report.failed = failed.size;
    const transfers = result.actions.filter((a) => a.type === 'push' || a.type === 'pull').length;
    log(
      'info',
      `session done: ${listing.entries.length} on the platform, ${scan.items.length} local, ${transfers} transfers`,
    );
    markSynced();
    return report;
  }

  function markSynced(): void {
    const attention =
      status.current.notice?.code === 'delete_brake' || status.current.notice?.code === 'client_outdated';
    status.update({
      lastSyncAt: now().toISOString(),
      phase: attention ? 'needs-attention' : 'syncing',
      lastError: failed.size === 0 ? null : status.current.lastError,
    });
  }

  /** One poll: the pages after the cursor, plus the entries whose last transfer failed. */
  async function poll(): Promise<void> {
    const s = state();
    let cursor = s.getCursor();
    if (cursor === null) return runSession();
    for (;;) {
      const page = await api.changes({ session: sessionId, cursor, limit: PAGE_LIMIT });
      const remote = new Map<EntryKey, RemoteState>();
      for (const entry of page.entries) {
        if (ignoredOnPlatform(entry)) continue;
        const key = entryKeyOf(entry);
        // The echo of this client's own push (or a change already applied): the platform side is what was agreed,
        // so there is nothing to reconcile; local changes are the watcher's. After a big first sync this spared
        // re-hashing every file at the first poll.
        if (!entry.deleted && isAgreed(s.get(key), entry)) continue;
        remote.set(key, entry.deleted ? { tombstone: true } : { entry });
      }
      if (remote.size > 0 || failed.size > 0) {
        const result = await planKeys([...remote.keys()], remote);
        await execute(result);
      }
      cursor = page.cursor;
      s.setCursor(cursor);
      if (!page.hasMore) break;
    }
    await s.flush();
    markSynced();
  }

  function schedulePoll(): void {
    if (pollTimer) clearTimeout(pollTimer);
    if (!running || suspended || monitor?.online === false) return;
    pollTimer = setTimeout(() => {
      pollTimer = null;
      pollBusy = guarded(poll).finally(() => {
        pollBusy = null;
        schedulePoll();
      });
    }, options.pollSeconds * 1000);
    pollTimer.unref?.();
  }

  /** Runs a session or poll step and turns its failures into state: offline, signed out, cursor reset. */
  async function guarded(step: () => Promise<unknown>): Promise<void> {
    try {
      await step();
    } catch (error) {
      if (error instanceof CursorResetError) {
        log('info', 'cursor reset by the platform: starting a new session');
        state().setCursor(null);
        return runSession();
      }
      if (isSignedOut(error)) return signedOut(error);
      if (error instanceof ClientOutdatedError) {
        status.update({
          phase: 'needs-attention',
          notice: { code: 'client_outdated', text: NOTICE_TEXT.client_outdated },
        });
        log('error', error.message);
        return stop();
      }
      if (error instanceof OfflineError) return goOffline(error.message);
      const message = error instanceof Error ? error.message : String(error);
      log('error', `sync failed: ${message}`);
      status.update({ lastError: message });
    }
  }

  async function runSession(): Promise<void> {
    if (sessionBusy) return sessionBusy;
    sessionBusy = guarded(() => session()).finally(() => {
      sessionBusy = null;
    });
    await sessionBusy;
    const missed = [...eventsDuringSession];
    eventsDuringSession.clear();
    for (const localPath of missed) void onLocalPath(localPath);
  }

  function goOffline(reason: string): void {
    monitor?.reportNetworkFailure(new Error(reason));
  }

  function startMonitor(): OnlineMonitor {
    const m = createOnlineMonitor({
      probe: () => api.health(),
      intervalMs: (options.probeSeconds ?? 3) * 1000,
      log: (level, line) => log(level, line),
    });
    m.on('offline', (reason) => {
      log('warn', `offline: ${reason}`);
      if (pollTimer) clearTimeout(pollTimer);
      pollTimer = null;
      status.update({ phase: 'offline' });
    });
    m.on('online', () => {
      log('info', 'online again: starting a new session');
      status.update({ phase: 'syncing' });
      void runSession().then(schedulePoll);
    });
    return m;
  }

  async function open(dryRun = false): Promise<void> {
    if (dryRun) {
      // A dry run changes nothing on either side: it checks the folder's account instead of binding it.
      const bound = await readFolderAccount(folder);
      if (bound !== null && bound !== options.accountId) {
        throw new SyncFolderError(
          'bound_to_other_account',
          `"${folder}" is synced with another Hyperclay account; choose an empty folder or another folder for this account.`,
        );
      }
    } else {
      await bindFolder(folder, options.accountId);
    }
    rules = createFolderRules(folder);
    caseInsensitive = await detectCaseInsensitive(folder);
    store ??= await openStateStore(options.stateFile);
  }

  async function start(): Promise<void> {
    if (running) return;
    await open();
    running = true;
    status.update({ phase: 'syncing', folder, lastError: null });
    monitor = startMonitor();
    // The first session runs before the watcher: chokidar re-reads a whole folder each time a file appears in it,
    // which made a bulk download into a watched folder several times slower than the download itself.
    await runSession();
    if (!running) return;
    watcher = watchFolder(folder, {
      isIgnored: (localPath, isFolder) => rules.isIgnored(localPath, isFolder) && localPath !== '.syncignore',
      onEvent: (event) => onWatchEvent(event),
      onError: (error) => log('error', `watcher: ${error.message}`),
    });
    await watcher.ready;
    await catchUp();
    schedulePoll();
  }

  /**
   * After a session that ran without the watcher: every path that changed on disk meanwhile (new, gone, or a
   * size or mtime other than the agreed one) is handled like a watcher event. Stat only; hashing is left to
   * the paths that moved.
   */
  async function catchUp(): Promise<void> {
    const seen = new Set<string>();
    const moved: string[] = [];
    const walk = async (relDir: string): Promise<void> => {
      let entries: Dirent[];
      try {
        entries = await readdir(relDir === '' ? folder : join(folder, relDir), { withFileTypes: true });
      } catch {
        return; // gone meanwhile: its parent's listing no longer has it
      }
      for (const dirent of entries) {
        const rel = relDir === '' ? dirent.name : `${relDir}/${dirent.name}`;
        const isFolder = dirent.isDirectory();
        if (rules.isIgnored(rel, isFolder)) continue;
        seen.add(rel);
        const key = keyOfPath.get(rel);
        if (isFolder) {
          if (key === undefined) moved.push(rel);
          await walk(rel);
          continue;
        }
        const record = key === undefined ? undefined : store?.get(key);
        if (!record || record.localPath !== rel || !dirent.isFile()) {
          moved.push(rel);
          continue;
        }
        const info = await lstat(join(folder, rel)).catch(() => null);
        if (!info || info.size !== record.size || info.mtimeMs !== record.mtimeMs) moved.push(rel);
      }
    };
    await walk('');
    for (const rel of keyOfPath.keys()) if (!seen.has(rel)) moved.push(rel);
    if (moved.length > 0) log('info', `${moved.length} paths changed on disk during the session: reconciling them`);
    await Promise.all(moved.map((rel) => onLocalPath(rel)));
  }

  async function stop(): Promise<void> {
    if (!running && !store) return;
    running = false;
    if (pollTimer) clearTimeout(pollTimer);
    pollTimer = null;
    monitor?.stop();
    monitor = null;
    await watcher?.close();
    watcher = null;
    for (const timer of lookAgain.values()) clearTimeout(timer);
    lookAgain.clear();
    await Promise.allSettled([sessionBusy, pollBusy]);
    await allIdle();
    const s = store;
    store = null;
    await s?.close();
    if (status.current.phase !== 'signed-out') status.update({ phase: 'off', pending: 0 });
    log('info', 'sync stopped');
  }

  return {
    start,
    stop,
    idle: allIdle,
    setOsOnline(online) {
      monitor?.setOsOnline(online);
    },
    suspend() {
      suspended = true;
      if (pollTimer) clearTimeout(pollTimer);
      pollTimer = null;
      log('info', 'system suspended: polling paused');
    },
    resume() {
      if (!suspended) return;
      suspended = false;
      log('info', 'system resumed: starting a new session');
      if (running) void runSession().then(schedulePoll);
    },
    async syncOnce(once = {}) {
      await open(once.dryRun === true);
      allowDeletes = once.allowDeletes === true;
      running = !once.dryRun;
      try {
        return await session(once.dryRun === true);
      } finally {
        running = false;
        await allIdle();
        const s = store;
        store = null;
        await s?.close();
      }
    },
  };
}

/** Refusals that are final for this content: log and skip until the entry changes. */
function isFinalRefusal(code: string): boolean {
  return ['path_conflict', 'name_taken', 'too_large', 'invalid_name', 'invalid_path', 'bad_request'].includes(code);
}

function phaseOf(action: Action): string {
  switch (action.type) {
    case 'skip':
    case 'record':
    case 'rememberDelete':
    case 'forget':
      return 'state';
    case 'createFolder':
    case 'makeLocalFolder':
      return `folder:${action.localPath.split('/').length}`;
    case 'push':
    case 'pull':
      return 'transfer';
    case 'removeLocal':
      return 'remove';
    case 'removeLocalFolder':
      return `removeFolder:${action.localPath.split('/').length}`;
    case 'hold':
      return 'hold';
  }
}
