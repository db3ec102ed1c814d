// The PostgreSQL SyncStorage and AuthStore: entries, backups, the change feed, sessions and sign-in records in
// PostgreSQL, content in a BlobStore (S3). Stateless: any number of processes can serve one database.

import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { checkPath } from '../../protocol/index.js';
import { ancestorsOf, decideWrite } from '../sync/decide.js';
import type {
  AuthCodeRecord,
  AuthStore,
  FileKey,
  StoredFile,
  SyncStorage,
  WriteFileRequest,
  WriteFileResult,
} from '../types.js';
import {
  checkRequest,
  DAY_MS,
  listingPage,
  listingStart,
  SESSION_TOUCH_MS,
  StorageError,
  type StoredEntryRow,
  type StoredVersionRow,
  sessionTouchThrottle,
  toEntry,
  toVersionInfo,
} from './common.js';

/** Immutable content addressed by its sha256 (the S3 implementation is in s3.ts). */
export interface BlobStore {
  /** Stores `content` under its sha256; resolves once it is durable. Storing an existing blob again is harmless. */
  put(sha256: string, content: Buffer): Promise<void>;
  /** null when there is no such blob. */
  get(sha256: string): Promise<Buffer | null>;
  head(sha256: string): Promise<{ size: number } | null>;
  delete(sha256: string): Promise<void>;
  close?(): Promise<void>;
}

/** A pool given by the host (left open on close) or a connection string (the pool is ours). */
export type PostgresConnection = { pool: pg.Pool } | { connectionString: string; maxConnections?: number };

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
}

const CHANNEL = 'hyperclay_sync_changes';
const SCHEMA_VERSION = 1;
/** Serialises schema creation between processes starting at once (CREATE IF NOT EXISTS alone can race). */
const SCHEMA_LOCK = 0x4879_636c; // "Hycl"

// COLLATE "C": paths order and compare by bytes, like the embedded storage, whatever the database's locale.
const SCHEMA_V1 = `
CREATE TABLE IF NOT EXISTS sync_accounts_feed (
  account_id TEXT PRIMARY KEY,
  seq BIGINT NOT NULL DEFAULT 0,
  purged_seq BIGINT NOT NULL DEFAULT 0,
  sites INTEGER NOT NULL DEFAULT 0,
  storage_bytes BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS sync_entries (
  account_id TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('site', 'upload', 'folder')),
  key TEXT COLLATE "C" NOT NULL,
  path TEXT COLLATE "C" NOT NULL,
  size BIGINT,
  sha256 TEXT,
  version INTEGER,
  updated_at_ms BIGINT NOT NULL,
  deleted BOOLEAN NOT NULL DEFAULT false,
  seq BIGINT NOT NULL,
  PRIMARY KEY (account_id, kind, key)
);
CREATE UNIQUE INDEX IF NOT EXISTS sync_entries_feed ON sync_entries (account_id, seq);
CREATE UNIQUE INDEX IF NOT EXISTS sync_entries_live_path ON sync_entries (account_id, path) WHERE NOT deleted;
CREATE UNIQUE INDEX IF NOT EXISTS sync_entries_live_site ON sync_entries (key) WHERE kind = 'site' AND NOT deleted;
CREATE INDEX IF NOT EXISTS sync_entries_tombstones ON sync_entries (updated_at_ms) WHERE deleted;
CREATE TABLE IF NOT EXISTS sync_versions (
  account_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  key TEXT COLLATE "C" NOT NULL,
  version INTEGER NOT NULL,
  size BIGINT NOT NULL,
  sha256 TEXT NOT NULL,
  updated_at_ms BIGINT NOT NULL,
  PRIMARY KEY (account_id, kind, key, version)
);
CREATE TABLE IF NOT EXISTS sync_sessions (
  session_id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL,
  device_name TEXT NOT NULL,
  client_version TEXT NOT NULL,
  created_at_ms BIGINT NOT NULL,
  last_seen_ms BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS sync_auth_codes (
  code_hash TEXT PRIMARY KEY,
  account_id TEXT NOT NULL,
  redirect_uri TEXT NOT NULL,
  code_challenge TEXT NOT NULL,
  device_name TEXT NOT NULL,
  expires_at_ms BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS sync_auth_codes_expiry ON sync_auth_codes (expires_at_ms);
CREATE TABLE IF NOT EXISTS sync_connections (
  sid TEXT PRIMARY KEY,
  account_id TEXT NOT NULL,
  device_name TEXT NOT NULL,
  created_at_ms BIGINT NOT NULL,
  revoked_at_ms BIGINT
);
CREATE INDEX IF NOT EXISTS sync_connections_account ON sync_connections (account_id);
`;

