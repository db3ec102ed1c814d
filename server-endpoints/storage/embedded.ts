// The embedded SyncStorage: SQLite (embedded-schema.ts) for entries, backups, the change feed and sessions, content
// files on disk (embedded-blobs.ts). It reads the write decision's snapshot and applies its outcome.

import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { checkPath, type Entry, type EntryKind } from '../../protocol/index.js';
import {
  ancestorsOf,
  folderChain,
  planDelete,
  planFolder,
  planWrite,
  type Usage,
  type WriteSnapshot,
} from '../sync/decide.js';
import type { ListingPage, SyncStorage, WriteFileRequest, WriteFileResult, WriteOutcome } from '../types.js';
import {
  ChangeListeners,
  DAY_MS,
  listingPage,
  listingStart,
  SESSION_TOUCH_MS,
  StorageError,
  sessionTouchThrottle,
  toEntry,
  toVersionInfo,
} from './common.js';
import { BlobFiles } from './embedded-blobs.js';
import { type AccountRow, type EntryRow, openDatabase, prepareStatements, type Statements } from './embedded-schema.js';
import { SearchIndex } from './embedded-search.js';
import { GroupCommit } from './group-commit.js';
import {
  backupContentMissing,
  type Commit,
  fileState,
  type GroupPhases,
  isSave,
  type SavePlan,
  type StoredWrite,
  unsavedAnswer,
  versionToKeep,
  writeGroup,
  writeOne,
} from './writes.js';

export { StorageError } from './common.js';

export interface EmbeddedStorageOptions {
  /** The data folder: `sync.sqlite` and `blobs/` live in it. Created when missing. */
  dir: string;
  /** How long tombstones stay in the feed; a cursor from before the oldest purged one is reset. Default 30 days. */
  tombstoneHorizonMs?: number;
  /** The clock, in ms; tests move it. Default Date.now. */
  now?: () => number;
  /** How often tombstones past the horizon are purged while open; 0 turns the timer off. Default 1 hour. */
  purgeEveryMs?: number;
  /** One line per event (no secrets): the search index built on open. Default nothing. */
  log?: (line: string) => void;
}

export interface EmbeddedStorage extends SyncStorage {
  readonly dir: string;
  /** Drops tombstones older than the horizon now; returns how many. Runs on open and on a timer too. */
  purgeTombstones(): number;
  /** Resolves once the files stored before the search index existed are indexed (how many); 0 when none were. */
  readonly searchIndexBuilt: Promise<number>;
}

export function openEmbeddedStorage(options: EmbeddedStorageOptions): EmbeddedStorage {
  return new EmbeddedSyncStorage(options);
}

type FolderResult = Awaited<ReturnType<SyncStorage['createFolder']>>;

/**
 * The SyncStorage methods are own properties (arrow functions), so a caller can copy or wrap the storage as a
 * plain object (`{ ...storage }`). Every write runs in an IMMEDIATE transaction: a deferred one upgraded under
 * another process's write would fail, not wait. File writes that arrive together share one (group commit): each in
 * its own savepoint, one fsync of the WAL for all of them (synchronous = FULL).
 */
class EmbeddedSyncStorage implements EmbeddedStorage {
  readonly dir: string;
  readonly stagingDir: string;
  private readonly now: () => number;
  private readonly horizonMs: number;
  private readonly blobs: BlobFiles;
  private readonly db: Database.Database;
  private readonly q: Statements;
  private readonly listeners = new ChangeListeners();
  /** Whether this instance's write of a session's last-seen time is due. */
  private readonly touchDue = sessionTouchThrottle();
  private readonly timer: NodeJS.Timeout | null;
  private readonly searchIndex: SearchIndex;
  readonly searchIndexBuilt: Promise<number>;
  /** One write inside a group's transaction: a savepoint, so its failure undoes only itself. */
  private readonly itemTx: Database.Transaction<(request: StoredWrite) => Commit>;
  private readonly groupTx: Database.Transaction<(requests: StoredWrite[]) => WriteOutcome[]>;
  private readonly group: GroupCommit<StoredWrite, WriteOutcome>;
  private readonly phases: GroupPhases;
  private readonly createFolderTx: Database.Transaction<(accountId: string, path: string) => FolderResult>;
  private readonly deleteTx: Database.Transaction<(accountId: string, kind: EntryKind, key: string) => Entry | null>;
  private readonly purgeTx: Database.Transaction<(before: number) => number>;
  /** A read transaction: the noted head and the page agree. */
  private readonly listingTx: Database.Transaction<
    (accountId: string, continuation: string | null, limit: number) => ListingPage | null
  >;

