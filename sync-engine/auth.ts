// Token work (PROTOCOL.md "Auth", SPEC.md "Auth and account"): the token as the engine keeps it, bound to the
// origin that issued it; the token store; the 24 h refresh (one at a time, backing off after a failure); sign-out.

import { checkTokenOrigin, type RefreshResponse, TOKEN_REFRESH_AFTER_MS, type User } from '../protocol/index.js';
import { EngineError, InsecureOriginError, SignedOutError } from './errors.js';
import type { EngineLog } from './log.js';
import type { TokenStore as SettingsTokens } from './settings.js';

/** A token as the engine keeps it: bound to the origin that issued it, with the local time it was obtained. */
export interface SavedToken {
  token: string;
  /** The origin (scheme://host[:port]) that issued it; the token is never sent anywhere else. */
  origin: string;
  /** The server's `expiresAt` (ISO 8601 UTC). */
  expiresAt: string;
  /** Local clock (ms) when it was issued or last refreshed: the 24 h refresh rule counts from here. */
  obtainedAtMs: number;
  user?: User;
}

/** Where the token lives between runs (settings.ts implements it over conf with mode 0600). */
export interface TokenStore {
  load(): SavedToken | null | Promise<SavedToken | null>;
  save(token: SavedToken): void | Promise<void>;
  clear(): void | Promise<void>;
}

/** After a failed refresh (other than signed-out), keep using the old token for this long before trying again. */
const REFRESH_BACKOFF_MS = 5 * 60 * 1000;

/**
 * Checks that a token may be sent to `origin` and returns it normalised (`scheme://host[:port]`).
 * https:// anywhere; http:// only on loopback (127.0.0.0/8, ::1, localhost). Throws InsecureOriginError.
 */
export function checkOrigin(origin: string): string {
  const checked = checkTokenOrigin(origin);
  if (!checked.ok) throw new InsecureOriginError(origin, checked.why);
  return checked.value;
}

export interface TokenKeeperOptions {
  /** The checked origin the client talks to: a token from any other origin is never used. */
  origin: string;
  /** The current token (null when signed out). */
  getToken: () => SavedToken | null | Promise<SavedToken | null>;
  /** Persists a refreshed token. */
  onToken?: (token: SavedToken) => void | Promise<void>;
  /** POST /sync/token/refresh, authenticated with `token`. */
  postRefresh: (token: string) => Promise<RefreshResponse>;
  log: EngineLog;
  now: () => number;
}

/** The token an API client sends: the saved one for its origin, refreshed once it is a day old. */
export class TokenKeeper {
  readonly #options: TokenKeeperOptions;
  /** The last refresh: while the store still hands out `from`, `token` is the one to use. */
  #refreshed: { from: string; token: SavedToken } | null = null;
  #refreshing: Promise<SavedToken> | null = null;
  #refreshBlockedUntil = 0;

  constructor(options: TokenKeeperOptions) {
    this.#options = options;
  }

  /** The token for this origin; SignedOutError when there is none. */
  async current(): Promise<SavedToken> {
    const { origin } = this.#options;
    const saved = await this.#options.getToken();
    if (!saved) throw new SignedOutError(0, 'signed_out', 'You are not signed in. Sign in to start syncing.');
    if (saved.origin !== origin) {
      // Bound to the issuing origin: never send it to another one, whatever the settings say now.
      throw new SignedOutError(
        0,
        'signed_out',
        `You are signed in to ${saved.origin}, not ${origin}. Sign in again to sync with ${origin}.`,
      );
    }
    if (this.#refreshed && this.#refreshed.from === saved.token) return this.#refreshed.token;
    return saved;
  }

  /** The token for the next request, refreshed first when it is older than a day (a failed refresh is not fatal). */
  async bearer(): Promise<string> {
    const { now, log } = this.#options;
    const saved = await this.current();
    const age = now() - saved.obtainedAtMs;
    // A negative age means the clock was set back since: refresh rather than wait for a day that never comes.
    if ((age >= 0 && age < TOKEN_REFRESH_AFTER_MS) || now() < this.#refreshBlockedUntil) return saved.token;
    try {
      return (await this.refresh(saved)).token;
    } catch (error) {
      if (error instanceof SignedOutError) throw error;
      this.#refreshBlockedUntil = now() + REFRESH_BACKOFF_MS;
      log('warn', `token refresh failed, keeping the current token: ${(error as Error).message}`);
      return saved.token;
    }
  }

  /** Refreshes `saved`; a refresh already under way is shared rather than repeated. */
  refresh(saved: SavedToken): Promise<SavedToken> {
    if (!this.#refreshing) {
      this.#refreshing = this.#refresh(saved).finally(() => {
        this.#refreshing = null;
      });
    }
    return this.#refreshing;
  }

  async #refresh(saved: SavedToken): Promise<SavedToken> {
    const answer = await this.#options.postRefresh(saved.token);
    const next: SavedToken = {
      token: answer.token,
      origin: this.#options.origin,
      expiresAt: answer.expiresAt,
      obtainedAtMs: this.#options.now(),
      ...(saved.user ? { user: saved.user } : {}),
    };
    this.#refreshed = { from: saved.token, token: next };
    await this.#options.onToken?.(next);
    this.#options.log('info', `token refreshed, expires ${answer.expiresAt}`);
    return next;
  }
}

/** How a sign-out went: the token is always forgotten here; `platformTold` says whether the platform revoked it. */
export type SignOutResult = { platformTold: true } | { platformTold: false; reason: string };

/** Log out: revoke this device's connection on the platform (best effort), then forget the token. */
export async function signOut(options: {
  api: { logout(): Promise<void> };
  tokenStore: TokenStore;
  log?: EngineLog;
}): Promise<SignOutResult> {
  const log: EngineLog = options.log ?? (() => {});
  try {
    await options.api.logout();
    log('info', 'signed out; the platform revoked this device');
    return { platformTold: true };
  } catch (error) {
    const reason = (error as Error).message.replace(/\.$/, '');
    log('warn', `signed out locally; the platform could not be told (${reason})`);
    return { platformTold: false, reason };
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
