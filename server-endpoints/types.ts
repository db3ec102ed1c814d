// The seams of the platform side: the account a request acts for, the platform's login, and the two stores.
// A host platform implements IdentityProvider; SyncStorage and AuthStore have an embedded (SQLite + files)
// implementation here and may have others (PostgreSQL + S3). Nothing storage-specific crosses these types.

import type { Entry, EntryKind, SearchResult, VersionInfo } from '../protocol/index.js';

export interface Account {
  id: string;
  email: string;
  /** The plan's name as shown to clients ('paid', 'free', ...). */
  plan: string;
  /** Only paid plans may sync (402 subscription_required otherwise). */
  paid: boolean;
  /** null: no limit. */
  maxSites: number | null;
  maxStorageBytes: number | null;
}

/** The platform's own login, as the sync endpoints see it. */
export interface IdentityProvider {
  /** The person signed in to the platform in this browser request (its own cookie session), or null. */
  currentAccount(request: Request): Promise<Account | null>;
  /** Where to send a browser that must sign in first; `returnTo` is a same-origin path with its query. */
  loginUrl(returnTo: string): string;
  /** The account behind a token's `sub`; null once it no longer exists. */
  accountById(id: string): Promise<Account | null>;
}

export type FileKind = Exclude<EntryKind, 'folder'>;

/** Identifies a file entry: a site by its name, an upload by its path (NFC, case-sensitive). */
export interface FileKey {
  kind: FileKind;
  key: string;
}

/**
 * Content staged in a file on disk, hashed as it was written (http.ts `stageBody`): how request bodies reach a
 * storage without being held in memory. The storage may move the file away (a rename into its own store); whoever
 * staged it removes it afterwards if it is still there.
 */
export interface StagedContent {
  file: string;
  size: number;
  sha256: string;
  /** Already fsynced (staged in the storage's own `stagingDir`, to be renamed in as it is). */
  synced?: boolean;
}

/** A write's bytes: in memory (small content made by the platform itself, tests) or staged on disk. */
export type WriteContent = Buffer | StagedContent;

export interface WriteFileRequest extends FileKey {
  accountId: string;
  /** Where the file lives on the platform if this write creates it (a site: `<folder>/<name>.html`). */
  path: string;
  content: WriteContent;
  /** The sha256 the writer announced; a write whose content hashes otherwise is refused (`bad_write`). */
  sha256: string;
  /** The version this content was edited from; 0 for a new file; null for the platform's own saves (always win). */
  baseVersion: number | null;
  /** Sync saves: X-Modified-At in ms (server clock). null for platform saves (server now). */
  modifiedAtMs: number | null;
  limits: { maxSites: number | null; maxStorageBytes: number | null };
}

export type WriteFileResult =
  | { outcome: 'unchanged'; entry: Entry }
  | { outcome: 'created'; entry: Entry }
  | { outcome: 'saved'; entry: Entry }
  | { outcome: 'conflict'; current: Entry }
  | { outcome: 'path_conflict' }
  | { outcome: 'name_taken' }
  | { outcome: 'site_limit_reached' }
  | { outcome: 'storage_limit_reached' };

/** One write of a group: its result, or the failure that was its own (the others went on). */
export type WriteOutcome = { ok: true; result: WriteFileResult } | { ok: false; error: Error };

export interface StoredFile {
  entry: Entry;
  content: Buffer;
}

export interface ListingPage {
  entries: Entry[];
  /** Opaque continuation for the next page; null on the last page. */
  next: string | null;
  /** The feed's head noted when the listing started (the cursor the client polls from afterwards). */
  head: number;
}

