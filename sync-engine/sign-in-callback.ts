// What a sign-in callback means (PROTOCOL.md "Auth" step 2, `R?code=K&state=S`): the strict check of a deep link or a
// loopback request against the pending sign-in's state. Pure; the deep link and the loopback listener share it.

import { createHash, timingSafeEqual } from 'node:crypto';
import { callbackUri, isValidScheme } from '../protocol/index.js';

/** What a callback (deep link or loopback request) means for the pending sign-in. */
export type CallbackResult =
  | { type: 'code'; code: string }
  | { type: 'cancelled' }
  /** Not for us: log `reason` (it never holds the code) and keep waiting. */
  | { type: 'ignored'; reason: string };

const CODE = /^[A-Za-z0-9._~-]{8,512}$/;
const STATE_MAX = 256;
const URL_MAX = 2048;
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing whitespace and control characters is the point
const UNSAFE_TEXT = /[\s\u0000-\u001f\u007f-\u009f]/;

/** The shape of a sign-in code, in a callback or pasted by hand. */
export function isSignInCode(code: string): boolean {
  return CODE.test(code);
}

/** Constant-time equality of two strings of any length (hashing first hides the length too). */
export function sameSecret(a: string, b: string): boolean {
  const left = createHash('sha256').update(a, 'utf8').digest();
  const right = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(left, right) && a === b;
}

/**
 * Validates the query of a callback: only `state` plus `code` or `error=access_denied`, each once, bounded,
 * and `state` equal to the pending one. Shared by the deep link and the loopback listener.
 */
export function checkCallbackParams(params: URLSearchParams, expectedState: string | null | undefined): CallbackResult {
  if (!expectedState) return { type: 'ignored', reason: 'no sign-in is pending' };
  const seen = new Set<string>();
  for (const name of params.keys()) {
    if (name !== 'code' && name !== 'state' && name !== 'error') {
      return { type: 'ignored', reason: 'the callback carries an unexpected parameter' };
    }
    if (seen.has(name)) return { type: 'ignored', reason: `the callback repeats "${name}"` };
    seen.add(name);
  }
  const state = params.get('state');
  if (state === null || state.length === 0) return { type: 'ignored', reason: 'the callback has no state' };
  if (state.length > STATE_MAX || !sameSecret(state, expectedState)) {
    return { type: 'ignored', reason: 'the callback state does not match this sign-in' };
  }
  const code = params.get('code');
  const error = params.get('error');
  if (error !== null) {
    if (code !== null) return { type: 'ignored', reason: 'the callback has both a code and an error' };
    if (error === 'access_denied') return { type: 'cancelled' };
    return { type: 'ignored', reason: 'the callback has an unknown error' };
  }
  if (code === null) return { type: 'ignored', reason: 'the callback has no code' };
  if (!CODE.test(code)) return { type: 'ignored', reason: 'the callback code is malformed' };
  return { type: 'code', code };
}

/** The deep link as text that may be `<scheme>://auth/callback?…`, or why it cannot be. */
function deepLinkText(url: unknown, scheme: string): { ok: true; text: string } | { ok: false; reason: string } {
  if (!isValidScheme(scheme)) return { ok: false, reason: 'the app scheme is not configured correctly' };
  if (typeof url !== 'string') return { ok: false, reason: 'the callback is not text' };
  if (url.length > URL_MAX) return { ok: false, reason: 'the callback is too long' };
  // The URL parser would quietly drop tabs, newlines and edge spaces: refuse them instead.
  if (UNSAFE_TEXT.test(url)) return { ok: false, reason: 'the callback holds whitespace or control characters' };
  if (!url.toLowerCase().startsWith(`${scheme}:`)) return { ok: false, reason: 'the callback has another scheme' };
  if (!url.startsWith(`${callbackUri(scheme)}?`)) {
    return { ok: false, reason: 'the callback is not <scheme>://auth/callback?…' };
  }
  return { ok: true, text: url };
}

/**
 * Parses the desktop deep link `<scheme>://auth/callback?code=K&state=S` strictly: exact scheme, host and
 * path, nothing else in it, bounded lengths, the pending state. Anything else is `ignored` with a reason to log.
 */
export function parseCallbackUrl(
  url: unknown,
  options: { scheme: string; expectedState: string | null | undefined },
): CallbackResult {
  if (!options.expectedState) return { type: 'ignored', reason: 'no sign-in is pending' };
  const text = deepLinkText(url, options.scheme);
  if (!text.ok) return { type: 'ignored', reason: text.reason };
  let parsed: URL;
  try {
    parsed = new URL(text.text);
  } catch {
    return { type: 'ignored', reason: 'the callback is not a URL' };
  }
  if (
    parsed.protocol !== `${options.scheme}:` ||
    parsed.username !== '' ||
    parsed.password !== '' ||
    parsed.host !== 'auth' ||
    parsed.pathname !== '/callback' ||
    parsed.hash !== ''
  ) {
    return { type: 'ignored', reason: 'the callback is not <scheme>://auth/callback' };
  }
  return checkCallbackParams(parsed.searchParams, options.expectedState);
}
