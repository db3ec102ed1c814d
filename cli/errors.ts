// The CLI's exit codes (SPEC.md "The headless CLI") and the one error type that carries them to main.

import { EngineError, isSignedOut, OfflineError } from '../sync-engine/errors.js';
import { FolderLockedError } from '../sync-engine/folder-lock.js';

export const EXIT = {
  done: 0,
  failed: 1,
  usage: 2,
  signedOut: 3,
  unreachable: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure the CLI reports as one sentence on stderr and an exit code. */
export class CliError extends Error {
  readonly exitCode: ExitCode;
  readonly code: string;

  constructor(exitCode: ExitCode, code: string, message: string) {
    super(message);
    this.exitCode = exitCode;
    this.code = code;
  }
}

export const notSignedIn = (origin: string): CliError =>
  new CliError(EXIT.signedOut, 'signed_out', `You are not signed in to ${origin}. Run: hyperclay-sync login`);

export const unreachable = (url: string, detail: string): CliError =>
  new CliError(
    EXIT.unreachable,
    'unreachable',
    `The platform at ${url} cannot be reached (${detail}). Check your connection or HYPERCLAY_URL, then try again.`,
  );

/** The short reason inside an unreachable-platform error, for one sentence of our own. */
export function reachDetail(error: unknown): string {
  if (error instanceof OfflineError) return /\(([^)]*)\)/.exec(error.message)?.[1] ?? 'no answer';
  if (error instanceof Error) return error.message.replace(/\.$/, '');
  return 'no answer';
}

/** Maps anything thrown by a command to its exit code and sentence. */
export function toCliError(error: unknown, url: string): CliError {
  if (error instanceof CliError) return error;
  if (isSignedOut(error)) {
    return new CliError(EXIT.signedOut, error.code, `${error.message} Run: hyperclay-sync login`);
  }
  if (error instanceof OfflineError) return unreachable(url, reachDetail(error));
  if (error instanceof FolderLockedError) return new CliError(EXIT.failed, error.code, error.message);
  if (error instanceof EngineError) return new CliError(EXIT.failed, error.code, error.message);
  const message = error instanceof Error ? error.message : String(error);
  return new CliError(EXIT.failed, 'failed', message);
}
