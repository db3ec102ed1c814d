// The pure checks of PROTOCOL.md "Auth": where a token may be sent (origins, loopback hosts), where a sign-in code
// may be redirected (the app's deep-link scheme, redirect URIs) and the PKCE verifier's shape. Both sides use them.

import { isIP } from 'node:net';

/** 127.0.0.0/8, ::1 and localhost (a URL's `hostname`, brackets allowed). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  if (host.toLowerCase() === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1';
  return false;
}

/** The origin a token may be sent to, normalised (`scheme://host[:port]`), or why it may not. */
export type OriginCheck = { ok: true; value: string } | { ok: false; why: string };

/** https:// anywhere; http:// only on loopback. A bare origin: no credentials, path, query or fragment. */
export function checkTokenOrigin(origin: string): OriginCheck {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return { ok: false, why: 'it is not a URL' };
  }
  if (url.username || url.password) return { ok: false, why: 'it holds credentials' };
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    return { ok: false, why: 'it must be a bare origin without a path or query' };
  }
  if (url.protocol === 'https:') return { ok: true, value: url.origin };
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return { ok: true, value: url.origin };
  return { ok: false, why: 'a token is only sent over https:// (or http:// on this machine)' };
}

const SCHEME = /^[a-z][a-z0-9+.-]{0,31}$/;
/** Schemes a deep-link callback can never use: they belong to the web or run code. */
const FORBIDDEN_SCHEMES = new Set([
  'http',
  'https',
  'javascript',
  'data',
  'file',
  'blob',
  'about',
  'vbscript',
  'ws',
  'wss',
]);

/** A scheme the desktop app may register for its sign-in deep link. */
export function isValidScheme(scheme: string): boolean {
  return SCHEME.test(scheme) && !FORBIDDEN_SCHEMES.has(scheme);
}

/** The desktop app's redirect URI for its scheme (PROTOCOL.md Auth step 1). */
export function callbackUri(scheme: string): string {
  return `${scheme}://auth/callback`;
}

/**
 * `http://127.0.0.1:<port>/callback` or `http://[::1]:<port>/callback` spelled exactly so, with nothing else (no
 * user, query or fragment): the CLI's loopback redirect.
 */
export function isLoopbackRedirectUri(raw: string): boolean {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:') return false;
  if (url.hostname !== '127.0.0.1' && url.hostname !== '[::1]') return false;
  if (url.port === '' || url.pathname !== '/callback') return false;
  // An empty `?` or `#` leaves search and hash empty, so the raw text is checked too.
  if (/[?#@]/.test(raw) || url.username !== '' || url.password !== '') return false;
  // Comparing with the serialised form refuses every spelling the URL parser would quietly rewrite
  // (userinfo, empty query, `%2e` segments, `127.1`, a default port, upper-case scheme...).
  return url.href === raw;
}

/**
 * The redirect URI when it is one PROTOCOL.md allows, else null: exactly `<appScheme>://auth/callback`, or a
 * loopback `/callback` (isLoopbackRedirectUri).
 */
export function checkRedirectUri(raw: string, appScheme: string): string | null {
  return raw === callbackUri(appScheme) || isLoopbackRedirectUri(raw) ? raw : null;
}

const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

/** A PKCE code verifier (RFC 7636: 43-128 unreserved characters). */
export function isCodeVerifier(value: unknown): value is string {
  return typeof value === 'string' && VERIFIER.test(value);
}
