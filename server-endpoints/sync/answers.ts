// How a file write is checked and answered, the same for a single PUT and a batch item: the write fields (the
// headers of PROTOCOL.md "Files"), the status and body of each outcome, and the answer to a storage failure.

import { type Entry, ERROR_STATUS, type ErrorCode, errorBody, isIsoUtc, isSha256 } from '../../protocol/index.js';
import { isStorageUnavailable } from '../storage/unavailable.js';
import type { Account, FileKey, WriteFileResult } from '../types.js';

/** X-Base-Version, X-Modified-At and Content-SHA256 as sent (headers, or a batch item's fields). */
export interface WriteFields {
  baseVersion: string | undefined;
  modifiedAt: string | undefined;
  sha256: string | undefined;
}

export type CheckedFields =
  | { ok: true; baseVersion: number; modifiedAtMs: number; sha256: string }
  | { ok: false; message: string };

/** The write fields checked (each refusal is 400 bad_request with this sentence). */
export function checkWriteFields(fields: WriteFields): CheckedFields {
  const { baseVersion, modifiedAt } = fields;
  const sha256 = fields.sha256?.toLowerCase();
  if (baseVersion === undefined || !/^\d{1,15}$/.test(baseVersion)) {
    return { ok: false, message: 'X-Base-Version must be the version the content was edited from (0 for new).' };
  }
  if (!isIsoUtc(modifiedAt)) {
    return { ok: false, message: 'X-Modified-At must be an ISO 8601 UTC time with milliseconds.' };
  }
  if (!isSha256(sha256)) return { ok: false, message: 'Content-SHA256 must be the hex sha256 of the body.' };
  return { ok: true, baseVersion: Number(baseVersion), modifiedAtMs: Date.parse(modifiedAt), sha256 };
}

export const SHA_MISMATCH = 'The body does not match its Content-SHA256; it was changed or cut in transit.';

/** A status with the JSON body that goes with it: an entry, or a PROTOCOL.md error body. */
export interface Answer {
  status: number;
  body: Entry | ReturnType<typeof errorBody>;
  /** The event worth a log line, if any (saves and conflicts). */
  event?: string;
}

export function errorAnswer(code: ErrorCode, message: string, extra: Record<string, unknown> = {}): Answer {
  return { status: ERROR_STATUS[code], body: errorBody(code, message, extra) };
}

/** The answer PROTOCOL.md gives each outcome of a write. */
export function writeAnswer(file: FileKey, result: WriteFileResult, account: Account): Answer {
  const what = `${file.kind} ${file.key}`;
  switch (result.outcome) {
    case 'unchanged':
      return { status: 200, body: result.entry };
    case 'created':
    case 'saved':
      return {
        status: result.outcome === 'created' ? 201 : 200,
        body: result.entry,
        event: `${result.outcome} ${what} v${result.entry.version} ${result.entry.size} B`,
      };
    case 'conflict':
      return {
        ...errorAnswer('conflict', `A newer version of ${file.key} is on the platform; this one lost.`, {
          current: result.current,
        }),
        event: `conflict ${what} current v${result.current.version}`,
      };
    case 'path_conflict':
      return errorAnswer('path_conflict', `${file.key} would sit where a folder is, or inside a file.`);
    case 'name_taken':
      return errorAnswer('name_taken', `The site name ${file.key} belongs to another account. Rename the file.`);
    case 'site_limit_reached':
      return errorAnswer('site_limit_reached', "You've run out of sites. We can't sync any more sites.");
    case 'storage_limit_reached':
      return errorAnswer(
        'storage_limit_reached',
        `Saving ${file.key} would pass your storage quota of ${account.maxStorageBytes} bytes. Free some space or upgrade your plan.`,
      );
  }
}

/**
 * A storage failure as a protocol error: PostgreSQL or the object store unreachable is `unavailable`, the storage's own
 * codes say which, anything else is `internal`.
 */
export function failureAnswer(error: Error): Answer {
  const code = (error as { code?: unknown }).code;
  if (isStorageUnavailable(error)) {
    return errorAnswer('unavailable', 'The platform cannot reach its storage right now. Try again in a moment.');
  }
  if (code === 'backup_failed') {
    return errorAnswer(
      'internal',
      'The previous version could not be kept as a backup, so nothing was saved. Try again.',
    );
  }
  if (code === 'bad_write') return errorAnswer('bad_request', 'The platform refused this write as malformed.');
  return errorAnswer('internal', 'The platform could not complete this request. Try again in a moment.');
}