  constructor(options: EmbeddedStorageOptions) {
    this.dir = options.dir;
    this.now = options.now ?? Date.now;
    this.horizonMs = options.tombstoneHorizonMs ?? 30 * DAY_MS;
    this.blobs = new BlobFiles(this.dir, this.now());
    this.stagingDir = this.blobs.stagingDir;
    this.db = openDatabase(this.dir);
    this.q = prepareStatements(this.db);
    this.searchIndex = new SearchIndex(this.db);
    this.itemTx = this.db.transaction((request: StoredWrite) => this.commitWrite(request, request));
    this.groupTx = this.db.transaction((requests: StoredWrite[]) => requests.map((r) => this.commitItem(r)));
    this.group = new GroupCommit((requests) => this.flushGroup(requests));
    this.phases = {
      decide: (request) => this.commitWrite(request, null),
      storeContent: (request) => this.blobs.store(request.sha256, request.content),
      commit: (requests) => this.group.submit(requests),
    };
    this.createFolderTx = this.db.transaction((accountId: string, path: string) => this.createFolders(accountId, path));
    this.deleteTx = this.db.transaction((accountId: string, kind: EntryKind, key: string) =>
      this.deleteNow(accountId, kind, key),
    );
    this.purgeTx = this.db.transaction((before: number) => this.purgeBefore(before));
    this.listingTx = this.db.transaction((accountId: string, continuation: string | null, limit: number) =>
      this.listingPage(accountId, continuation, limit),
    );
    this.purgeTombstones();
    const purgeEveryMs = options.purgeEveryMs ?? 60 * 60 * 1000;
    this.timer = purgeEveryMs > 0 ? setInterval(this.purgeTombstones, purgeEveryMs) : null;
    this.timer?.unref();
    const log = options.log ?? (() => {});
    this.searchIndexBuilt = this.searchIndex
      .build((row) => this.blobs.read(row.sha256 ?? '', row.path), log)
      .catch((error: Error) => {
        log(`search index: building it failed: ${error.message}`);
        return 0;
      });
  }

  readonly purgeTombstones = (): number => this.purgeTx.immediate(this.now() - this.horizonMs);

  readonly writeFile: SyncStorage['writeFile'] = (request) => writeOne(request, this.phases);

  readonly writeFiles: SyncStorage['writeFiles'] = (requests) => writeGroup(requests, this.phases);

  readonly fileEntries: SyncStorage['fileEntries'] = async (accountId, files) =>
    files.map((file) => {
      const row = this.q.entry.get(accountId, file.kind, file.key);
      return row && !row.deleted && row.sha256 !== null ? toEntry(row) : null;
    });

  readonly readFile: SyncStorage['readFile'] = async (accountId, file) => {
    const row = this.q.entry.get(accountId, file.kind, file.key);
    if (!row || row.deleted || row.sha256 === null) return null;
    return { entry: toEntry(row), content: await this.blobs.read(row.sha256, row.path) };
  };

  readonly createFolder: SyncStorage['createFolder'] = async (accountId, path) => {
    const checked = checkPath(path, 'folder');
    if (!checked.ok) throw new StorageError('bad_write', `refused a folder with a bad path: ${checked.message}`);
    const result = this.createFolderTx.immediate(accountId, checked.value);
    if (result.outcome === 'created') this.listeners.notify(accountId);
    return result;
  };

  readonly deleteEntry: SyncStorage['deleteEntry'] = async (accountId, kind, key) => {
    const entry = this.deleteTx.immediate(accountId, kind, key);
    if (entry) this.listeners.notify(accountId);
    return entry;
  };

  readonly versions: SyncStorage['versions'] = async (accountId, file) => {
    const rows = this.q.versions.all(accountId, file.kind, file.key);
    if (rows.length === 0 && !this.q.entry.get(accountId, file.kind, file.key)) return null;
    return rows.map(toVersionInfo);
  };

  readonly deletedSites: SyncStorage['deletedSites'] = async (accountId, limit) =>
    this.q.deletedSites.all(accountId, limit).map(toEntry);

