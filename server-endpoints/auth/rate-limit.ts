// The API limits of PROTOCOL.md "Origins and limits": token buckets per token and per client address, and a cap
// on one account's uploads in flight; past either, 429 rate_limited with Retry-After. In memory, per instance.

import { isIP } from 'node:net';
import type { Context, MiddlewareHandler } from 'hono';
import { MAX_FILE_BYTES } from '../../protocol/index.js';
import type { SyncEnv } from '../context.js';
import { fail } from '../http.js';

export interface Rate {
  /** Requests per second kept up for as long as they come. */
  perSecond: number;
  /** Requests allowed at once on top of that, after a quiet spell. */
  burst: number;
}

export interface RateLimits {
  /** Per token (a device's connection, its `sid`), on every authenticated /sync/* request. */
  perToken: Rate;
  /** Per client address (an IPv6 /64), on every /sync/* request, signed in or not. */
  perAddress: Rate;
  /** Uploads (PUT of a site or an upload) of one account running at once. */
  parallelUploadsPerAccount: number;
}

/**
 * Generous for a real client: a first sync of 10,000 files is 10,000 PUTs plus a few listing pages, which a
 * burst of 2,000 and 200 a second carry in under 45 s of throttling at worst (bench/rate-limit-bench.ts measures
 * it); the engine keeps 8 transfers in flight, so 16 uploads at once leave room for two devices of one account.
 */
export const DEFAULT_RATE_LIMITS: RateLimits = {
  perToken: { perSecond: 200, burst: 2000 },
  perAddress: { perSecond: 400, burst: 4000 },
  parallelUploadsPerAccount: 16,
};

/** How many keys a limiter remembers; past it the least recently seen is forgotten, so memory stays bounded. */
const MAX_KEYS = 100_000;

/** A token bucket per key: `take` answers 0 when a request may go, else how many ms until one may. */
export class TokenBuckets {
  readonly #buckets = new Map<string, { tokens: number; atMs: number }>();

  constructor(
    private readonly rate: Rate,
    private readonly now: () => number,
    private readonly maxKeys = MAX_KEYS,
  ) {}

  take(key: string): number {
    const now = this.now();
    const bucket = this.#buckets.get(key) ?? { tokens: this.rate.burst, atMs: now };
    const elapsed = Math.max(0, now - bucket.atMs);
    const tokens = Math.min(this.rate.burst, bucket.tokens + (elapsed * this.rate.perSecond) / 1000);
    // Re-inserted at every use, so the Map's order is least recently seen first.
    this.#buckets.delete(key);
    if (tokens >= 1) {
      this.#buckets.set(key, { tokens: tokens - 1, atMs: now });
      if (this.#buckets.size > this.maxKeys) this.#buckets.delete(this.#buckets.keys().next().value ?? '');
      return 0;
    }
    this.#buckets.set(key, { tokens, atMs: now });
    return Math.ceil(((1 - tokens) * 1000) / this.rate.perSecond);
  }
}

/** At most `limit` at once per key: `enter` says whether one more may start; `leave` ends one. */
export class ParallelCap {
  readonly #running = new Map<string, number>();

  constructor(private readonly limit: number) {}

  enter(key: string): boolean {
    const running = this.#running.get(key) ?? 0;
    if (running >= this.limit) return false;
    this.#running.set(key, running + 1);
    return true;
  }

