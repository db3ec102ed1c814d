// Where a login may send the browser afterwards (`next`): only a path on the platform's own origin.

import { hasInvisible } from '../../protocol/index.js';

/** Any origin would do: only whether the resolved URL stays on it matters. */
const PROBE_ORIGIN = 'http://platform.invalid';
const MAX_RETURN_PATH = 4096;

/**
 * A same-origin path (with its query) or '/': never another origin, so `next` cannot redirect away. The value is
 * resolved as a browser would resolve it against the platform, and the result must be a path that a browser reads
 * as a path again: `/..//evil.example/x` resolves to `//evil.example/x`, which a browser reads as another host.
 */
export function safeReturnPath(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_RETURN_PATH) return '/';
  // Not a path at all, or the protocol-relative spellings ("//host", "/\host"); controls and bidi characters can
  // hide either, and browsers strip tabs and newlines from URLs before reading them.
  if (!value.startsWith('/') || value.startsWith('//') || value.includes('\\') || hasInvisible(value)) return '/';
  let resolved: URL;
  try {
    resolved = new URL(value, PROBE_ORIGIN);
  } catch {
    return '/';
  }
  if (resolved.origin !== PROBE_ORIGIN) return '/';
  const path = resolved.pathname;
  if (!path.startsWith('/') || path.startsWith('//') || path.includes('\\')) return '/';
  return `${path}${resolved.search}`;
}
