// The sync state on disk (SPEC.md "Sync state"): a snapshot plus an append-only journal, one JSON line per change,
// compacted at open. Whatever is torn or corrupt is dropped, never thrown: the engine rebuilds from hashes.

import {
  closeSync,
  fdatasync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import type { EntryKind } from '../protocol/index.js';
import { EngineError } from './errors.js';
import { errnoOf, tempPathFor } from './fsutil.js';
import type { EntryKey, StateRecord } from './model.js';

const FORMAT = 1;
const KNOWN_FIELDS: ReadonlySet<string> = new Set([
  'key',
  'kind',
  'name',
  'localPath',
  'platformPath',
  'sha256',
  'size',
  'mtimeMs',
  'version',
  'updatedAt',
  'localDeleted',
  'held',
]);
const KINDS: ReadonlySet<string> = new Set<EntryKind>(['site', 'upload', 'folder']);

export interface StateLoadReport {
  snapshot: 'ok' | 'missing' | 'corrupt';
  /** Journal lines replayed. */
  replayed: number;
  /** Journal lines dropped (torn tail, corrupt, or invalid records). */
  dropped: number;
  /** Snapshot records dropped because they were invalid. */
  droppedRecords: number;
}

export interface StateStore {
  readonly file: string;
  /** How the state was found at open (for one log line). */
  readonly loaded: StateLoadReport;
  readonly size: number;
  /** A copy of the map; its records are frozen (change one with put). */
  all(): Map<EntryKey, StateRecord>;
  get(key: EntryKey): StateRecord | undefined;
  /** Records (replaces) one entry: O(1), one journal line. */
  put(record: StateRecord): void;
  delete(key: EntryKey): void;
  /** The last applied change cursor, null before the first complete listing. */
  readonly cursor: string | null;
  getCursor(): string | null;
  setCursor(cursor: string | null): void;
  /** Resolves once every change so far is on disk (fsync). Rejects if the disk refused it. */
  flush(): Promise<void>;
  /** Flushes and closes; the store cannot be used afterwards. */
  close(): Promise<void>;
}

export class StateStoreError extends EngineError {
  declare readonly code: 'closed' | 'write_failed';
  constructor(code: 'closed' | 'write_failed', message: string, cause?: unknown) {
    super(code, message, cause === undefined ? undefined : { cause });
  }
}

const optional = (value: unknown, type: 'string' | 'number' | 'boolean'): boolean =>
  value === undefined || typeof value === type;

/** A state record read from disk, checked field by field; null when anything is off. */
export function parseStateRecord(value: unknown): StateRecord | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const r = value as Record<string, unknown>;
  if (typeof r.key !== 'string' || r.key.length === 0) return null;
  if (typeof r.kind !== 'string' || !KINDS.has(r.kind)) return null;
  if (typeof r.localPath !== 'string' || typeof r.platformPath !== 'string') return null;
  if (!optional(r.name, 'string') || !optional(r.sha256, 'string') || !optional(r.updatedAt, 'string')) return null;
  if (!optional(r.size, 'number') || !optional(r.mtimeMs, 'number') || !optional(r.version, 'number')) return null;
  if (!optional(r.localDeleted, 'boolean') || !optional(r.held, 'boolean')) return null;
  if (typeof r.sha256 === 'string' && !/^[0-9a-f]{64}$/.test(r.sha256)) return null;
  const record: StateRecord = {
    key: r.key,
    kind: r.kind as EntryKind,
    localPath: r.localPath,
    platformPath: r.platformPath,
  };
  if (r.name !== undefined) record.name = r.name as string;
  if (r.sha256 !== undefined) record.sha256 = r.sha256 as string;
  if (r.size !== undefined) record.size = r.size as number;
  if (r.mtimeMs !== undefined) record.mtimeMs = r.mtimeMs as number;
  if (r.version !== undefined) record.version = r.version as number;
  if (r.updatedAt !== undefined) record.updatedAt = r.updatedAt as string;
  if (r.localDeleted !== undefined) record.localDeleted = r.localDeleted as boolean;
  if (r.held !== undefined) record.held = r.held as boolean;
  // Fields a newer StateRecord may add are kept (plain values only), so an upgrade never drops them on a reopen.
  for (const [field, extra] of Object.entries(r)) {
    if (field in record || KNOWN_FIELDS.has(field)) continue;
    if (typeof extra === 'string' || typeof extra === 'number' || typeof extra === 'boolean') {
      (record as unknown as Record<string, unknown>)[field] = extra;
    }
  }
  return record;
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return null;
    throw error;
  }
}

