// How every storage carries out the write decision of ../sync/decide.ts: the two phases of a group of writes, the
// answer to a write that is not saved, and the backup of a replaced version.

import { readFile } from 'node:fs/promises';
import type { StoredFileState, WritePlan } from '../sync/decide.js';
import { isSearchable, type SearchDocument, searchDocument } from '../sync/search-text.js';
import type { WriteFileRequest, WriteFileResult, WriteOutcome } from '../types.js';
import { checkRequest, StorageError, type StoredEntryRow, toEntry } from './common.js';

/** A phase's answer: a final result, or "this write will be saved: store its content, then commit". */
export type Commit = WriteFileResult | { outcome: 'needs_content' };

export type SavePlan = Extract<WritePlan, { outcome: 'created' | 'saved' }>;

/**
 * A write whose content is stored, with what the search index will hold for it (null: not searchable), read before
 * the commit so the index row is written in the write's own transaction.
 */
export interface StoredWrite extends WriteFileRequest {
  search: SearchDocument | null;
}

/** How one storage carries out the phases of a group of writes. */
export interface GroupPhases {
  /** The write decision without a lock: whether the write will be saved (so its content must be stored first). */
  decide(request: WriteFileRequest): Commit | Promise<Commit>;
  storeContent(request: WriteFileRequest): Promise<void>;
  /**
   * Decides each write again, in order, inside one transaction on what is committed (earlier writes of the group
   * included), applies the outcomes and flushes once: the storage's GroupCommit.
   */
  commit(requests: StoredWrite[]): Promise<WriteOutcome[]>;
}

/** Content stored at once for a group: enough to keep the disk or the object store busy, not a flood. */
const STORE_CONCURRENCY = 8;

/**
 * A group of writes in two phases. The first decides each without a lock, so content is stored only for writes that
 * will be saved; the second decides again in one transaction, in order, on what is committed (a write after
 * another of the group sees it) and applies the outcomes. Content is stored in between, so committed metadata never
 * points at missing content. A first answer is final only when nothing earlier in the group can change it: not for
 * a key written earlier in the group, and not for the storage limit (an earlier write may have shrunk a file).
 */
export async function writeGroup(requests: WriteFileRequest[], phases: GroupPhases): Promise<WriteOutcome[]> {
  const outcomes: Array<WriteOutcome | null> = requests.map(() => null);
  const seen = new Set<string>();
  const repeated = requests.map((request) => {
    const key = `${request.accountId}\n${request.kind}\n${request.key}`;
    const again = seen.has(key);
    seen.add(key);
    return again;
  });
  const toCommit: number[] = [];
  const stored = new Map<number, StoredWrite>();
  await eachLimited(requests.keys(), STORE_CONCURRENCY, async (index) => {
    const request = requests[index]!;
    try {
      checkRequest(request);
      const first = await phases.decide(request);
      const final = first.outcome !== 'needs_content' && first.outcome !== 'storage_limit_reached';
      if (final && !repeated[index]) outcomes[index] = { ok: true, result: first };
      else {
        // Read before storing: storing may move a staged body away.
        const search = await searchDocumentOf(request);
        await phases.storeContent(request);
        stored.set(index, { ...request, search });
        toCommit.push(index);
      }
    } catch (error) {
      outcomes[index] = { ok: false, error: error as Error };
    }
  });
  toCommit.sort((a, b) => a - b);
  const committed = await phases.commit(toCommit.map((index) => stored.get(index)!));
  toCommit.forEach((index, n) => {
    outcomes[index] = committed[n]!;
  });
  return outcomes as WriteOutcome[];
}

/** What the search index holds for a write's content: read from memory or from the staged body. */
async function searchDocumentOf(request: WriteFileRequest): Promise<SearchDocument | null> {
  const { kind, path, content } = request;
  const size = Buffer.isBuffer(content) ? content.length : content.size;
  if (!isSearchable(kind, path, size)) return null;
  return searchDocument(kind, path, Buffer.isBuffer(content) ? content : await readFile(content.file));
}

/** One write as a group of one: its result, or its failure thrown. */
export async function writeOne(request: WriteFileRequest, phases: GroupPhases): Promise<WriteFileResult> {
  const [outcome] = await writeGroup([request], phases);
  if (!outcome!.ok) throw outcome!.error;
  return outcome!.result;
}

/** Runs `work` over `indexes` with at most `limit` at once. */
async function eachLimited(
  indexes: Iterable<number>,
  limit: number,
  work: (index: number) => Promise<void>,
): Promise<void> {
  const iterator = indexes[Symbol.iterator]();
  const worker = async (): Promise<void> => {
    for (let next = iterator.next(); !next.done; next = iterator.next()) await work(next.value);
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

/** A stored entry row as the write decision reads it. */
export function fileState(row: StoredEntryRow): StoredFileState {
  return {
    path: row.path,
    sha256: row.sha256 ?? '',
    version: row.version ?? 0,
    size: Number(row.size ?? 0),
    updatedAtMs: Number(row.updated_at_ms),
    deleted: Boolean(row.deleted),
  };
}

export function isSave(plan: WritePlan): plan is SavePlan {
  return plan.outcome === 'created' || plan.outcome === 'saved';
}

/** The answer to a write the plan does not save; `row` is the entry it was decided against. */
export function unsavedAnswer(plan: Exclude<WritePlan, SavePlan>, row: StoredEntryRow | null): WriteFileResult {
  switch (plan.outcome) {
    case 'unchanged':
      return { outcome: 'unchanged', entry: toEntry(row!) };
    case 'conflict':
      return { outcome: 'conflict', current: toEntry(row!) };
    default:
      return { outcome: plan.outcome };
  }
}

/** A replaced version as the versions table keeps it. */
export interface KeptVersion {
  account_id: string;
  kind: string;
  key: string;
  version: number;
  size: number;
  sha256: string;
  updated_at_ms: number;
}

/**
 * The version a save or delete replaces, to keep as a backup. Throws backup_failed (failing the whole step)
 * when it has no content; the storage then checks the content is really there (`backupContentMissing`).
 */
export function versionToKeep(row: StoredEntryRow): KeptVersion {
  if (row.sha256 === null || row.version === null || row.size === null) {
    throw new StorageError('backup_failed', `the current version of ${row.path} has no content to keep`);
  }
  return {
    account_id: row.account_id,
    kind: row.kind,
    key: row.key,
    version: row.version,
    size: Number(row.size),
    sha256: row.sha256,
    updated_at_ms: Number(row.updated_at_ms),
  };
}

export function backupContentMissing(row: StoredEntryRow): StorageError {
  return new StorageError(
    'backup_failed',
    `the content of ${row.path} v${row.version} is missing, so it cannot be kept as a backup`,
  );
}
