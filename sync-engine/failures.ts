// The one failure classifier: whatever a push, pull, session or poll threw, what it means for the entry and for
// the sync (SPEC.md "Errors, retries, offline"). Pure; the engine reacts to the class in one place.

import { BackupError } from './backup.js';
import {
  ApiError,
  ClientOutdatedError,
  CursorResetError,
  isSignedOut,
  isStopped,
  OfflineError,
  type SignedOutError,
} from './errors.js';
import { FolderMissingError, LocalPathError } from './fsutil.js';
import { NOTICE_TEXT, type Notice } from './status.js';

export type Failure =
  /** The platform signed this device out (401, 402): stop, forget the token. */
  | { kind: 'signed-out'; error: SignedOutError }
  /** This client is older than the platform serves (426): stop, show the message. */
  | { kind: 'outdated'; message: string }
  /** The platform cannot be reached: stop polling, probe until it answers, then a new session. */
  | { kind: 'offline'; message: string }
  /** The change feed must be listed again from the start (410): a new session. */
  | { kind: 'cursor-reset' }
  /** The sync folder itself is gone: sync of it stops until it is back at its path. */
  | { kind: 'folder-missing'; message: string }
  /** Sync was stopped while the step ran: nothing to report. */
  | { kind: 'stopped' }
  /**
   * Refused for good for this content or this version (413, name_taken, invalid_*, path_conflict, a path through a
   * symlink, a plan limit): skip until the entry changes. `notice`: a plan limit to show meanwhile.
   */
  | { kind: 'skip'; code: string; message: string; notice?: Notice }
  /**
   * Anything else: the entry is tried again at the next poll. `backup`: the backup before an overwrite failed, so
   * nothing was overwritten.
   */
  | { kind: 'retry'; message: string; backup?: boolean };

/** Platform refusals that are final for the content that was sent. */
const FINAL_REFUSALS: ReadonlySet<string> = new Set([
  'path_conflict',
  'name_taken',
  'too_large',
  'invalid_name',
  'invalid_path',
  'bad_request',
]);

/** One sentence, without the trailing full stop (log lines add their own words after it). */
function sentence(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\.$/, '');
}

export function classify(error: unknown): Failure {
  if (isSignedOut(error)) return { kind: 'signed-out', error };
  if (error instanceof ClientOutdatedError) return { kind: 'outdated', message: error.message };
  if (error instanceof OfflineError) return { kind: 'offline', message: error.message };
  if (error instanceof CursorResetError) return { kind: 'cursor-reset' };
  if (error instanceof FolderMissingError) return { kind: 'folder-missing', message: error.message };
  if (isStopped(error)) return { kind: 'stopped' };
  // Where the path itself is the problem (through a symlink, climbing out, a file where a folder must be), trying
  // again changes nothing until one side changes.
  if (error instanceof LocalPathError) return { kind: 'skip', code: error.code, message: sentence(error) };
  if (error instanceof ApiError) {
    if (FINAL_REFUSALS.has(error.code)) return { kind: 'skip', code: error.code, message: error.message };
    if (error.code === 'site_limit_reached') {
      const notice: Notice = { code: 'site_limit_reached', text: NOTICE_TEXT.site_limit_reached };
      return { kind: 'skip', code: error.code, message: 'the site limit of the plan is reached', notice };
    }
    if (error.code === 'storage_limit_reached') {
      const notice: Notice = { code: 'storage_limit_reached', text: error.message };
      return { kind: 'skip', code: error.code, message: error.message, notice };
    }
  }
  if (error instanceof BackupError) return { kind: 'retry', message: error.message, backup: true };
  return { kind: 'retry', message: sentence(error) };
}
