// The engine's typed errors: what went wrong talking to the platform, as a code and a sentence a user can act on,
// and which of them an error answer of the platform stands for.

import { type Entry, parseEntry, parseErrorBody } from '../protocol/index.js';

/** Every error the engine's network layer throws: a stable `code` for the code, a `message` for the person. */
export class EngineError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The platform answered with an error status. `body` is the platform's `error` object (code, message, extras). */
export class ApiError extends EngineError {
  readonly status: number;
  readonly body: Record<string, unknown>;
  /** True for 429 and 5xx: the retries ran out, the next poll may succeed. */
  readonly transient: boolean;

  constructor(status: number, code: string, message: string, body: Record<string, unknown> = {}) {
    super(code, message);
    this.status = status;
    this.body = body;
    this.transient = status === 429 || status >= 500;
  }
}

/** 401 (token missing, expired or revoked) or 402 (no paid plan): the person must sign in again. */
export class SignedOutError extends ApiError {
  declare readonly code: SignedOutReason;

  /** `status` is 0 when no request was made (no token for this platform). */
  constructor(status: number, code: SignedOutReason, message: string, body: Record<string, unknown> = {}) {
    super(status, code, message, body);
  }
}

/** `signed_out`: there is no token for this platform at all (never signed in, logged out, another origin). */
export type SignedOutReason = 'unauthorized' | 'subscription_required' | 'signed_out';

/** 410 cursor_reset: list again from cursor `0` (a new session). */
export class CursorResetError extends ApiError {}

/** 409 conflict: the write lost last-write-wins; `current` is the platform's entry to pull. Final for that content. */
export class ConflictError extends ApiError {
  readonly current: Entry;

  constructor(message: string, body: Record<string, unknown>, current: Entry) {
    super(409, 'conflict', message, body);
    this.current = current;
  }
}

/** 426 client_outdated: this app is older than the platform still serves. */
export class ClientOutdatedError extends ApiError {
  readonly minClientVersion: string | null;

  constructor(message: string, body: Record<string, unknown>, minClientVersion: string | null) {
    super(426, 'client_outdated', message, body);
    this.minClientVersion = minClientVersion;
  }
}

/** The platform could not be reached (network errors or timeouts) after every retry. */
export class OfflineError extends EngineError {
  constructor(detail: string, options?: { cause?: unknown }) {
    super(
      'offline',
      `The platform cannot be reached (${detail}). Check your internet connection; sync resumes by itself once it is back.`,
      options,
    );
  }
}

export type IntegrityReason = 'size' | 'sha256' | 'too_long' | 'changed';

/**
 * A download did not match what the platform said it is (size, sha256, or a body longer than announced).
 * Nothing from it may be installed. `changed`: the platform now holds a newer version than the one planned.
 */
export class TransferIntegrityError extends EngineError {
  readonly reason: IntegrityReason;
  /**
   * `changed`: what the platform holds now, as its answer announced it, when the answer said. The engine plans the
   * next try with it: a change the feed already went past is not waited for in vain.
   */
  readonly current: { sha256: string; version: number; size?: number; updatedAt?: string } | undefined;

  constructor(
    reason: IntegrityReason,
    detail: string,
    current?: { sha256: string; version: number; size?: number; updatedAt?: string },
  ) {
    super(
      'transfer_integrity',
      reason === 'changed'
        ? `${detail}; it changed on the platform during the download and will be fetched again at the next poll.`
        : `${detail}; the download was discarded and will be tried again at the next poll.`,
    );
    this.reason = reason;
    this.current = current;
  }
}

/** A file transfer outlived its deadline (it trickled): abandoned, and tried again at the next poll. */
export class TransferDeadlineError extends EngineError {
  constructor(what: string, deadlineMs: number) {
    super(
      'transfer_deadline',
      `${what} took longer than ${Math.round(deadlineMs / 1000)} s; it was abandoned and will be tried again at the next poll.`,
    );
  }
}

/** The sync stopped while a request was under way (not a failure of the request itself). */
export function isStopped(error: unknown): boolean {
  return error instanceof EngineError && error.code === 'client_closed';
}

/** A response this client cannot read (malformed JSON, a body that breaks the protocol, an unexpected redirect). */
export class BadResponseError extends EngineError {
  readonly status: number;

  constructor(status: number, detail: string, options?: { cause?: unknown }) {
    super(
      'bad_response',
      `The platform sent a response this app cannot read (${detail}). Try again later; if it keeps happening, update Hyperclay Sync.`,
      options,
    );
    this.status = status;
  }
}

/** The configured platform address cannot carry a token: not https:// and not loopback, or not a bare origin. */
export class InsecureOriginError extends EngineError {
  constructor(origin: string, why: string) {
    super(
      'insecure_origin',
      `Refusing to talk to ${JSON.stringify(origin)}: ${why}. Set HYPERCLAY_URL to an https:// address (http:// only for 127.0.0.1 or localhost).`,
    );
  }
}

/** The browser sign-in did not complete: the person cancelled it, the code was refused, or it timed out. */
export class SignInError extends EngineError {
  declare readonly code: SignInFailure;

  constructor(code: SignInFailure, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

export type SignInFailure =
  | 'sign_in_cancelled'
  | 'invalid_grant'
  | 'sign_in_timeout'
  | 'sign_in_failed'
  | 'sign_in_denied'
  | 'sign_in_expired';

/** True when the error means "the person must sign in again" (stop syncing, show signed-out). */
export function isSignedOut(error: unknown): error is SignedOutError {
  return error instanceof SignedOutError;
}

/** A server's error sentence as safe text for a log line or the UI: no control characters, bounded. */
function cleanMessage(message: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
  const text = message.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}

/** The error a non-2xx answer stands for, from its status and its (bounded, maybe absent or malformed) body. */
export function errorForAnswer(status: number, raw: Buffer | null): EngineError {
  let parsed: ReturnType<typeof parseErrorBody> = null;
  if (raw !== null && raw.length > 0) {
    try {
      parsed = parseErrorBody(JSON.parse(raw.toString('utf8')));
    } catch {
      parsed = null;
    }
  }
  const code = parsed?.code && /^[a-z_]{1,64}$/.test(parsed.code) ? parsed.code : `http_${status}`;
  const message = parsed ? cleanMessage(parsed.message) : '';
  const body = parsed?.body ?? {};
  if (status === 401) {
    return new SignedOutError(
      401,
      'unauthorized',
      message || 'Your sign-in has expired or was revoked. Sign in again.',
      body,
    );
  }
  if (status === 402) {
    return new SignedOutError(
      402,
      'subscription_required',
      message || 'Syncing needs a paid plan. Upgrade your subscription, then sign in again.',
      body,
    );
  }
  if (status === 410) {
    return new CursorResetError(
      410,
      'cursor_reset',
      message || 'The change feed must be listed again from the start.',
      body,
    );
  }
  if (status === 426) {
    const min = typeof body.minClientVersion === 'string' ? cleanMessage(body.minClientVersion) : null;
    return new ClientOutdatedError(
      message || 'This version of Hyperclay Sync is too old. Please update it.',
      body,
      min,
    );
  }
  if (status === 409 && code === 'conflict') {
    try {
      return new ConflictError(message || 'The platform holds a newer version.', body, parseEntry(body.current));
    } catch (error) {
      return new BadResponseError(409, `a conflict without a valid current entry: ${String(error)}`, { cause: error });
    }
  }
  return new ApiError(status, code, message || `The platform answered ${status}.`, body);
}