  readonly readVersion: SyncStorage['readVersion'] = async (accountId, file, version) => {
    const row = this.q.version.get(accountId, file.kind, file.key, version);
    if (row) return this.blobs.read(row.sha256, `${file.key} v${version}`);
    const current = this.q.entry.get(accountId, file.kind, file.key);
    if (current && !current.deleted && current.version === version && current.sha256 !== null) {
      return this.blobs.read(current.sha256, `${file.key} v${version}`);
    }
    return null;
  };

  readonly listing: SyncStorage['listing'] = async (accountId, continuation, limit) =>
    this.listingTx(accountId, continuation, limit);

  /**
   * No transaction needed: the head is read first and the page stops at it, so a write committed in between
   * (by another process) is simply left for the next poll.
   */
  readonly changesSince: SyncStorage['changesSince'] = async (accountId, afterSeq, limit) => {
    const account = this.accountRow(accountId);
    if (afterSeq < account.purged_seq || afterSeq > account.seq) return null;
    return { entries: this.q.changes.all(accountId, afterSeq, account.seq, limit).map(toEntry), head: account.seq };
  };

  readonly siteOwner: SyncStorage['siteOwner'] = async (name) => this.q.siteOwner.get(name)?.account_id ?? null;

  readonly usage: SyncStorage['usage'] = async (accountId) => {
    const row = this.q.account.get(accountId);
    return { sites: row?.sites ?? 0, storageBytes: row?.storage_bytes ?? 0 };
  };

  readonly search: SyncStorage['search'] = async (accountId, query, limit) =>
    this.searchIndex.search(accountId, query, limit);

  readonly createSession: SyncStorage['createSession'] = async (accountId, deviceName, clientVersion) => {
    const id = randomUUID();
    const stamp = this.now();
    this.q.createSession.run(id, accountId, deviceName, clientVersion, stamp, stamp);
    return id;
  };

  readonly touchSession: SyncStorage['touchSession'] = async (accountId, sessionId) => {
    const stamp = this.now();
    if (!this.touchDue(accountId, sessionId, stamp)) return;
    this.q.touchSession.run(stamp, sessionId, accountId, stamp - SESSION_TOUCH_MS);
  };

  readonly subscribe = (accountId: string, listener: () => void): (() => void) =>
    this.listeners.add(accountId, listener);

  readonly close = async (): Promise<void> => {
    if (this.timer) clearInterval(this.timer);
    this.listeners.clear();
    if (this.db.open) this.db.close();
  };

  /** One group: every write in one transaction (one fsync at its commit); the long-polls are woken after it. */
  private flushGroup(requests: StoredWrite[]): WriteOutcome[] {
    const outcomes = this.groupTx.immediate(requests);
    const changed = new Set<string>();
    outcomes.forEach((outcome, index) => {
      if (outcome.ok && (outcome.result.outcome === 'created' || outcome.result.outcome === 'saved')) {
        changed.add(requests[index]!.accountId);
      }
    });
    for (const accountId of changed) this.listeners.notify(accountId);
    return outcomes;
  }

  private commitItem(request: StoredWrite): WriteOutcome {
    try {
      const result = this.itemTx(request);
      if (result.outcome === 'needs_content') throw new Error('unreachable: content was stored');
      return { ok: true, result };
    } catch (error) {
      return { ok: false, error: error as Error };
    }
  }

  /** The write decision on what is committed; with the content stored (in the write's transaction) its outcome. */
  private commitWrite(request: WriteFileRequest, stored: StoredWrite | null): Commit {
    const row = this.q.entry.get(request.accountId, request.kind, request.key) ?? null;
    const plan = planWrite(this.snapshot(request, row), request, this.now());
    if (!isSave(plan)) return unsavedAnswer(plan, row);
    if (!stored) return { outcome: 'needs_content' };
    return this.save(stored, plan, row);
  }

  private snapshot(request: WriteFileRequest, row: EntryRow | null): WriteSnapshot {
    const { accountId, kind, key } = request;
    const account = this.accountRow(accountId);
    return {
      entry: row && fileState(row),
      siteOwner: kind === 'site' ? (this.q.siteOwner.get(key)?.account_id ?? null) : null,
      pathBlocked: (!row || Boolean(row.deleted)) && this.filePathBlocked(accountId, request.path),
      usage: { sites: account.sites, storageBytes: account.storage_bytes },
      lastKeptVersion: this.q.maxVersion.get(accountId, kind, key)?.v ?? 0,
    };
  }

