// The client side of sign-in (PROTOCOL.md "Auth"): PKCE, the loopback listener, the deep-link check, the code
// exchange, the token store seam and logout.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ApiClient, checkOrigin, createApiClient, type EngineLog, type SavedToken } from './api.js';
import { ApiError, EngineError, SignInError } from './errors.js';
import type { TokenStore as SettingsTokens } from './settings.js';

/** Where the token lives between runs (settings.ts implements it over conf with mode 0600). */
export interface TokenStore {
  load(): SavedToken | null | Promise<SavedToken | null>;
  save(token: SavedToken): void | Promise<void>;
  clear(): void | Promise<void>;
}

/** A signed-in result: the saved token plus who it is for. */
export type SignedIn = SavedToken & { user: NonNullable<SavedToken['user']> };

/** What a callback (deep link or loopback request) means for the pending sign-in. */
export type CallbackResult =
  | { type: 'code'; code: string }
  | { type: 'cancelled' }
  /** Not for us: log `reason` (it never holds the code) and keep waiting. */
  | { type: 'ignored'; reason: string };

export interface SignInOptions {
  origin: string;
  /** `<scheme>://auth/callback` (desktop deep link), or 'loopback' (the CLI: http://127.0.0.1:<port>/callback). */
  redirectUri: string | 'loopback';
  /** Shown on the platform's consent page ("Connect <device>?"). */
  deviceName: string;
  /** The client used for the code exchange; one bound to `origin` is made when absent. */
  api?: ApiClient;
  clientVersion?: string;
  /** When given, a successful exchange saves the token here. */
  tokenStore?: TokenStore;
  log?: EngineLog;
  /** Local clock in ms (obtainedAtMs); default Date.now. */
  now?: () => number;
  /**
   * Continues a sign-in started by an earlier process (the CLI keeps its PKCE verifier and state on disk, mode
   * 0600, so that `login --code` can exchange a code pasted after the first run ended).
   */
  resume?: { codeVerifier: string; state: string };
}

export interface LoopbackListener {
  port: number;
  redirectUri: string;
  authorizeUrl: string;
  /** Resolves with the code of the first valid callback; rejects with SignInError (cancelled, timeout, closed). */
  code: Promise<string>;
  close(): Promise<void>;
}

export interface SignIn {
  readonly state: string;
  readonly codeChallenge: string;
  /** The PKCE secret: only for a caller that must keep the pending sign-in across processes (never log it). */
  readonly codeVerifier: string;
  /** Null for 'loopback' until the listener is started (its port is part of it). */
  readonly redirectUri: string | null;
  readonly authorizeUrl: string | null;
  /** True until an exchange succeeded or the sign-in was cancelled. */
  readonly pending: boolean;
  /** Starts the CLI's listener on 127.0.0.1 (port 0) serving `/callback`. Only for 'loopback'. */
  startLoopbackListener(options?: { timeoutMs?: number }): Promise<LoopbackListener>;
  /** Checks a deep link against this sign-in (null state once it is no longer pending). */
  acceptCallbackUrl(url: string, scheme: string): CallbackResult;
  /** POST /sync/token with the code (from a callback or pasted by hand). */
  exchange(code: string): Promise<SignedIn>;
  /** Stops waiting (closes the listener); later callbacks are ignored. */
  cancel(): void;
}

const CODE = /^[A-Za-z0-9._~-]{8,512}$/;
const STATE_MAX = 256;
const URL_MAX = 2048;
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
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing whitespace and control characters is the point
const UNSAFE_TEXT = /[\s\u0000-\u001f\u007f-\u009f]/;

/** base64url of 48 random bytes: 64 characters of the PKCE verifier alphabet (RFC 7636: 43-128). */
export function createCodeVerifier(): string {
  return randomBytes(48).toString('base64url');
}