/** pg returns BIGINT as text: every numeric column is read through Number() (all stay below 2^53). */
type Num = number | string;

interface EntryRow extends StoredEntryRow {
  size: Num | null;
  updated_at_ms: Num;
  deleted: boolean;
  seq: Num;
}

interface AccountRow {
  seq: Num;
  purged_seq: Num;
  sites: number;
  storage_bytes: Num;
}

type VersionRow = StoredVersionRow;

type Queryable = pg.Pool | pg.PoolClient;
type Commit = WriteFileResult | { outcome: 'needs_content' };

function openPool(connection: PostgresConnection, log: (line: string) => void): { pool: pg.Pool; owned: boolean } {
  if ('pool' in connection) return { pool: connection.pool, owned: false };
  const pool = new pg.Pool({ connectionString: connection.connectionString, max: connection.maxConnections ?? 10 });
  // An idle client losing its server emits here (unhandled, it would end the process); the pool drops that
  // client and the next query opens a new one.
  pool.on('error', (error) => log(`postgres: an idle connection failed: ${error.message}`));
  return { pool, owned: true };
}

/** Creates the tables once per database (idempotent, safe with several processes starting together). */
export async function migratePostgres(pool: pg.Pool): Promise<void> {
  await transaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS sync_schema (version INTEGER NOT NULL)');
    const { rows } = await client.query<{ version: number }>('SELECT MAX(version) AS version FROM sync_schema');
    const current = rows[0]?.version ?? 0;
    if (current > SCHEMA_VERSION) {
      throw new Error(
        `The database's sync schema is version ${current}, newer than this server's ${SCHEMA_VERSION}: update the server.`,
      );
    }
    if (current < 1) {
      await client.query(SCHEMA_V1);
      await client.query('INSERT INTO sync_schema (version) VALUES (1)');
    }
  });
}

async function transaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    // Whatever the database's default: the account row lock relies on each statement seeing the latest commits.
    await client.query('BEGIN ISOLATION LEVEL READ COMMITTED');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: Error) => {
      // A client that cannot roll back is not returned to the pool.
      broken = rollbackError;
    });
    throw error;
  } finally {
    client.release(broken);
  }
}

function isUniqueViolation(error: unknown, constraint: string): boolean {
  const e = error as { code?: string; constraint?: string };
  return e.code === '23505' && e.constraint === constraint;
}

