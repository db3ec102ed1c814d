// The PostgreSQL SyncStorage: entries, backups, the change feed and sessions in PostgreSQL, content in a BlobStore
// (S3). Stateless: any number of processes can serve one database. It reads the write decision's snapshot under
// the account's row lock and applies its outcome.

import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { checkPath, type Entry, type EntryKind } from '../../protocol/index.js';
import {
  ancestorsOf,
  folderChain,
  planDelete,
  planFolder,
  planWrite,
  type Usage,
  type WritePlan,
  type WriteSnapshot,
} from '../sync/decide.js';
import type { SyncStorage, WriteContent, WriteFileRequest, WriteFileResult, WriteOutcome } from '../types.js';
import {
  DAY_MS,
  listingPage,
  listingStart,
  SESSION_TOUCH_MS,
  StorageError,
  sessionTouchThrottle,
  toEntry,
  toVersionInfo,
} from './common.js';
import { GroupCommit } from './group-commit.js';
import {
  type AccountRow,
  type EntryRow,
  isUniqueViolation,
  type Num,
  named,
  type PostgresConnection,
  type Queryable,
  transaction,
  type VersionRow,
} from './postgres-db.js';
import { announceChange, ChangeNotifier } from './postgres-notify.js';
import { openMigratedPool } from './postgres-schema.js';
import { buildSearchIndex, putSearchDocument, removeSearchDocument, searchFiles } from './postgres-search.js';
import { isStorageUnavailable } from './unavailable.js';
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

export { openPostgresAuthStore, type PostgresAuthStoreOptions } from './postgres-auth.js';
export type { PostgresConnection } from './postgres-db.js';
export { migratePostgres } from './postgres-schema.js';

/** Immutable content addressed by its sha256 (the S3 implementation is in s3.ts). */
export interface BlobStore {
  /**
   * Stores `content` (in memory, or staged in a file: streamed from it) under its sha256; resolves once it is
   * durable. Storing an existing blob again is harmless.
   */
  put(sha256: string, content: WriteContent): Promise<void>;
  /** null when there is no such blob. */
  get(sha256: string): Promise<Buffer | null>;
  head(sha256: string): Promise<{ size: number } | null>;
  delete(sha256: string): Promise<void>;
  close?(): Promise<void>;
}

export type PostgresStorageOptions = PostgresConnection & {
  blobs: BlobStore;
  /** How long tombstones stay in the feed; a cursor from before the newest purged one is reset. Default 30 days. */
  tombstoneHorizonMs?: number;
  /** The clock, in ms; tests move it. Default Date.now. */
  now?: () => number;
  /** How often this process purges tombstones past the horizon; 0 turns the timer off. Default 1 hour. */
  purgeEveryMs?: number;
  /** Long-poll wake-ups across processes with LISTEN/NOTIFY; default true. */
  notifications?: boolean;
  /** One line per event (no secrets); default nothing. */
  log?: (line: string) => void;
};

export interface PostgresStorage extends SyncStorage {
  readonly pool: pg.Pool;
  /** Drops tombstones older than the horizon now; returns how many. Runs on open and on a timer too. */
  purgeTombstones(): Promise<number>;
  /** Resolves once the files stored before the search index existed are indexed (how many); 0 when none were. */
  readonly searchIndexBuilt: Promise<number>;
}

export async function openPostgresStorage(options: PostgresStorageOptions): Promise<PostgresStorage> {
  const log = options.log ?? (() => {});
  const { pool, owned } = await openMigratedPool(options, log);
  const storage = new PostgresSyncStorage(pool, owned, log, options);
  await storage.startPurging(options.purgeEveryMs ?? 60 * 60 * 1000);
  const read = (row: EntryRow) => storage.readBlob(row.sha256 ?? '', row.path);
  storage.searchIndexBuilt = buildSearchIndex(pool, read, log, () => storage.closed).catch((error: Error) => {
    log(`search index: building it failed: ${error.message}`);
    return 0;
  });
  return storage;
}

type FolderResult = Awaited<ReturnType<SyncStorage['createFolder']>>;

/** Group flushes under way at once: each is one transaction on its own pooled connection. */
const FLUSH_CONCURRENCY = 4;

