// The platform login's answer to password guessing (PROTOCOL.md "Origins and limits"): growing delays per account
// and client address, per address, and per account for browsers that never signed in to it. Never a lockout of
// the owner: their own browser keeps its own count, and another address is not slowed by a guesser's failures.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { addressKey } from '../auth/rate-limit.js';

/** Failures allowed at once, then each further failure doubles the wait from `baseMs` up to `maxMs`. */
export interface Backoff {
  free: number;
  baseMs: number;
  maxMs: number;
}

export interface LoginThrottleSettings {
  /** One account from one address (or from one browser that signed in to it before). */
  pair: Backoff;
  /** One address, whatever accounts it tries (guessing many accounts from one place). */
  address: Backoff;
  /** One account from every address, counted only for browsers that never signed in to it (a spread-out guess). */
  account: Backoff;
  /** A count with no new failure for this long is forgotten. */
  forgetAfterMs: number;
}

/**
 * The owner's second try after a typo is free; a guesser at one address gets 5 tries, then waits 1 s, 2 s, 4 s, ...
 * up to 5 minutes between tries (under 300 a day). Many addresses guessing one account together are slowed once they
 * pass 50 failures, except in browsers that signed in to the account before, so the owner is never shut out.
 */
export const DEFAULT_LOGIN_THROTTLE: LoginThrottleSettings = {
  pair: { free: 5, baseMs: 1000, maxMs: 5 * 60_000 },
  address: { free: 20, baseMs: 1000, maxMs: 15 * 60_000 },
  account: { free: 50, baseMs: 1000, maxMs: 60_000 },
  forgetAfterMs: 60 * 60_000,
};

/** How many counts each kind remembers; past it the least recently failed is forgotten, so memory stays bounded. */
const MAX_TRACKED = 50_000;

/** Failures per key and when the last one was: how long the next try must wait. */
class Delays {
  readonly #counts = new Map<string, { failures: number; lastMs: number }>();

  constructor(
    private readonly backoff: Backoff,
    private readonly forgetAfterMs: number,
  ) {}

  waitMs(key: string, nowMs: number): number {
    const count = this.#current(key, nowMs);
    if (!count || count.failures < this.backoff.free) return 0;
    const delay = Math.min(this.backoff.baseMs * 2 ** (count.failures - this.backoff.free), this.backoff.maxMs);
    return Math.max(0, count.lastMs + delay - nowMs);
  }

  failed(key: string, nowMs: number): void {
    const failures = (this.#current(key, nowMs)?.failures ?? 0) + 1;
    this.#counts.delete(key);
    this.#counts.set(key, { failures, lastMs: nowMs });
    if (this.#counts.size > MAX_TRACKED) this.#counts.delete(this.#counts.keys().next().value ?? '');
  }

  forget(key: string): void {
    this.#counts.delete(key);
  }

  #current(key: string, nowMs: number): { failures: number; lastMs: number } | undefined {
    const count = this.#counts.get(key);
    if (count && nowMs - count.lastMs > this.forgetAfterMs) {
      this.#counts.delete(key);
      return undefined;
    }
    return count;
  }
}

/** Who is trying: the account (its email key), the client address, and the known-browser cookie if it has one. */
export interface LoginAttempt {
  email: string;
  address: string | null;
  knownBrowser: string | null;
}

export const KNOWN_BROWSER_COOKIE = 'hc_known';

export class LoginThrottle {
  readonly #pair: Delays;
  readonly #address: Delays;
  readonly #account: Delays;

  constructor(
    private readonly key: string,
    private readonly now: () => number,
    settings: LoginThrottleSettings = DEFAULT_LOGIN_THROTTLE,
  ) {
    this.#pair = new Delays(settings.pair, settings.forgetAfterMs);
    this.#address = new Delays(settings.address, settings.forgetAfterMs);
    this.#account = new Delays(settings.account, settings.forgetAfterMs);
  }

  /** A cookie value marking this browser as one that signed in to `email`: `<random id>.<MAC>`. */
  knownBrowserCookie(email: string): string {
    const id = randomBytes(12).toString('base64url');
    return `${id}.${this.#mac(email, id)}`;
  }

  /** The browser's own id when its cookie was made for this email; null otherwise. */
  #knownId(attempt: LoginAttempt): string | null {
    const [id, mac] = attempt.knownBrowser?.split('.') ?? [];
    if (!id || !mac) return null;
    const expected = Buffer.from(this.#mac(attempt.email, id));
    const given = Buffer.from(mac);
    return expected.length === given.length && timingSafeEqual(expected, given) ? id : null;
  }

  #mac(email: string, id: string): string {
    return createHmac('sha256', this.key).update(`known-browser:${email}:${id}`).digest('base64url');
  }

  /** The counts this attempt is held to: its own browser's, or its address's, the pair's and the account's. */
  #counts(attempt: LoginAttempt): Array<[Delays, string]> {
    const known = this.#knownId(attempt);
    if (known !== null) return [[this.#pair, `browser:${attempt.email}:${known}`]];
    const address = attempt.address === null ? 'unknown' : addressKey(attempt.address);
    return [
      [this.#pair, `pair:${attempt.email}|${address}`],
      [this.#address, address],
      [this.#account, attempt.email],
    ];
  }

  /** Whether this attempt comes from a browser that signed in to the account before (its check goes first). */
  isKnownBrowser(attempt: LoginAttempt): boolean {
    return this.#knownId(attempt) !== null;
  }

  /** How long this attempt must still wait (0: it may try now). A waiting attempt is not checked at all. */
  waitMs(attempt: LoginAttempt): number {
    const now = this.now();
    return Math.max(0, ...this.#counts(attempt).map(([delays, key]) => delays.waitMs(key, now)));
  }

  failed(attempt: LoginAttempt): void {
    const now = this.now();
    for (const [delays, key] of this.#counts(attempt)) delays.failed(key, now);
  }

  /** The right password: this browser's or this pair's count starts again (the address's and account's do not). */
  succeeded(attempt: LoginAttempt): void {
    const [own] = this.#counts(attempt);
    if (own) own[0].forget(own[1]);
  }
}
