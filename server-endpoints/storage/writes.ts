// How every storage carries out the write decision of ../sync/decide.ts: the two phases of a write, the answer
// to a write that is not saved, and the backup of a replaced version.

import type { StoredFileState, WritePlan } from '../sync/decide.js';
import type { WriteFileRequest, WriteFileResult } from '../types.js';
import { checkRequest, StorageError, type StoredEntryRow, toEntry } from './common.js';

/** A phase's answer: a final result, or "this write will be saved: store its content, then commit". */
export type Commit = WriteFileResult | { outcome: 'needs_content' };

export type SavePlan = Extract<WritePlan, { outcome: 'created' | 'saved' }>;

/**
 * A write in two phases. The first decides without a lock, so content is stored only for a write that will
 * be saved; the second decides again in the write's transaction, on what the previous writer committed, and
 * applies the outcome. Content is stored in between, so committed metadata never points at missing content.
 */
export async function writeInTwoPhases(
  request: WriteFileRequest,
  phases: {
    decide(): Commit | Promise<Commit>;
    storeContent(): Promise<void>;
    commit(): Commit | Promise<Commit>;
  },
): Promise<WriteFileResult> {
  checkRequest(request);
  const first = await phases.decide();
  if (first.outcome !== 'needs_content') return first;
  await phases.storeContent();
  const result = await phases.commit();
  if (result.outcome === 'needs_content') throw new Error('unreachable: content was stored');
  return result;
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