/**
 * The SyncStorage methods are own properties (arrow functions), so a caller can copy or wrap the storage as a
 * plain object (`{ ...storage }`). Every write transaction first takes the account's row lock (lockAccount). File
 * writes that arrive together share one transaction and one COMMIT (group commit), each in its own savepoint.
 */
class PostgresSyncStorage implements PostgresStorage {
  readonly subscribe: SyncStorage['subscribe'];
  searchIndexBuilt: Promise<number> = Promise.resolve(0);
  closed = false;
  private readonly blobs: BlobStore;
  private readonly now: () => number;
  private readonly horizonMs: number;
  private readonly notifier: ChangeNotifier | null;
  /** Whether this process's write of a session's last-seen time is due (a throttle, not shared state). */
  private readonly touchDue = sessionTouchThrottle();
  private timer: NodeJS.Timeout | null = null;
  private readonly group = new GroupCommit<StoredWrite, WriteOutcome>((requests) => this.flushGroup(requests), {
    concurrency: FLUSH_CONCURRENCY,
  });
  private readonly phases: GroupPhases = {
    decide: (request) => this.decide(request),
    // Content first: metadata committed below never points at content the object store does not have.
    storeContent: (request) => this.blobs.put(request.sha256, request.content),
    commit: (requests) => this.group.submit(requests),
  };

  constructor(
    readonly pool: pg.Pool,
    private readonly ownsPool: boolean,
    private readonly log: (line: string) => void,
    options: PostgresStorageOptions,
  ) {
    this.blobs = options.blobs;
    this.now = options.now ?? Date.now;
    this.horizonMs = options.tombstoneHorizonMs ?? 30 * DAY_MS;
    const notifier = options.notifications === false ? null : new ChangeNotifier(pool, log);
    this.notifier = notifier;
    this.subscribe = notifier ? (accountId, listener) => notifier.subscribe(accountId, listener) : undefined;
  }

  /** Purges now, then every `everyMs` (0: only now). A purge that fails is logged and retried by the timer. */
  async startPurging(everyMs: number): Promise<void> {
    await this.purgeOrLog();
    if (everyMs <= 0) return;
    this.timer = setInterval(() => void this.purgeOrLog(), everyMs);
    this.timer.unref();
  }

  readonly purgeTombstones = async (): Promise<number> => {
    const before = this.now() - this.horizonMs;
    const { rows } = await this.pool.query<{ account_id: string }>(named('expiredAccounts', [before]));
    let purged = 0;
    for (const { account_id: accountId } of rows) {
      purged += await transaction(this.pool, (client) => this.purgeAccount(client, accountId, before));
    }
    return purged;
  };

  readonly writeFile: SyncStorage['writeFile'] = (request) => writeOne(request, this.phases);

  readonly writeFiles: SyncStorage['writeFiles'] = (requests) => writeGroup(requests, this.phases);

  readonly fileEntries: SyncStorage['fileEntries'] = async (accountId, files) => {
    if (files.length === 0) return [];
    const kinds = files.map((file) => file.kind);
    const keys = files.map((file) => file.key);
    const { rows } = await this.pool.query<EntryRow>(named('liveFiles', [accountId, kinds, keys]));
    const live = new Map(rows.map((row) => [`${row.kind}\n${row.key}`, row]));
    return files.map((file) => {
      const row = live.get(`${file.kind}\n${file.key}`);
      return row && row.sha256 !== null ? toEntry(row) : null;
    });
  };

  readonly readFile: SyncStorage['readFile'] = async (accountId, file) => {
    const row = await this.entryRow(this.pool, accountId, file.kind, file.key);
    if (!row || row.deleted || row.sha256 === null) return null;
    return { entry: toEntry(row), content: await this.readBlob(row.sha256, row.path) };
  };

  readonly createFolder: SyncStorage['createFolder'] = async (accountId, path) => {
    const checked = checkPath(path, 'folder');
    if (!checked.ok) throw new StorageError('bad_write', `refused a folder with a bad path: ${checked.message}`);
    return transaction(this.pool, (client) => this.createFolders(client, accountId, checked.value));
  };

  readonly deleteEntry: SyncStorage['deleteEntry'] = (accountId, kind, key) =>
    transaction(this.pool, (client) => this.deleteNow(client, accountId, kind, key));