const SQL = {
  account: 'SELECT seq, purged_seq, sites, storage_bytes FROM sync_accounts_feed WHERE account_id = $1',
  // Takes the account's row lock for the rest of the transaction: one writer per account at a time, so the
  // write decision reads what the previous writer committed, and seq N commits before N+1 is taken.
  lockAccount: `INSERT INTO sync_accounts_feed (account_id) VALUES ($1)
    ON CONFLICT (account_id) DO UPDATE SET account_id = EXCLUDED.account_id
    RETURNING seq, purged_seq, sites, storage_bytes`,
  bumpSeq: 'UPDATE sync_accounts_feed SET seq = seq + 1 WHERE account_id = $1 RETURNING seq',
  addUsage:
    'UPDATE sync_accounts_feed SET sites = sites + $1, storage_bytes = storage_bytes + $2 WHERE account_id = $3',
  entry: 'SELECT * FROM sync_entries WHERE account_id = $1 AND kind = $2 AND key = $3',
  siteOwner: "SELECT account_id FROM sync_entries WHERE kind = 'site' AND key = $1 AND NOT deleted",
  // A file at `path` is blocked by anything live at it, a file above it, or anything below it.
  pathBlocked: `SELECT 1 FROM sync_entries WHERE account_id = $1 AND NOT deleted AND (
      path = $2 OR (path = ANY($3::text[]) AND kind <> 'folder') OR (path > $4 AND path < $5)) LIMIT 1`,
  liveAtPaths: 'SELECT * FROM sync_entries WHERE account_id = $1 AND NOT deleted AND path = ANY($2::text[])',
  upsert: `INSERT INTO sync_entries (account_id, kind, key, path, size, sha256, version, updated_at_ms, deleted, seq)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, false, $9)
    ON CONFLICT (account_id, kind, key) DO UPDATE SET path = EXCLUDED.path, size = EXCLUDED.size,
      sha256 = EXCLUDED.sha256, version = EXCLUDED.version, updated_at_ms = EXCLUDED.updated_at_ms,
      deleted = false, seq = EXCLUDED.seq
    RETURNING *`,
  markDeleted: `UPDATE sync_entries SET deleted = true, updated_at_ms = $1, seq = $2
    WHERE account_id = $3 AND kind = $4 AND key = $5 RETURNING *`,
  keepVersion: `INSERT INTO sync_versions (account_id, kind, key, version, size, sha256, updated_at_ms)
    VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
  maxVersion: 'SELECT MAX(version) AS v FROM sync_versions WHERE account_id = $1 AND kind = $2 AND key = $3',
  versions: `SELECT version, size, sha256, updated_at_ms FROM sync_versions
    WHERE account_id = $1 AND kind = $2 AND key = $3 ORDER BY version`,
  version: `SELECT version, size, sha256, updated_at_ms FROM sync_versions
    WHERE account_id = $1 AND kind = $2 AND key = $3 AND version = $4`,
  listing: 'SELECT * FROM sync_entries WHERE account_id = $1 AND NOT deleted AND path > $2 ORDER BY path LIMIT $3',
  // One statement, one snapshot: the head and the page agree. Idle polls read two index entries.
  changes: `SELECT a.seq AS head, a.purged_seq, e.* FROM
      (SELECT seq, purged_seq FROM sync_accounts_feed WHERE account_id = $1) a
      LEFT JOIN LATERAL (SELECT * FROM sync_entries
        WHERE account_id = $1 AND seq > $2 AND seq <= a.seq ORDER BY seq LIMIT $3) e ON true`,
  expiredAccounts: 'SELECT DISTINCT account_id FROM sync_entries WHERE deleted AND updated_at_ms < $1',
  lockAccountRow: 'SELECT 1 FROM sync_accounts_feed WHERE account_id = $1 FOR UPDATE',
  purge: 'DELETE FROM sync_entries WHERE account_id = $1 AND deleted AND updated_at_ms < $2 RETURNING seq',
  setPurged: 'UPDATE sync_accounts_feed SET purged_seq = GREATEST(purged_seq, $1) WHERE account_id = $2',
  createSession: `INSERT INTO sync_sessions (session_id, account_id, device_name, client_version, created_at_ms, last_seen_ms)
    VALUES ($1, $2, $3, $4, $5, $5)`,
  touchSession:
    'UPDATE sync_sessions SET last_seen_ms = $1 WHERE session_id = $2 AND account_id = $3 AND last_seen_ms <= $4',
  notify: 'SELECT pg_notify($1, $2)',
} as const;

/** Named statements are parsed once per connection: the hot queries skip planning after the first use. */
function named(name: keyof typeof SQL, values: unknown[]): pg.QueryConfig {
  return { name: `sync_${name}`, text: SQL[name], values };
}

/** Wakes this process's long-polls on any process's committed change (LISTEN on one held connection). */
function changeNotifier(pool: pg.Pool, log: (line: string) => void) {
  const listeners = new Map<string, Set<() => void>>();
  let client: pg.PoolClient | null = null;
  let starting = false;
  let closed = false;
  let retry: NodeJS.Timeout | null = null;

  const pokeAll = () => {
    for (const set of listeners.values()) for (const listener of set) listener();
  };

  function start(): void {
    if (client || starting || closed) return;
    starting = true;
    pool
      .connect()
      .then(async (held) => {
        try {
          held.on('notification', (message) => {
            if (message.channel !== CHANNEL || message.payload === undefined) return;
            for (const listener of listeners.get(message.payload) ?? []) listener();
          });
          held.on('error', (error) => lost(held, error));
          await held.query(`LISTEN ${CHANNEL}`);
        } catch (error) {
          held.release(error as Error);
          throw error;
        }
        if (closed) return void held.release();
        client = held;
        starting = false;
        // A change committed before LISTEN took hold sent no notification here: every waiter looks again.
        pokeAll();
      })
      .catch((error: Error) => {
        starting = false;
        log(`postgres storage: change notifications unavailable (${error.message}); retrying in 1 s`);
        scheduleRetry();
      });
  }

  function lost(held: pg.PoolClient, error: Error): void {
    if (client !== held) return;
    client = null;
    held.release(error);
    log(`postgres storage: the change-notification connection failed (${error.message}); reconnecting`);
    // Waiters look at the feed now rather than sleep through changes nobody will announce.
    pokeAll();
    scheduleRetry();
  }

  function scheduleRetry(): void {
    if (closed || retry || listeners.size === 0) return;
    retry = setTimeout(() => {
      retry = null;
      start();
    }, 1000);
    retry.unref();
  }

  return {
    subscribe(accountId: string, listener: () => void): () => void {
      let set = listeners.get(accountId);
      if (!set) {
        set = new Set();
        listeners.set(accountId, set);
      }
      set.add(listener);
      start();
      return () => {
        set.delete(listener);
        if (set.size === 0 && listeners.get(accountId) === set) listeners.delete(accountId);
      };
    },
    async close(): Promise<void> {
      closed = true;
      if (retry) clearTimeout(retry);
      listeners.clear();
      const held = client;
      client = null;
      if (held) {
        await held.query(`UNLISTEN ${CHANNEL}`).catch(() => {});
        held.release();
      }
    },
  };
}

export async function openPostgresStorage(options: PostgresStorageOptions): Promise<PostgresStorage> {
  const log = options.log ?? (() => {});
  const { pool, owned } = openPool(options, log);
  const blobs = options.blobs;
  const now = options.now ?? Date.now;
  const horizonMs = options.tombstoneHorizonMs ?? 30 * DAY_MS;
  try {
    await migratePostgres(pool);
  } catch (error) {
    if (owned) await pool.end().catch(() => {});
    throw error;
  }
  const notifier = options.notifications === false ? null : changeNotifier(pool, log);
  /** Whether this process's write of a session's last-seen time is due (a throttle, not shared state). */
  const touchDue = sessionTouchThrottle();

  async function readAccount(db: Queryable, accountId: string): Promise<AccountRow> {
    const { rows } = await db.query<AccountRow>(named('account', [accountId]));
    return rows[0] ?? { seq: 0, purged_seq: 0, sites: 0, storage_bytes: 0 };
  }

  async function entryRow(db: Queryable, accountId: string, kind: string, key: string): Promise<EntryRow | null> {
    const { rows } = await db.query<EntryRow>(named('entry', [accountId, kind, key]));
    return rows[0] ?? null;
  }

  async function nextSeq(db: pg.PoolClient, accountId: string): Promise<number> {
    const { rows } = await db.query<{ seq: Num }>(named('bumpSeq', [accountId]));
    return Number(rows[0]!.seq);
  }

  /** Keeps the content being replaced or removed as a backup; throws (failing the whole step) when it cannot. */
  async function keepBackup(db: pg.PoolClient, row: EntryRow): Promise<void> {
    if (row.sha256 === null || row.version === null || row.size === null) {
      throw new StorageError('backup_failed', `the current version of ${row.path} has no content to keep`);
    }
    const present = await blobs.head(row.sha256).catch((error: Error) => {
      throw new StorageError(
        'backup_failed',
        `the object store could not confirm ${row.path}'s content: ${error.message}`,
      );
    });
    if (present === null) {
      throw new StorageError(
        'backup_failed',
        `the content of ${row.path} v${row.version} is missing, so it cannot be kept as a backup`,
      );
    }
    await db.query(
      named('keepVersion', [row.account_id, row.kind, row.key, row.version, row.size, row.sha256, row.updated_at_ms]),
    );
  }

  /**
   * The write decision and, when `locked` (db is a client inside a transaction), its effects. Otherwise only the
   * decision runs (reads, no lock), so content is only put in the object store for writes that will be saved.
   */
  async function commitWrite(db: Queryable, request: WriteFileRequest, locked: boolean): Promise<Commit> {
    const { accountId, kind, key } = request;
    const account = locked
      ? (await db.query<AccountRow>(named('lockAccount', [accountId]))).rows[0]!
      : await readAccount(db, accountId);
    if (kind === 'site') {
      const { rows } = await db.query<{ account_id: string }>(named('siteOwner', [key]));
      if (rows[0] && rows[0].account_id !== accountId) return { outcome: 'name_taken' };
    }
    const row = await entryRow(db, accountId, kind, key);
    const live = row && !row.deleted ? row : null;
    const current = live
      ? { sha256: live.sha256!, version: live.version!, updatedAtMs: Number(live.updated_at_ms) }
      : null;
    const decision = decideWrite(current, request, now());
    if (decision.action === 'unchanged') return { outcome: 'unchanged', entry: toEntry(live!) };
    if (decision.action === 'conflict') return { outcome: 'conflict', current: toEntry(live!) };
    const path = live ? live.path : request.path;
    if (!live) {
      const blocked = await db.query(
        named('pathBlocked', [accountId, path, ancestorsOf(path), `${path}/`, `${path}0`]),
      );
      if (blocked.rows.length > 0) return { outcome: 'path_conflict' };
    }
    const { maxSites, maxStorageBytes } = request.limits;
    if (!live && kind === 'site' && maxSites !== null && account.sites + 1 > maxSites) {
      return { outcome: 'site_limit_reached' };
    }
    const size = request.content.length;
    const storageBytes = Number(account.storage_bytes);
    const bytesAfter = storageBytes - Number(live?.size ?? 0) + size;
    if (maxStorageBytes !== null && bytesAfter > maxStorageBytes && bytesAfter > storageBytes) {
      return { outcome: 'storage_limit_reached' };
    }
    if (!locked) return { outcome: 'needs_content' };
    const client = db as pg.PoolClient;
    if (live) await keepBackup(client, live);
    const kept = await client.query<{ v: number | null }>(named('maxVersion', [accountId, kind, key]));
    const lastVersion = Math.max(row?.version ?? 0, kept.rows[0]?.v ?? 0);
    const seq = await nextSeq(client, accountId);
    const saved = await client.query<EntryRow>(
      named('upsert', [accountId, kind, key, path, size, request.sha256, lastVersion + 1, decision.updatedAtMs, seq]),
    );
    await client.query(named('addUsage', [!live && kind === 'site' ? 1 : 0, bytesAfter - storageBytes, accountId]));
    if (notifier) await client.query(named('notify', [CHANNEL, accountId]));
    const entry = toEntry(saved.rows[0]!);
    return decision.created ? { outcome: 'created', entry } : { outcome: 'saved', entry };
  }

  async function purgeTombstones(): Promise<number> {
    const before = now() - horizonMs;
    const { rows } = await pool.query<{ account_id: string }>(named('expiredAccounts', [before]));
    let purged = 0;
    for (const { account_id: accountId } of rows) {
      // The account's row lock first, as every writer takes it: a purge never deadlocks with a write.
      purged += await transaction(pool, async (client) => {
        await client.query(named('lockAccountRow', [accountId]));
        const gone = await client.query<{ seq: Num }>(named('purge', [accountId, before]));
        if (gone.rows.length === 0) return 0;
        const top = gone.rows.reduce((max, row) => Math.max(max, Number(row.seq)), 0);
        await client.query(named('setPurged', [top, accountId]));
        return gone.rows.length;
      });
    }
    return purged;
  }

  // A purge that fails is retried by the timer; it must not keep the storage from opening.
  await purgeTombstones().catch((error: Error) => log(`postgres storage: tombstone purge failed: ${error.message}`));
  const purgeEveryMs = options.purgeEveryMs ?? 60 * 60 * 1000;
  const timer =
    purgeEveryMs > 0
      ? setInterval(() => {
          purgeTombstones().catch((error: Error) => log(`postgres storage: tombstone purge failed: ${error.message}`));
        }, purgeEveryMs)
      : null;
  timer?.unref();

  async function readBlob(sha256: string, what: string): Promise<Buffer> {
    const content = await blobs.get(sha256);
    if (content === null) throw new StorageError('content_missing', `the stored content of ${what} is missing`);
    return content;
  }

  const storage: PostgresStorage = {
    pool,
    purgeTombstones,

    async writeFile(request) {
      checkRequest(request);
      const first = await commitWrite(pool, request, false);
      if (first.outcome !== 'needs_content') return first;
      // Content first: metadata committed below never points at content the object store does not have.
      await blobs.put(request.sha256, request.content);
      try {
        const result = await transaction(pool, (client) => commitWrite(client, request, true));
        if (result.outcome === 'needs_content') throw new Error('unreachable: content was stored');
        return result;
      } catch (error) {
        // Another account took the name between the decision and the commit.
        if (isUniqueViolation(error, 'sync_entries_live_site')) return { outcome: 'name_taken' };
        throw error;
      }
    },

    async readFile(accountId, file) {
      const row = await entryRow(pool, accountId, file.kind, file.key);
      if (!row || row.deleted || row.sha256 === null) return null;
      const stored: StoredFile = { entry: toEntry(row), content: await readBlob(row.sha256, row.path) };
      return stored;
    },

    async createFolder(accountId, path) {
      const checked = checkPath(path, 'folder');
      if (!checked.ok) throw new StorageError('bad_write', `refused a folder with a bad path: ${checked.message}`);
      const folderPath = checked.value;
      return transaction(pool, async (client) => {
        await client.query(named('lockAccount', [accountId]));
        const chain = [...ancestorsOf(folderPath), folderPath];
        const { rows } = await client.query<EntryRow>(named('liveAtPaths', [accountId, chain]));
        if (rows.some((row) => row.kind !== 'folder')) return { outcome: 'path_conflict' as const };
        const present = new Set(rows.map((row) => row.path));
        const stamp = now();
        let entry = rows.find((row) => row.path === folderPath);
        for (const folder of chain) {
          if (present.has(folder)) continue;
          const seq = await nextSeq(client, accountId);
          const saved = await client.query<EntryRow>(
            named('upsert', [accountId, 'folder', folder, folder, null, null, null, stamp, seq]),
          );
          if (folder === folderPath) entry = saved.rows[0];
        }
        const created = !present.has(folderPath);
        if (created && notifier) await client.query(named('notify', [CHANNEL, accountId]));
        return { outcome: created ? ('created' as const) : ('exists' as const), entry: toEntry(entry!) };
      });
    },

    async deleteEntry(accountId, kind, key) {
      return transaction(pool, async (client) => {
        await client.query(named('lockAccount', [accountId]));
        const row = await entryRow(client, accountId, kind, key);
        if (!row || row.deleted) return null;
        if (kind !== 'folder') await keepBackup(client, row);
        const seq = await nextSeq(client, accountId);
        const marked = await client.query<EntryRow>(named('markDeleted', [now(), seq, accountId, kind, key]));
        await client.query(named('addUsage', [kind === 'site' ? -1 : 0, -Number(row.size ?? 0), accountId]));
        if (notifier) await client.query(named('notify', [CHANNEL, accountId]));
        return toEntry(marked.rows[0]!);
      });
    },

    async versions(accountId, file: FileKey) {
      const { rows } = await pool.query<VersionRow>(named('versions', [accountId, file.kind, file.key]));
      if (rows.length === 0 && !(await entryRow(pool, accountId, file.kind, file.key))) return null;
      return rows.map(toVersionInfo);
    },

    async readVersion(accountId, file, version) {
      const { rows } = await pool.query<VersionRow>(named('version', [accountId, file.kind, file.key, version]));
      if (rows[0]) return readBlob(rows[0].sha256, `${file.key} v${version}`);
      const current = await entryRow(pool, accountId, file.kind, file.key);
      if (current && !current.deleted && current.version === version && current.sha256 !== null) {
        return readBlob(current.sha256, `${file.key} v${version}`);
      }
      return null;
    },

    async listing(accountId, continuation, limit) {
      const account = await readAccount(pool, accountId);
      const start = listingStart(continuation, { seq: Number(account.seq), purgedSeq: Number(account.purged_seq) });
      if (!start) return null;
      const { rows } = await pool.query<EntryRow>(named('listing', [accountId, start.afterPath, limit + 1]));
      return listingPage(rows, limit, start.head);
    },

    async changesSince(accountId, afterSeq, limit) {
      const { rows } = await pool.query<EntryRow & { head: Num; purged_seq: Num }>(
        named('changes', [accountId, afterSeq, limit]),
      );
      // An account that never wrote has an empty feed at 0.
      const head = rows[0] ? Number(rows[0].head) : 0;
      const purged = rows[0] ? Number(rows[0].purged_seq) : 0;
      if (afterSeq < purged || afterSeq > head) return null;
      const entries = rows.filter((row) => row.kind !== null).map(toEntry);
      return { entries, head };
    },

    async siteOwner(name) {
      const { rows } = await pool.query<{ account_id: string }>(named('siteOwner', [name]));
      return rows[0]?.account_id ?? null;
    },

    async usage(accountId) {
      const row = await readAccount(pool, accountId);
      return { sites: row.sites, storageBytes: Number(row.storage_bytes) };
    },

    async createSession(accountId, deviceName, clientVersion) {
      const id = randomUUID();
      await pool.query(named('createSession', [id, accountId, deviceName, clientVersion, now()]));
      return id;
    },

    async touchSession(accountId, sessionId) {
      const stamp = now();
      if (!touchDue(accountId, sessionId, stamp)) return;
      await pool.query(named('touchSession', [stamp, sessionId, accountId, stamp - SESSION_TOUCH_MS]));
    },

    async close() {
      if (timer) clearInterval(timer);
      await notifier?.close();
      await blobs.close?.();
      if (owned) await pool.end();
    },
  };
  if (notifier) storage.subscribe = (accountId, listener) => notifier.subscribe(accountId, listener);
  return storage;
}

