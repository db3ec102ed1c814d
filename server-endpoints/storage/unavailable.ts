// Which storage failures mean "PostgreSQL or the object store cannot be reached right now": the endpoints answer
// those 503 (the client retries) instead of 500, and the storages recover by themselves once the service is back.

/** Socket errors of a service that is down, restarting or unreachable. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/**
 * PostgreSQL SQLSTATEs of a server going away or not accepting connections yet: class 08 (connection
 * exception), 57P01-57P03 (shut down by an administrator, crashed, starting up), 53300 (too many connections).
 */
function isPostgresUnavailable(code: string): boolean {
  return code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '53300';
}

/** node-postgres reports a connection that ends under a query or cannot be opened in time by message only. */
const PG_CONNECTION_MESSAGE =
  /^Connection terminated|^timeout exceeded when trying to connect|^Client has encountered a connection error/;

/** S3 answers that say "not now": the store's own 5xx and the SDK's timeouts. */
const S3_UNAVAILABLE_NAMES = new Set([
  'TimeoutError',
  'RequestTimeout',
  'ServiceUnavailable',
  'SlowDown',
  'InternalError',
]);

export function isStorageUnavailable(error: unknown, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > 3) return false;
  const { code, name, message, cause, errors, $metadata } = error as {
    code?: unknown;
    name?: unknown;
    message?: unknown;
    cause?: unknown;
    errors?: unknown;
    $metadata?: { httpStatusCode?: number };
  };
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || isPostgresUnavailable(code))) return true;
  if (typeof message === 'string' && PG_CONNECTION_MESSAGE.test(message)) return true;
  const status = $metadata?.httpStatusCode;
  if (status === 500 || status === 502 || status === 503 || status === 504) return true;
  if (typeof name === 'string' && S3_UNAVAILABLE_NAMES.has(name)) return true;
  // Node wraps a refused connection to a name with several addresses in an AggregateError.
  if (Array.isArray(errors) && errors.some((inner) => isStorageUnavailable(inner, depth + 1))) return true;
  return isStorageUnavailable(cause, depth + 1);
}