  readonly versions: SyncStorage['versions'] = async (accountId, file) => {
    const { rows } = await this.pool.query<VersionRow>(named('versions', [accountId, file.kind, file.key]));
    if (rows.length === 0 && !(await this.entryRow(this.pool, accountId, file.kind, file.key))) return null;
    return rows.map(toVersionInfo);
  };

  readonly deletedSites: SyncStorage['deletedSites'] = async (accountId, limit) => {
    const { rows } = await this.pool.query<EntryRow>(named('deletedSites', [accountId, limit]));
    return rows.map(toEntry);
  };

  readonly readVersion: SyncStorage['readVersion'] = async (accountId, file, version) => {
    const { rows } = await this.pool.query<VersionRow>(named('version', [accountId, file.kind, file.key, version]));
    if (rows[0]) return this.readBlob(rows[0].sha256, `${file.key} v${version}`);
    const current = await this.entryRow(this.pool, accountId, file.kind, file.key);
    if (current && !current.deleted && current.version === version && current.sha256 !== null) {
      return this.readBlob(current.sha256, `${file.key} v${version}`);
    }
    return null;
  };

  readonly listing: SyncStorage['listing'] = async (accountId, continuation, limit) => {
    const account = await this.readAccount(this.pool, accountId);
    const start = listingStart(continuation, { seq: Number(account.seq), purgedSeq: Number(account.purged_seq) });
    if (!start) return null;
    const { rows } = await this.pool.query<EntryRow>(named('listing', [accountId, start.afterPath, limit + 1]));
    return listingPage(rows, limit, start.head);
  };

  readonly changesSince: SyncStorage['changesSince'] = async (accountId, afterSeq, limit) => {
    const { rows } = await this.pool.query<EntryRow & { head: Num; purged_seq: Num }>(
      named('changes', [accountId, afterSeq, limit]),
    );
    // An account that never wrote has an empty feed at 0.
    const head = rows[0] ? Number(rows[0].head) : 0;
    const purged = rows[0] ? Number(rows[0].purged_seq) : 0;
    if (afterSeq < purged || afterSeq > head) return null;
    return { entries: rows.filter((row) => row.kind !== null).map(toEntry), head };
  };

  readonly siteOwner: SyncStorage['siteOwner'] = async (name) => {
    const { rows } = await this.pool.query<{ account_id: string }>(named('siteOwner', [name]));
    return rows[0]?.account_id ?? null;
  };

  readonly usage: SyncStorage['usage'] = async (accountId) => {
    const row = await this.readAccount(this.pool, accountId);
    return { sites: row.sites, storageBytes: Number(row.storage_bytes) };
  };

  readonly search: SyncStorage['search'] = (accountId, query, limit) => searchFiles(this.pool, accountId, query, limit);

  readonly createSession: SyncStorage['createSession'] = async (accountId, deviceName, clientVersion) => {
    const id = randomUUID();
    await this.pool.query(named('createSession', [id, accountId, deviceName, clientVersion, this.now()]));
    return id;
  };

  readonly touchSession: SyncStorage['touchSession'] = async (accountId, sessionId) => {
    const stamp = this.now();
    if (!this.touchDue(accountId, sessionId, stamp)) return;
    await this.pool.query(named('touchSession', [stamp, sessionId, accountId, stamp - SESSION_TOUCH_MS]));
  };

  readonly close = async (): Promise<void> => {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.notifier?.close();
    await this.blobs.close?.();
    if (this.ownsPool) await this.pool.end();
  };

  /**
   * One group in one transaction. With several accounts in it, their row locks are taken first in one order, so
   * two groups never wait on each other crosswise.
   */
  private async flushGroup(requests: StoredWrite[]): Promise<WriteOutcome[]> {
    const guarded = requests.length > 1;
    try {
      return await transaction(this.pool, async (client) => {
        const accounts = [...new Set(requests.map((request) => request.accountId))].sort();
        if (accounts.length > 1) for (const id of accounts) await client.query(named('lockAccount', [id]));
        const outcomes: WriteOutcome[] = [];
        for (const request of requests) {
          outcomes.push(guarded ? await this.commitGuarded(client, request) : await this.commitOk(client, request));
        }
        return outcomes;
      });
    } catch (error) {
      // A write alone: another account took the name between the decision and the commit.
      if (!guarded && isUniqueViolation(error, 'sync_entries_live_site')) {
        return [{ ok: true, result: { outcome: 'name_taken' } }];
      }
      throw error;
    }
  }