/** Content, entries and the change feed of every account. Every method is scoped to one account. */
export interface SyncStorage {
  /**
   * Atomic: the write decision (unchanged / saved / conflict / limits) and the backup happen in one step. Writes
   * arriving together share one transaction and one durable flush (group commit); none is answered before it.
   */
  writeFile(request: WriteFileRequest): Promise<WriteFileResult>;
  /**
   * Many writes as one group, decided in order exactly as if written one after another (two writes of one entry
   * included) and committed in one transaction with one durable flush, answered only after it. Each write's
   * failure (a backup that cannot be kept, a bad request) is its own: the others are still committed.
   */
  writeFiles(requests: WriteFileRequest[]): Promise<WriteOutcome[]>;
  readFile(accountId: string, file: FileKey): Promise<StoredFile | null>;
  /** The live entries of these files, in order (null: no such live file); no content is read. */
  fileEntries(accountId: string, files: FileKey[]): Promise<Array<Entry | null>>;
  /** Creates the folder and its parents. */
  createFolder(
    accountId: string,
    path: string,
  ): Promise<{ outcome: 'created' | 'exists'; entry: Entry } | { outcome: 'path_conflict' }>;
  /** The platform-side delete: a tombstone in the feed; the content stays as a version. */
  deleteEntry(accountId: string, kind: EntryKind, key: string): Promise<Entry | null>;
  versions(accountId: string, file: FileKey): Promise<VersionInfo[] | null>;
  /**
   * The account's deleted sites whose tombstones are still kept (until the horizon), most recently deleted first,
   * at most `limit`: each entry as deleted (`deleted: true`, its name, path and when). A site whose name lives
   * again (recreated) is not listed.
   */
  deletedSites(accountId: string, limit: number): Promise<Entry[]>;
  readVersion(accountId: string, file: FileKey, version: number): Promise<Buffer | null>;
  /** The complete current listing in pages (no tombstones). `continuation` null starts a new listing. */
  listing(accountId: string, continuation: string | null, limit: number): Promise<ListingPage | null>;
  /** Entries changed after `afterSeq`, coalesced to their latest state, in seq order. null: before the horizon. */
  changesSince(accountId: string, afterSeq: number, limit: number): Promise<{ entries: Entry[]; head: number } | null>;
  /** Looks a site up by name across all accounts (site names are platform-wide). */
  siteOwner(name: string): Promise<string | null>;
  usage(accountId: string): Promise<{ sites: number; storageBytes: number }>;
  /**
   * PROTOCOL.md "Search": the account's live text files (sites, text uploads up to 2 MiB) holding every word of
   * `query` as a word prefix, case- and accent-insensitively, best first, at most `limit`. The index follows each
   * write in its own transaction, so what was just saved is found.
   */
  search(accountId: string, query: string, limit: number): Promise<SearchResult[]>;
  createSession(accountId: string, deviceName: string, clientVersion: string): Promise<string>;
  touchSession(accountId: string, sessionId: string): Promise<void>;
  /**
   * Optional: calls `listener` after each committed change of this account (long-poll wake-ups); returns the
   * unsubscribe function. Without it, a long-poll checks the feed every second.
   */
  subscribe?(accountId: string, listener: () => void): () => void;
  /**
   * Optional: a folder on the same disk as the storage's content, where request bodies are best staged (storing
   * them is then a rename); bodies staged there are fsynced first. Without it they go to the OS temp folder.
   */
  readonly stagingDir?: string;
  close(): Promise<void>;
}

export interface AuthCodeRecord {
  accountId: string;
  redirectUri: string;
  codeChallenge: string;
  deviceName: string;
  expiresAtMs: number;
}

/** A device sign-in waiting for its person (PROTOCOL.md "Device sign-in"); both codes stored by their SHA-256. */
export interface DeviceCodeRecord {
  deviceCodeHash: string;
  userCodeHash: string;
  deviceName: string;
  expiresAtMs: number;
}

/** What one poll of a device code finds (the store answers it and notes the poll in one step). */
export type DevicePoll =
  | { state: 'unknown' | 'expired' | 'slow_down' | 'pending' | 'denied' }
  | { state: 'allowed'; accountId: string; deviceName: string };

/** A signed-in device as the account's owner sees it in the device list. */
export interface DeviceConnection {
  sid: string;
  /** As the device named itself at sign-in (shown escaped: it may hold anything). */
  deviceName: string;
  signedInAtMs: number;
  /** The last authenticated request, to the minute; null until the first one after sign-in. */
  lastSeenAtMs: number | null;
}

/** Sign-in codes and device connections (a connection is a token's `sid`). */
export interface AuthStore {
  saveCode(codeHash: string, record: AuthCodeRecord): Promise<void>;
  /** Single use: returns the record and deletes it in one step; null when unknown or already used. */
  takeCode(codeHash: string): Promise<AuthCodeRecord | null>;
  createConnection(accountId: string, deviceName: string): Promise<string>;
  revokeConnection(sid: string): Promise<void>;
  /** Revokes every connection of the account (a password change signs every device out); returns how many. */
  revokeAccountConnections(accountId: string): Promise<number>;
  /** null when unknown; otherwise whether it is revoked. */
  connection(sid: string): Promise<{ accountId: string; revoked: boolean } | null>;
  /** Notes a connection's last request (callers write it at most once a minute per connection). */
  touchConnection(sid: string, atMs: number): Promise<void>;
  /** A new device sign-in; false (nothing saved) when a live one already has this user code. */
  saveDeviceCode(record: DeviceCodeRecord): Promise<boolean>;
  /** The device name of the live, undecided sign-in with this user code; null when none (wrong, expired, decided). */
  pendingDeviceCode(userCodeHash: string, nowMs: number): Promise<{ deviceName: string } | null>;
  /** Allow (`accountId`) or deny (null) a live, undecided sign-in; false when there is none (nothing changed). */
  decideDeviceCode(userCodeHash: string, nowMs: number, accountId: string | null): Promise<boolean>;
  /**
   * One poll: unknown, expired, too soon after the last (`slow_down`, closer than `minGapMs`), still pending, or
   * decided. A decided code is deleted as it is answered (single use); every other poll is noted for the next gap.
   */
  pollDeviceCode(deviceCodeHash: string, nowMs: number, minGapMs: number): Promise<DevicePoll>;
  /** The account's connections that are not revoked, most recently seen first. */
  connections(accountId: string): Promise<DeviceConnection[]>;
  close(): Promise<void>;
}
