// The error codes of PROTOCOL.md, their HTTP statuses, and the one JSON shape every error takes.

export const ERROR_STATUS = {
  bad_request: 400,
  invalid_name: 400,
  invalid_path: 400,
  invalid_grant: 400,
  // Device sign-in polls (PROTOCOL.md "Device sign-in").
  authorization_pending: 400,
  slow_down: 400,
  access_denied: 400,
  expired_token: 400,
  unauthorized: 401,
  subscription_required: 402,
  site_limit_reached: 403,
  storage_limit_reached: 403,
  not_found: 404,
  name_taken: 409,
  conflict: 409,
  path_conflict: 409,
  cursor_reset: 410,
  too_large: 413,
  client_outdated: 426,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface ErrorBody {
  error: { code: string; message: string; [field: string]: unknown };
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_STATUS, value);
}

export function errorBody(code: ErrorCode, message: string, extra: Record<string, unknown> = {}): ErrorBody {
  return { error: { ...extra, code, message } };
}

/** Statuses the client retries with backoff (PROTOCOL.md: 429 and 5xx). */
export function isTransientStatus(status: number): boolean {
  return status === 429 || status === 500 || status === 502 || status === 503 || status === 504;
}

/** Parses an error body from the network; anything malformed becomes null, never a throw. */
export function parseErrorBody(
  value: unknown,
): { code: string; message: string; body: Record<string, unknown> } | null {
  if (typeof value !== 'object' || value === null) return null;
  const error = (value as { error?: unknown }).error;
  if (typeof error !== 'object' || error === null) return null;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code !== 'string' || typeof message !== 'string') return null;
  return { code, message, body: error as Record<string, unknown> };
}