export type PostgresAuthStoreOptions = PostgresConnection & {
  /** The clock, in ms (prunes expired codes, stamps connections); default Date.now. */
  now?: () => number;
  /** One line per event (no secrets); default nothing. */
  log?: (line: string) => void;
};

interface CodeRow {
  account_id: string;
  redirect_uri: string;
  code_challenge: string;
  device_name: string;
  expires_at_ms: Num;
}

/** Sign-in codes (by hash, single use) and device connections in PostgreSQL, shared by every process. */
export async function openPostgresAuthStore(options: PostgresAuthStoreOptions): Promise<AuthStore> {
  const { pool, owned } = openPool(options, options.log ?? (() => {}));
  const now = options.now ?? Date.now;
  try {
    await migratePostgres(pool);
  } catch (error) {
    if (owned) await pool.end().catch(() => {});
    throw error;
  }
  let closed = false;
  return {
    async saveCode(codeHash, record: AuthCodeRecord) {
      // Codes never exchanged would pile up; they are useless once expired.
      await pool.query('DELETE FROM sync_auth_codes WHERE expires_at_ms < $1', [now()]);
      await pool.query(
        `INSERT INTO sync_auth_codes (code_hash, account_id, redirect_uri, code_challenge, device_name, expires_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [codeHash, record.accountId, record.redirectUri, record.codeChallenge, record.deviceName, record.expiresAtMs],
      );
    },
    async takeCode(codeHash) {
      // DELETE ... RETURNING is the single use: of two concurrent exchanges, only one gets the row.
      const { rows } = await pool.query<CodeRow>('DELETE FROM sync_auth_codes WHERE code_hash = $1 RETURNING *', [
        codeHash,
      ]);
      const row = rows[0];
      if (!row) return null;
      return {
        accountId: row.account_id,
        redirectUri: row.redirect_uri,
        codeChallenge: row.code_challenge,
        deviceName: row.device_name,
        expiresAtMs: Number(row.expires_at_ms),
      };
    },
    async createConnection(accountId, deviceName) {
      const sid = randomBytes(18).toString('base64url');
      await pool.query(
        'INSERT INTO sync_connections (sid, account_id, device_name, created_at_ms) VALUES ($1, $2, $3, $4)',
        [sid, accountId, deviceName, now()],
      );
      return sid;
    },
    async revokeConnection(sid) {
      await pool.query('UPDATE sync_connections SET revoked_at_ms = $1 WHERE sid = $2 AND revoked_at_ms IS NULL', [
        now(),
        sid,
      ]);
    },
    async connection(sid) {
      const { rows } = await pool.query<{ account_id: string; revoked_at_ms: Num | null }>(
        'SELECT account_id, revoked_at_ms FROM sync_connections WHERE sid = $1',
        [sid],
      );
      const row = rows[0];
      if (!row) return null;
      return { accountId: row.account_id, revoked: row.revoked_at_ms !== null };
    },
    async close() {
      if (closed) return;
      closed = true;
      if (owned) await pool.end();
    },
  };
}