  private async commitOk(client: pg.PoolClient, request: StoredWrite): Promise<WriteOutcome> {
    return { ok: true, result: await this.commit(client, request) };
  }

  /** One write of a group in a savepoint: its failure (a name taken meanwhile, a backup) undoes only itself. */
  private async commitGuarded(client: pg.PoolClient, request: StoredWrite): Promise<WriteOutcome> {
    await client.query('SAVEPOINT sync_write');
    try {
      const outcome = await this.commitOk(client, request);
      await client.query('RELEASE SAVEPOINT sync_write');
      return outcome;
    } catch (error) {
      await client.query('ROLLBACK TO SAVEPOINT sync_write');
      if (isUniqueViolation(error, 'sync_entries_live_site')) return { ok: true, result: { outcome: 'name_taken' } };
      return { ok: false, error: error as Error };
    }
  }

  /** The write decision without a lock: whether the write will be saved, so its content must be stored first. */
  private async decide(request: WriteFileRequest): Promise<Commit> {
    const account = await this.readAccount(this.pool, request.accountId);
    const { plan, row } = await this.plan(this.pool, request, account);
    return isSave(plan) ? { outcome: 'needs_content' } : unsavedAnswer(plan, row);
  }

  /** Under the account's row lock: the write decision on what the previous writer committed, and its outcome. */
  private async commit(client: pg.PoolClient, request: StoredWrite): Promise<WriteFileResult> {
    const account = (await client.query<AccountRow>(named('lockAccount', [request.accountId]))).rows[0]!;
    const { plan, row } = await this.plan(client, request, account);
    return isSave(plan) ? this.save(client, request, plan, row) : unsavedAnswer(plan, row);
  }

  private async plan(
    db: Queryable,
    request: WriteFileRequest,
    account: AccountRow,
  ): Promise<{ plan: WritePlan; row: EntryRow | null }> {
    const { accountId, kind, key, path } = request;
    const read = await db.query<EntryRow & { last_kept_version: number | null }>(
      named('entryForWrite', [accountId, kind, key]),
    );
    const found = read.rows[0]!;
    const row = found.kind === null ? null : found;
    const owner = kind === 'site' ? await db.query<{ account_id: string }>(named('siteOwner', [key])) : null;
    // A file at `path` is blocked by anything live at it, a file above it, or anything below it.
    const blocked =
      !row || row.deleted
        ? await db.query(named('pathBlocked', [accountId, path, ancestorsOf(path), `${path}/`, `${path}0`]))
        : null;
    const snapshot: WriteSnapshot = {
      entry: row && fileState(row),
      siteOwner: owner?.rows[0]?.account_id ?? null,
      pathBlocked: (blocked?.rows.length ?? 0) > 0,
      usage: { sites: account.sites, storageBytes: Number(account.storage_bytes) },
      lastKeptVersion: found.last_kept_version ?? 0,
    };
    return { plan: planWrite(snapshot, request, this.now()), row };
  }

  private async save(
    client: pg.PoolClient,
    request: StoredWrite,
    plan: SavePlan,
    row: EntryRow | null,
  ): Promise<WriteFileResult> {
    const { accountId, kind, key } = request;
    if (plan.keepBackup) await this.keepBackup(client, row!);
    const seq = await this.nextSeq(client, accountId);
    const { path, size, sha256, version, updatedAtMs } = plan.file;
    const saved = await client.query<EntryRow>(
      named('upsert', [accountId, kind, key, path, size, sha256, version, updatedAtMs, seq]),
    );
    await putSearchDocument(client, request, request.search);
    await this.addUsage(client, accountId, plan.usageChange);
    await this.announce(client, accountId);
    return { outcome: plan.outcome, entry: toEntry(saved.rows[0]!) };
  }

  private async createFolders(client: pg.PoolClient, accountId: string, path: string): Promise<FolderResult> {
    await client.query(named('lockAccount', [accountId]));
    const { rows } = await client.query<EntryRow>(named('liveAtPaths', [accountId, folderChain(path)]));
    const plan = planFolder(path, rows, this.now());
    if (plan.outcome === 'path_conflict') return { outcome: 'path_conflict' };
    let entry = rows.find((row) => row.path === path);
    for (const folder of plan.missing) {
      const seq = await this.nextSeq(client, accountId);
      const saved = await client.query<EntryRow>(
        named('upsert', [accountId, 'folder', folder, folder, null, null, null, plan.updatedAtMs, seq]),
      );
      if (folder === path) entry = saved.rows[0];
    }
    if (plan.outcome === 'created') await this.announce(client, accountId);
    return { outcome: plan.outcome, entry: toEntry(entry!) };
  }