  private save(request: StoredWrite, plan: SavePlan, row: EntryRow | null): WriteFileResult {
    const { accountId, kind, key } = request;
    if (plan.keepBackup) this.keepBackup(row!);
    const { path, size, sha256, version, updatedAtMs } = plan.file;
    this.q.upsert.run(accountId, kind, key, path, size, sha256, version, updatedAtMs, this.nextSeq(accountId));
    this.searchIndex.put(accountId, kind, key, request.search);
    this.addUsage(accountId, plan.usageChange);
    return { outcome: plan.outcome, entry: toEntry(this.q.entry.get(accountId, kind, key)!) };
  }

  private createFolders(accountId: string, path: string): FolderResult {
    const live = folderChain(path).flatMap((folder) => this.q.liveAtPath.get(accountId, folder) ?? []);
    const plan = planFolder(path, live, this.now());
    if (plan.outcome === 'path_conflict') return { outcome: 'path_conflict' };
    for (const folder of plan.missing) {
      const seq = this.nextSeq(accountId);
      this.q.upsert.run(accountId, 'folder', folder, folder, null, null, null, plan.updatedAtMs, seq);
    }
    return { outcome: plan.outcome, entry: toEntry(this.q.entry.get(accountId, 'folder', path)!) };
  }

  private deleteNow(accountId: string, kind: EntryKind, key: string): Entry | null {
    const row = this.q.entry.get(accountId, kind, key) ?? null;
    const plan = planDelete(kind, row && fileState(row), this.now());
    if (plan.outcome === 'absent') return null;
    if (plan.keepBackup) this.keepBackup(row!);
    this.q.markDeleted.run(plan.updatedAtMs, this.nextSeq(accountId), accountId, kind, key);
    this.searchIndex.remove(accountId, kind, key);
    this.addUsage(accountId, plan.usageChange);
    return toEntry(this.q.entry.get(accountId, kind, key)!);
  }

  private listingPage(accountId: string, continuation: string | null, limit: number): ListingPage | null {
    const account = this.accountRow(accountId);
    const start = listingStart(continuation, { seq: account.seq, purgedSeq: account.purged_seq });
    if (!start) return null;
    return listingPage(this.q.listing.all(accountId, start.afterPath, limit + 1), limit, start.head);
  }

  private purgeBefore(before: number): number {
    let purged = 0;
    for (const { account_id, top, n } of this.q.expiredTombstones.all(before)) {
      this.q.purge.run(before, account_id);
      this.q.setPurged.run(top, account_id);
      purged += n;
    }
    return purged;
  }

  /** Keeps the content being replaced or removed as a backup; throws (failing the whole step) when it cannot. */
  private keepBackup(row: EntryRow): void {
    const kept = versionToKeep(row);
    if (!this.blobs.has(kept.sha256)) throw backupContentMissing(row);
    const { account_id, kind, key, version, size, sha256, updated_at_ms } = kept;
    this.q.keepVersion.run(account_id, kind, key, version, size, sha256, updated_at_ms);
  }

  /** Read-only: an account that never wrote has an empty feed. */
  private accountRow(accountId: string): AccountRow {
    return (
      this.q.account.get(accountId) ?? { account_id: accountId, seq: 0, purged_seq: 0, sites: 0, storage_bytes: 0 }
    );
  }

  /** Taken inside the write's transaction, so seq N+1 can never be seen committed before seq N. */
  private nextSeq(accountId: string): number {
    this.q.ensureAccount.run(accountId);
    return this.q.bumpSeq.get(accountId)!.seq;
  }

  private addUsage(accountId: string, change: Usage): void {
    this.q.addUsage.run(change.sites, change.storageBytes, accountId);
  }

  /** Whether a file at `path` is in the way of anything live: an entry at it or below it, a file above it. */
  private filePathBlocked(accountId: string, path: string): boolean {
    if (this.q.liveAtPath.get(accountId, path)) return true;
    for (const ancestor of ancestorsOf(path)) {
      const row = this.q.liveAtPath.get(accountId, ancestor);
      if (row && row.kind !== 'folder') return true;
    }
    return this.q.liveBelow.get(accountId, `${path}/`, `${path}0`) !== undefined;
  }
}