function fsyncDirSync(dir: string): void {
  if (process.platform === 'win32') return;
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes the whole state to the snapshot file atomically (temp + fsync + rename + fsync folder). */
function writeSnapshot(file: string, records: Map<EntryKey, StateRecord>, cursor: string | null): void {
  const parts: string[] = [];
  for (const record of records.values()) parts.push(JSON.stringify(record));
  const text = `{"format":${FORMAT},"cursor":${JSON.stringify(cursor)},"records":[\n${parts.join(',\n')}\n]}\n`;
  const temp = tempPathFor(file);
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeFileSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, file);
  fsyncDirSync(dirname(file));
}

export interface StateStoreOptions {
  /** Changes are fsynced together at most this long after they are made (default 5 ms). */
  fsyncDelayMs?: number;
  /** Compact while running once the journal has this many lines beyond the record count (default 20,000). */
  compactAfterLines?: number;
  /**
   * Reads the state and writes nothing, not even a compaction (a dry run while another process syncs the folder):
   * every change is refused.
   */
  readOnly?: boolean;
}

/** What was read back at open: the records, the cursor, and what was dropped on the way. */
interface Loaded {
  records: Map<EntryKey, StateRecord>;
  cursor: string | null;
  report: StateLoadReport;
}

/**
 * The snapshot file, if any; a corrupt one is moved aside (kept for a look, out of the way of the next open) unless
 * `readOnly`.
 */
function loadSnapshot(file: string, readOnly: boolean): Loaded {
  const loaded: Loaded = {
    records: new Map(),
    cursor: null,
    report: { snapshot: 'missing', replayed: 0, dropped: 0, droppedRecords: 0 },
  };
  const text = readText(file);
  if (text === null) return loaded;
  try {
    const parsed: unknown = JSON.parse(text);
    const body = parsed as { format?: unknown; cursor?: unknown; records?: unknown };
    if (typeof parsed !== 'object' || parsed === null || body.format !== FORMAT || !Array.isArray(body.records)) {
      throw new Error('not a state snapshot');
    }
    if (body.cursor !== null && typeof body.cursor !== 'string') throw new Error('bad cursor');
    for (const item of body.records) {
      const record = parseStateRecord(item);
      if (record) loaded.records.set(record.key, Object.freeze(record));
      else loaded.report.droppedRecords++;
    }
    loaded.cursor = body.cursor as string | null;
    loaded.report.snapshot = 'ok';
  } catch {
    loaded.records.clear();
    loaded.cursor = null;
    loaded.report.snapshot = 'corrupt';
    if (readOnly) return loaded;
    try {
      renameSync(file, `${file}.corrupt`);
    } catch {}
  }
  return loaded;
}

/** Replays the journal's whole lines on top of the snapshot; the part after the last newline is a torn write. */
function replayJournal(text: string, loaded: Loaded): void {
  const { report } = loaded;
  const lines = text.split('\n');
  const tail = lines.pop();
  if (tail !== undefined && tail.length > 0) report.dropped++;
  for (const line of lines) {
    if (line.length === 0) continue;
    if (applyJournalLine(line, loaded)) report.replayed++;
    else report.dropped++;
  }
}

/** One journal line: a record put, a delete or a cursor. False when the line is not one of them. */
function applyJournalLine(line: string, loaded: Loaded): boolean {
  let op: unknown;
  try {
    op = JSON.parse(line);
  } catch {
    return false;
  }
  if (typeof op !== 'object' || op === null) return false;
  const o = op as { p?: unknown; d?: unknown; c?: unknown };
  if (o.p !== undefined) {
    const record = parseStateRecord(o.p);
    if (!record) return false;
    loaded.records.set(record.key, Object.freeze(record));
  } else if (typeof o.d === 'string') {
    loaded.records.delete(o.d);
  } else if ('c' in o && (typeof o.c === 'string' || o.c === null)) {
    // A cursor only means something on top of the snapshot it followed.
    if (loaded.report.snapshot !== 'corrupt') loaded.cursor = o.c;
  } else {
    return false;
  }
  return true;
}

/**
 * Opens (or creates) the state at `file` (its journal is `<file>.journal`), replays and compacts it. Never throws
 * for torn or corrupt content: what is valid is kept, and `loaded` says what was dropped.
 */
export async function openStateStore(file: string, options: StateStoreOptions = {}): Promise<StateStore> {
  const journalPath = `${file}.journal`;
  const readOnly = options.readOnly === true;
  if (!readOnly) mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const loaded = loadSnapshot(file, readOnly);
  const journalText = readText(journalPath);
  if (journalText !== null && journalText.length > 0) replayJournal(journalText, loaded);
  if (readOnly) return new JournalStateStore(file, -1, loaded, options);
  // Compact: the snapshot first (atomically), then empty the journal. A crash between the two replays the
  // journal again next time, which is harmless: every line is a whole record, a delete or a cursor.
  if ((journalText !== null && journalText.length > 0) || loaded.report.snapshot !== 'ok') {
    writeSnapshot(file, loaded.records, loaded.cursor);
  }
  const fd = openSync(journalPath, 'a', 0o600);
  ftruncateSync(fd, 0);
  fsyncSync(fd);
  return new JournalStateStore(file, fd, loaded, options);
}