  private async deleteNow(
    client: pg.PoolClient,
    accountId: string,
    kind: EntryKind,
    key: string,
  ): Promise<Entry | null> {
    await client.query(named('lockAccount', [accountId]));
    const row = await this.entryRow(client, accountId, kind, key);
    const plan = planDelete(kind, row && fileState(row), this.now());
    if (plan.outcome === 'absent') return null;
    if (plan.keepBackup) await this.keepBackup(client, row!);
    const seq = await this.nextSeq(client, accountId);
    const marked = await client.query<EntryRow>(named('markDeleted', [plan.updatedAtMs, seq, accountId, kind, key]));
    await removeSearchDocument(client, accountId, kind, key);
    await this.addUsage(client, accountId, plan.usageChange);
    await this.announce(client, accountId);
    return toEntry(marked.rows[0]!);
  }

  /** The account's row lock first, as every writer takes it: a purge never deadlocks with a write. */
  private async purgeAccount(client: pg.PoolClient, accountId: string, before: number): Promise<number> {
    await client.query(named('lockAccountRow', [accountId]));
    const gone = await client.query<{ seq: Num }>(named('purge', [accountId, before]));
    if (gone.rows.length === 0) return 0;
    const top = gone.rows.reduce((max, row) => Math.max(max, Number(row.seq)), 0);
    await client.query(named('setPurged', [top, accountId]));
    return gone.rows.length;
  }

  /** A purge that fails must not keep the storage from opening; the timer tries again. */
  private async purgeOrLog(): Promise<void> {
    await this.purgeTombstones().catch((error: Error) => {
      this.log(`postgres storage: tombstone purge failed: ${error.message}`);
    });
  }

  /** Keeps the content being replaced or removed as a backup; throws (failing the whole step) when it cannot. */
  private async keepBackup(client: pg.PoolClient, row: EntryRow): Promise<void> {
    const kept = versionToKeep(row);
    const present = await this.blobs.head(kept.sha256).catch((error: Error) => {
      // The store being down is not a missing backup: the write is answered 503 and retried.
      if (isStorageUnavailable(error)) throw error;
      throw new StorageError(
        'backup_failed',
        `the object store could not confirm ${row.path}'s content: ${error.message}`,
      );
    });
    if (present === null) throw backupContentMissing(row);
    const { account_id, kind, key, version, size, sha256, updated_at_ms } = kept;
    await client.query(named('keepVersion', [account_id, kind, key, version, size, sha256, updated_at_ms]));
  }

  private async announce(client: pg.PoolClient, accountId: string): Promise<void> {
    if (this.notifier) await announceChange(client, accountId);
  }

  private async readAccount(db: Queryable, accountId: string): Promise<AccountRow> {
    const { rows } = await db.query<AccountRow>(named('account', [accountId]));
    return rows[0] ?? { seq: 0, purged_seq: 0, sites: 0, storage_bytes: 0 };
  }

  private async entryRow(db: Queryable, accountId: string, kind: string, key: string): Promise<EntryRow | null> {
    const { rows } = await db.query<EntryRow>(named('entry', [accountId, kind, key]));
    return rows[0] ?? null;
  }

  /** Taken under the account's row lock, so seq N commits before N+1 is taken (no gaps, no reordering). */
  private async nextSeq(client: pg.PoolClient, accountId: string): Promise<number> {
    const { rows } = await client.query<{ seq: Num }>(named('bumpSeq', [accountId]));
    return Number(rows[0]!.seq);
  }

  private async addUsage(client: pg.PoolClient, accountId: string, change: Usage): Promise<void> {
    await client.query(named('addUsage', [change.sites, change.storageBytes, accountId]));
  }

  async readBlob(sha256: string, what: string): Promise<Buffer> {
    const content = await this.blobs.get(sha256);
    if (content === null) throw new StorageError('content_missing', `the stored content of ${what} is missing`);
    return content;
  }
}
