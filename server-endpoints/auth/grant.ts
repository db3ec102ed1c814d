// The pieces of the authorization-code grant: allowed redirect targets, the authorize parameters, PKCE S256,
// sign-in codes (random, stored by hash) and the consent form's CSRF token.

import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** The CSP form-action source that lets the consent form's redirect reach `redirectUri`. */
export function formActionSource(redirectUri: string, appScheme: string): string {
  if (redirectUri.startsWith(`${appScheme}:`)) return `${appScheme}:`;
  const url = new URL(redirectUri);
  // CSP host-sources cannot name an IPv6 literal; the scheme is the narrowest source that matches [::1].
  return url.hostname === '[::1]' ? 'http:' : url.origin;
}

export interface AuthorizeParams {
  redirect_uri: string;
  state: string;
  code_challenge: string;
  code_challenge_method: 'S256';
  device_name: string;
}

export type ParamsCheck = { ok: true; params: AuthorizeParams } | { ok: false; problem: string };

const STATE = /^[\x21-\x7e]{1,512}$/;
const CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
export const MAX_DEVICE_NAME_CHARS = 100;

/**
 * Checks the authorize parameters other than redirect_uri (which is checked first, on its own, because a bad
 * one must never be redirected to). `get` returns every value given for a name, so duplicates are refused.
 */
export function checkAuthorizeParams(redirectUri: string, get: (name: string) => string[]): ParamsCheck {
  const one = (name: string): string | null => {
    const values = get(name);
    return values.length === 1 ? (values[0] ?? null) : null;
  };
  const state = one('state');
  if (state === null || !STATE.test(state)) return { ok: false, problem: 'The state parameter is missing or invalid.' };
  const challenge = one('code_challenge');
  if (challenge === null || !CHALLENGE.test(challenge)) {
    return { ok: false, problem: 'The code_challenge parameter is missing or is not a PKCE S256 challenge.' };
  }
  if (one('code_challenge_method') !== 'S256') {
    return { ok: false, problem: 'The code_challenge_method parameter must be S256.' };
  }
  const device = checkDeviceName(one('device_name'));
  if (device === null) {
    return {
      ok: false,
      problem: `The device_name parameter must be 1 to ${MAX_DEVICE_NAME_CHARS} characters without control characters.`,
    };
  }
  return {
    ok: true,
    params: {
      redirect_uri: redirectUri,
      state,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      device_name: device,
    },
  };
}

/** A device's name as it asked to be called: NFC, trimmed, 1-100 characters, no control characters; else null. */
export function checkDeviceName(raw: unknown): string | null {
  if (typeof raw !== 'string') return null;
  const device = raw.normalize('NFC').trim();
  if (device === '' || [...device].length > MAX_DEVICE_NAME_CHARS || CONTROL.test(device)) return null;
  return device;
}

/** A new sign-in code: 256 random bits, URL-safe, short enough to paste. */
export function newCode(): string {
  return randomBytes(32).toString('base64url');
}

/** Codes are stored by this hash only, so a copy of the store cannot be exchanged for tokens. */
export function hashCode(code: string): string {
  return createHash('sha256').update(code, 'utf8').digest('hex');
}

/** PKCE S256: BASE64URL(SHA256(verifier)) equals the challenge, compared in constant time. */
export function verifierMatches(verifier: string, challenge: string): boolean {
  const computed = Buffer.from(createHash('sha256').update(verifier, 'ascii').digest('base64url'));
  const expected = Buffer.from(challenge);
  return computed.length === expected.length && timingSafeEqual(computed, expected);
}

/** How long a consent page's form stays valid. */
export const CSRF_LIFETIME_MS = 30 * 60 * 1000;

/** What an authorize form's CSRF token is bound to: the signed-in account and the five parameters. */
function authorizeBinding(accountId: string, params: AuthorizeParams): string[] {
  return [accountId, params.redirect_uri, params.state, params.code_challenge, params.device_name];
}

function csrfMac(secret: string, binding: string[], issuedAtS: number): string {
  // A key of its own, derived from the token secret, so a CSRF value can never be confused with a token signature.
  const key = createHmac('sha256', secret).update('hyperclay-sync authorize csrf v1').digest();
  const bound = JSON.stringify([binding[0], issuedAtS, ...binding.slice(1)]);
  return createHmac('sha256', key).update(bound).digest('base64url');
}

/**
 * A form's CSRF token: bound to `binding` (the signed-in account first, then what the form is about) and the time
 * it was issued. The consent form binds its parameters; the device page binds the page and the user code.
 */
export function formCsrfToken(secret: string, binding: string[], nowMs: number): string {
  const issuedAtS = Math.floor(nowMs / 1000);
  return `${issuedAtS}.${csrfMac(secret, binding, issuedAtS)}`;
}

export function formCsrfValid(secret: string, binding: string[], token: string, nowMs: number): boolean {
  const match = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!match) return false;
  const issuedAtS = Number(match[1]);
  const ageMs = nowMs - issuedAtS * 1000;
  if (ageMs < -60_000 || ageMs > CSRF_LIFETIME_MS) return false;
  const expected = Buffer.from(csrfMac(secret, binding, issuedAtS));
  const given = Buffer.from(match[2] ?? '');
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** The consent form's CSRF token: bound to the signed-in account, these exact parameters and the time it was issued. */
export function csrfToken(secret: string, accountId: string, params: AuthorizeParams, nowMs: number): string {
  return formCsrfToken(secret, authorizeBinding(accountId, params), nowMs);
}

export function csrfValid(
  secret: string,
  accountId: string,
  params: AuthorizeParams,
  token: string,
  nowMs: number,
): boolean {
  return formCsrfValid(secret, authorizeBinding(accountId, params), token, nowMs);
}