export function codeChallengeFor(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

/** Constant-time equality of two strings of any length (hashing first hides the length too). */
export function sameSecret(a: string, b: string): boolean {
  const left = createHash('sha256').update(a, 'utf8').digest();
  const right = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(left, right) && a === b;
}

export function isValidScheme(scheme: string): boolean {
  return SCHEME.test(scheme) && !FORBIDDEN_SCHEMES.has(scheme);
}

/**
 * Validates the query of a callback: only `state` plus `code` or `error=access_denied`, each once, bounded,
 * and `state` equal to the pending one. Shared by the deep link and the loopback listener.
 */
function checkCallbackParams(params: URLSearchParams, expectedState: string | null | undefined): CallbackResult {
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

/**
 * Parses the desktop deep link `<scheme>://auth/callback?code=K&state=S` strictly: exact scheme, host and
 * path, nothing else in it, bounded lengths, the pending state. Anything else is `ignored` with a reason to log.
 */
export function parseCallbackUrl(
  url: unknown,
  options: { scheme: string; expectedState: string | null | undefined },
): CallbackResult {
  if (!options.expectedState) return { type: 'ignored', reason: 'no sign-in is pending' };
  if (!isValidScheme(options.scheme)) return { type: 'ignored', reason: 'the app scheme is not configured correctly' };
  if (typeof url !== 'string') return { type: 'ignored', reason: 'the callback is not text' };
  if (url.length > URL_MAX) return { type: 'ignored', reason: 'the callback is too long' };
  // The URL parser would quietly drop tabs, newlines and edge spaces: refuse them instead.
  if (UNSAFE_TEXT.test(url)) return { type: 'ignored', reason: 'the callback holds whitespace or control characters' };
  const prefix = `${options.scheme}://auth/callback`;
  if (!url.toLowerCase().startsWith(`${options.scheme}:`))
    return { type: 'ignored', reason: 'the callback has another scheme' };
  if (!url.startsWith(`${prefix}?`))
    return { type: 'ignored', reason: 'the callback is not <scheme>://auth/callback?…' };
  let parsed: URL;
  try {
    parsed = new URL(url);
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

/** A redirect URI this client may register: `<scheme>://auth/callback` or a loopback `http://…:<port>/callback`. */
export function checkRedirectUri(uri: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(uri);
  } catch {
    return false;
  }
  if (parsed.search || parsed.hash || parsed.username || parsed.password) return false;
  if (parsed.protocol === 'http:') {
    return (
      (parsed.hostname === '127.0.0.1' || parsed.hostname === '[::1]') &&
      parsed.port !== '' &&
      parsed.pathname === '/callback'
    );
  }
  const scheme = parsed.protocol.slice(0, -1);
  return isValidScheme(scheme) && uri === `${scheme}://auth/callback`;
}

const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
  // The address bar holds the code: never hand it on.
  'referrer-policy': 'no-referrer',
  connection: 'close',
} as const;

function page(title: string, text: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<style>body{font:16px system-ui,sans-serif;margin:4rem auto;max-width:32rem;text-align:center;color:#222}</style>
</head><body><h1>${title}</h1><p>${text}</p></body></html>`;
}

export function createSignIn(options: SignInOptions): SignIn {
  const origin = checkOrigin(options.origin);
  const log: EngineLog = options.log ?? (() => {});
  const now = options.now ?? Date.now;
  if (options.redirectUri !== 'loopback' && !checkRedirectUri(options.redirectUri)) {
    throw new SignInError(
      'sign_in_failed',
      `The redirect address ${JSON.stringify(options.redirectUri)} is not allowed.`,
    );
  }
  const deviceName = options.deviceName.trim().slice(0, 100) || 'this device';
  if (options.resume && (!/^[A-Za-z0-9._~-]{43,128}$/.test(options.resume.codeVerifier) || !options.resume.state)) {
    throw new SignInError('sign_in_failed', 'The saved sign-in is damaged. Start signing in again.');
  }
  const verifier = options.resume?.codeVerifier ?? createCodeVerifier();
  const codeChallenge = codeChallengeFor(verifier);
  const state = options.resume?.state ?? randomBytes(24).toString('base64url');
  let redirectUri: string | null = options.redirectUri === 'loopback' ? null : options.redirectUri;
  let pending = true;
  let ownApi: ApiClient | null = null;
  let listener: LoopbackListener | null = null;

  const api = (): ApiClient => {
    if (options.api) {
      if (options.api.origin !== origin)
        throw new SignInError('sign_in_failed', 'The sign-in and its client disagree on the platform address.');
      return options.api;
    }
    ownApi ??= createApiClient({ origin, getToken: () => null, clientVersion: options.clientVersion ?? '0.0.0', log });
    return ownApi;
  };

  function authorizeUrlFor(redirect: string): string {
    const url = new URL('/sync/authorize', origin);
    url.searchParams.set('redirect_uri', redirect);
    url.searchParams.set('state', state);
    url.searchParams.set('code_challenge', codeChallenge);
    url.searchParams.set('code_challenge_method', 'S256');
    url.searchParams.set('device_name', deviceName);
    return url.toString();
  }

  async function startLoopbackListener(listenOptions: { timeoutMs?: number } = {}): Promise<LoopbackListener> {
    if (options.redirectUri !== 'loopback') throw new Error('startLoopbackListener is only for a loopback sign-in');
    if (listener) return listener;
    let settle!: { resolve: (code: string) => void; reject: (error: SignInError) => void };
    const code = new Promise<string>((resolve, reject) => {
      settle = { resolve, reject };
    });
    // The caller may only look at `code` later; an early rejection must not count as unhandled.
    code.catch(() => {});
    let done = false;
    let timer: NodeJS.Timeout | null = null;
    const server = http.createServer((request, response) => {
      const reply = (status: number, title: string, text: string) => {
        response.writeHead(status, PAGE_HEADERS);
        response.end(page(title, text));
      };
      if (request.method !== 'GET') {
        reply(405, 'Not here', 'This address only receives the sign-in redirect.');
        return;
      }
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      if (url.pathname !== '/callback') {
        log('warn', 'sign-in listener: ignored a request for another path');
        reply(404, 'Not here', 'This address only receives the sign-in redirect.');
        return;
      }
      const result = checkCallbackParams(url.searchParams, done ? null : state);
      if (result.type === 'ignored') {
        log('warn', `sign-in listener: ignored a callback: ${result.reason}`);
        reply(400, 'This link is not for this sign-in', 'Go back to Hyperclay Sync and start signing in again.');
        return;
      }
      if (result.type === 'cancelled') {
        reply(200, 'Sign-in cancelled', 'You can close this tab.');
        finish(() => settle.reject(new SignInError('sign_in_cancelled', 'Sign-in was cancelled in the browser.')));
        log('info', 'sign-in cancelled in the browser');
        return;
      }
      reply(200, 'Signed in to Hyperclay Sync', 'You can close this tab and return to the app.');
      finish(() => settle.resolve(result.code));
      log('info', 'sign-in callback received');
    });
    const closeServer = () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
    const finish = (then: () => void) => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      then();
      void closeServer();
    };
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const port = (server.address() as AddressInfo).port;
    redirectUri = `http://127.0.0.1:${port}/callback`;
    if (listenOptions.timeoutMs !== undefined) {
      timer = setTimeout(
        () => finish(() => settle.reject(new SignInError('sign_in_timeout', 'Sign-in took too long. Start it again.'))),
        listenOptions.timeoutMs,
      );
      timer.unref();
    }
    listener = {
      port,
      redirectUri,
      authorizeUrl: authorizeUrlFor(redirectUri),
      code,
      close: async () => {
        finish(() => settle.reject(new SignInError('sign_in_cancelled', 'Sign-in was stopped before it finished.')));
        if (server.listening) await closeServer();
      },
    };
    return listener;
  }

  async function exchange(rawCode: string): Promise<SignedIn> {
    if (!pending) throw new SignInError('sign_in_failed', 'This sign-in is already finished. Start signing in again.');
    if (redirectUri === null)
      throw new SignInError('sign_in_failed', 'Start the sign-in listener before exchanging a code.');
    const code = rawCode.trim();
    if (!CODE.test(code)) {
      throw new SignInError(
        'invalid_grant',
        'That sign-in code does not look right. Copy it again from the browser page.',
      );
    }
    let answer: Awaited<ReturnType<ApiClient['exchangeCode']>>;
    try {
      answer = await api().exchangeCode(code, verifier, redirectUri);
    } catch (error) {
      if (error instanceof ApiError && error.status === 400) {
        log('warn', `sign-in code refused: ${error.code}`);
        throw new SignInError(
          'invalid_grant',
          'This sign-in code is wrong, already used or expired (codes last 5 minutes). Start signing in again.',
          { cause: error },
        );
      }
      throw error;
    }
    const saved: SignedIn = {
      token: answer.token,
      origin,
      expiresAt: answer.expiresAt,
      obtainedAtMs: now(),
      user: answer.user,
    };
    await options.tokenStore?.save(saved);
    pending = false;
    void listener?.close();
    ownApi?.close();
    log('info', `signed in as ${answer.user.email}`);
    return saved;
  }

  return {
    state,
    codeChallenge,
    codeVerifier: verifier,
    get redirectUri() {
      return redirectUri;
    },
    get authorizeUrl() {
      return redirectUri === null ? null : authorizeUrlFor(redirectUri);
    },
    get pending() {
      return pending;
    },
    startLoopbackListener,
    acceptCallbackUrl(url: string, scheme: string): CallbackResult {
      return parseCallbackUrl(url, { scheme, expectedState: pending ? state : null });
    },
    exchange,
    cancel(): void {
      pending = false;
      void listener?.close();
      ownApi?.close();
    },
  };
}

/** Log out: revoke this device's connection on the platform (best effort), then forget the token. */
export async function signOut(options: { api: ApiClient; tokenStore: TokenStore; log?: EngineLog }): Promise<void> {
  const log: EngineLog = options.log ?? (() => {});
  try {
    await options.api.logout();
    log('info', 'signed out; the platform revoked this device');
  } catch (error) {
    log('warn', `signed out locally; the platform could not be told (${(error as Error).message})`);
  } finally {
    await options.tokenStore.clear();
  }
}

/** The getToken/onToken pair of createApiClient over a token store. */
export function tokenAccess(store: TokenStore): {
  getToken: () => SavedToken | null | Promise<SavedToken | null>;
  onToken: (token: SavedToken) => void | Promise<void>;
} {
  return { getToken: () => store.load(), onToken: (token) => store.save(token) };
}

/**
 * The settings file's token store (settings.ts, conf, mode 0600) seen as this module's TokenStore for one origin.
 * `issuedAt` there holds the local time the token was obtained or refreshed, which the 24 h rule counts from.
 */
export function settingsTokenStore(tokens: SettingsTokens, origin: string): TokenStore {
  const bound = checkOrigin(origin);
  return {
    load(): SavedToken | null {
      const stored = tokens.load(bound);
      if (!stored) return null;
      const obtainedAtMs = Date.parse(stored.issuedAt);
      return {
        token: stored.token,
        origin: stored.origin,
        expiresAt: stored.expiresAt,
        obtainedAtMs: Number.isNaN(obtainedAtMs) ? 0 : obtainedAtMs,
        user: stored.user,
      };
    },
    save(token: SavedToken): void {
      const user = token.user ?? tokens.account()?.user;
      if (!user) throw new EngineError('bad_token', 'The sign-in answer did not say who signed in; sign in again.');
      tokens.save({
        token: token.token,
        origin: token.origin,
        expiresAt: token.expiresAt,
        issuedAt: new Date(token.obtainedAtMs).toISOString(),
        user,
      });
    },
    clear(): void {
      tokens.clear();
    },
  };
}