  leave(key: string): void {
    const running = (this.#running.get(key) ?? 1) - 1;
    if (running <= 0) this.#running.delete(key);
    else this.#running.set(key, running);
  }
}

/** IPv6 written out in full, e.g. `2001:db8::1` -> eight groups; null for anything else. */
function ipv6Groups(address: string): string[] | null {
  const [head = '', tail] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  if (tail === undefined && left.length !== 8) return null;
  const zeros = Array.from({ length: 8 - left.length - right.length }, () => '0');
  return [...left, ...zeros, ...right];
}

/**
 * The key a client address is limited under: an IPv4 address as it is (also when IPv4-mapped), an IPv6 address by
 * its /64, because one machine is normally given a whole /64 and could otherwise pick a new address per request.
 */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1]) return mapped[1];
  if (isIP(address) !== 6) return address;
  const groups = ipv6Groups(address.toLowerCase().split('%')[0] ?? '');
  return groups
    ? `${groups
        .slice(0, 4)
        .map((g) => Number.parseInt(g, 16).toString(16))
        .join(':')}::/64`
    : address;
}

/** The peer address of a request served by @hono/node-server (its `env.incoming`), or null under another host. */
export function nodeClientAddress(c: Context): string | null {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.incoming?.socket?.remoteAddress ?? null;
}

/** How much of a refused request's body is read (and dropped) at most, and for how long. */
const DISCARD_MAX_BYTES = MAX_FILE_BYTES + 1024 * 1024;
const DISCARD_DEADLINE_MS = 30_000;

/**
 * Reads a refused request's body and drops it, chunk by chunk (memory stays flat). Answering before the body is
 * read would have the host reset the connection while the client still sends (@hono/node-server gives an unread
 * body 500 ms), and a reset can destroy the 429 before the client reads it: the client would see a network error
 * instead of "wait N seconds". Past the bound or the deadline it stops and lets the host close the connection.
 */
async function discardBody(request: Request): Promise<void> {
  if (!request.body || request.bodyUsed) return;
  const reader = request.body.getReader();
  const deadline = setTimeout(() => void reader.cancel().catch(() => {}), DISCARD_DEADLINE_MS);
  let read = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      read += value.byteLength;
      if (read > DISCARD_MAX_BYTES) return void (await reader.cancel().catch(() => {}));
    }
  } catch {
    // The client went away or the deadline cancelled the read: nothing left to answer properly anyway.
  } finally {
    clearTimeout(deadline);
  }
}

async function refuse(c: Context, waitMs: number, message: string): Promise<Response> {
  await discardBody(c.req.raw);
  c.header('Retry-After', String(Math.max(1, Math.ceil(waitMs / 1000))));
  return fail(c, 'rate_limited', message);
}

export interface LimitOptions {
  limits: RateLimits;
  now: () => number;
  clientAddress: (c: Context) => string | null;
}

/** Every /sync/* request, before the token is checked: its client address's bucket. */
export function limitByAddress(options: LimitOptions): MiddlewareHandler<SyncEnv> {
  const buckets = new TokenBuckets(options.limits.perAddress, options.now);
  return async (c, next) => {
    const address = options.clientAddress(c);
    const waitMs = address === null ? 0 : buckets.take(addressKey(address));
    if (waitMs > 0) return refuse(c, waitMs, 'Too many requests from this address. Wait a moment, then try again.');
    await next();
  };
}

/** Every authenticated /sync/* request, after the token is checked: its connection's bucket. */
export function limitByToken(options: LimitOptions): MiddlewareHandler<SyncEnv> {
  const buckets = new TokenBuckets(options.limits.perToken, options.now);
  return async (c, next) => {
    const waitMs = buckets.take(c.get('sid'));
    if (waitMs > 0) return refuse(c, waitMs, 'Too many requests from this device. Wait a moment, then try again.');
    await next();
  };
}

/** The uploads of one account in flight at once; the slot is held until the handler has read and answered. */
export function limitParallelUploads(options: LimitOptions): MiddlewareHandler<SyncEnv> {
  const cap = new ParallelCap(options.limits.parallelUploadsPerAccount);
  return async (c, next) => {
    const account = c.get('account').id;
    if (!cap.enter(account)) {
      return refuse(c, 1000, 'Too many uploads of this account at once. Wait a moment, then try again.');
    }
    try {
      await next();
    } finally {
      cap.leave(account);
    }
  };
}