/** The open state: records in memory, each change one journal line, fsynced together a few ms later. */
class JournalStateStore implements StateStore {
  readonly file: string;
  readonly loaded: StateLoadReport;
  readonly #records: Map<EntryKey, StateRecord>;
  #cursor: string | null;
  #fd: number;
  readonly #fsyncDelayMs: number;
  readonly #compactAfterLines: number;
  readonly #readOnly: boolean;
  #lines = 0;
  #closed = false;
  #timer: NodeJS.Timeout | null = null;
  #syncing: Promise<void> | null = null;
  #failure: unknown = null;
  /** After a failed append the journal may hold a torn line: the next flush rewrites the snapshot instead. */
  #journalSuspect = false;

  constructor(file: string, fd: number, loaded: Loaded, options: StateStoreOptions) {
    this.file = file;
    this.loaded = loaded.report;
    this.#records = loaded.records;
    this.#cursor = loaded.cursor;
    this.#fd = fd;
    this.#fsyncDelayMs = options.fsyncDelayMs ?? 5;
    this.#compactAfterLines = options.compactAfterLines ?? 20_000;
    this.#readOnly = options.readOnly === true;
  }

  get size(): number {
    return this.#records.size;
  }

  all(): Map<EntryKey, StateRecord> {
    return new Map(this.#records);
  }

  get(key: EntryKey): StateRecord | undefined {
    const record = this.#records.get(key);
    return record ? { ...record } : undefined;
  }

  put(record: StateRecord): void {
    const checked = parseStateRecord(record);
    if (!checked) throw new TypeError(`not a valid state record: ${JSON.stringify(record)}`);
    this.#records.set(checked.key, Object.freeze(checked));
    this.#append({ p: checked });
  }

  delete(key: EntryKey): void {
    if (!this.#records.delete(key)) return;
    this.#append({ d: key });
  }

  get cursor(): string | null {
    return this.#cursor;
  }

  getCursor(): string | null {
    return this.#cursor;
  }

  setCursor(next: string | null): void {
    if (next !== null && typeof next !== 'string') throw new TypeError('a cursor is a string');
    if (next === this.#cursor) return;
    this.#cursor = next;
    this.#append({ c: next });
  }

  async flush(): Promise<void> {
    if (this.#readOnly) return;
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    if (this.#syncing) await this.#syncing;
    if (this.#journalSuspect) {
      try {
        this.#compact();
        this.#failure = null;
      } catch (error) {
        this.#failure = error;
      }
    } else {
      await this.#datasync().catch((error: unknown) => {
        this.#failure = error;
      });
    }
    if (this.#failure) {
      const error = this.#failure;
      this.#failure = null;
      throw new StateStoreError(
        'write_failed',
        `Could not save the sync state to ${this.file} (${errnoOf(error) ?? String(error)}); it will be rebuilt from the files.`,
        error,
      );
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#readOnly) {
      this.#closed = true;
      return;
    }
    try {
      await this.flush();
    } finally {
      this.#closed = true;
      closeSync(this.#fd);
      this.#fd = -1;
    }
  }

  #append(op: object): void {
    if (this.#closed) {
      throw new StateStoreError('closed', 'The sync state is closed; restart the sync to use it again.');
    }
    if (this.#readOnly) throw new StateStoreError('closed', 'This sync state was opened to read only.');
    if (!this.#journalSuspect) {
      try {
        writeSync(this.#fd, `${JSON.stringify(op)}\n`);
        this.#lines++;
      } catch (error) {
        this.#failure = error;
        this.#journalSuspect = true;
      }
    }
    if (this.#lines > this.#compactAfterLines + this.#records.size) {
      try {
        this.#compact();
      } catch (error) {
        this.#failure = error;
      }
    }
    this.#scheduleSync();
  }

  #compact(): void {
    writeSnapshot(this.file, this.#records, this.#cursor);
    ftruncateSync(this.#fd, 0);
    fsyncSync(this.#fd);
    this.#lines = 0;
    this.#journalSuspect = false;
  }

  #datasync(): Promise<void> {
    return new Promise((resolve, reject) => fdatasync(this.#fd, (error) => (error ? reject(error) : resolve())));
  }

  #scheduleSync(): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#syncing = this.#datasync()
        .catch((error: unknown) => {
          this.#failure = error;
        })
        .finally(() => {
          this.#syncing = null;
        });
    }, this.#fsyncDelayMs);
  }
}
