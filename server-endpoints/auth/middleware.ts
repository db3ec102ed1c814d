// The check every authenticated /sync/* request passes: bearer token, signature, exp, connection, account, paid plan.

import type { Context, MiddlewareHandler } from 'hono';
import type { EndpointContext, SyncEnv } from '../context.js';
import { fail } from '../http.js';
import type { Account } from '../types.js';
import { type TokenClaims, verifyToken } from './tokens.js';

/** How long a connection's "not revoked, account exists" answer is reused by one instance. */
export const AUTH_CACHE_TTL_MS = 5_000;
const CACHE_MAX_ENTRIES = 10_000;
/** A connection's "last seen" is written at most this often (PROTOCOL.md: at most once a minute). */
export const LAST_SEEN_EVERY_MS = 60_000;

export type AuthCheck =
  | { ok: true; account: Account; sid: string; claims: TokenClaims }
  | { ok: false; code: 'unauthorized' | 'subscription_required'; message: string };

interface ConnectionCacheEntry {
  account: Account;
  checkedAtMs: number;
}

interface AuthCache {
  /** Signature checks are pure, so a token's claims are kept; exp is still checked on every request. */
  claims: Map<string, TokenClaims>;
  connections: Map<string, ConnectionCacheEntry>;
  /** Connections this instance revoked: refused at once, even if a check that raced the logout fills the cache. */
  revoked: Set<string>;
  /** When this instance last wrote each connection's last-seen time. */
  seen: Map<string, number>;
}

// Keyed by the endpoints instance, so the middleware and the logout route of one instance share a cache and two
// instances never see each other's (a WeakMap holds no instance alive and exposes nothing across instances).
const caches = new WeakMap<EndpointContext, AuthCache>();

function cacheOf(ctx: EndpointContext): AuthCache {
  let cache = caches.get(ctx);
  if (!cache) {
    cache = { claims: new Map(), connections: new Map(), revoked: new Set(), seen: new Map() };
    caches.set(ctx, cache);
  }
  return cache;
}

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  // A crude bound: dropping everything costs one lookup per live connection, and keeps memory flat under abuse.
  if (map.size >= CACHE_MAX_ENTRIES) map.clear();
  map.set(key, value);
}

/** Call when a connection is revoked: this instance refuses it from now on, whatever it had cached. */
export function forgetConnection(ctx: EndpointContext, sid: string): void {
  const cache = cacheOf(ctx);
  cache.connections.delete(sid);
  if (cache.revoked.size >= CACHE_MAX_ENTRIES) cache.revoked.clear();
  cache.revoked.add(sid);
}

const BEARER = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*) *$/i;

/** The token in an `Authorization: Bearer <jwt>` header, or null when the header is missing or malformed. */
export function bearerToken(header: string | undefined | null): string | null {
  if (!header || header.length > 8192) return null;
  return BEARER.exec(header)?.[1] ?? null;
}

const UNAUTHORIZED = {
  ok: false,
  code: 'unauthorized',
  message: 'You are signed out: the sync token is missing, invalid, expired or revoked. Sign in again.',
} as const;

const UNPAID = {
  ok: false,
  code: 'subscription_required',
  message: 'Sync needs a paid Hyperclay plan. Upgrade your plan on the platform, then sign in again.',
} as const;

/** Signature and exp only (no store): the claims of a well-formed, unexpired token of ours. */
export function tokenClaims(ctx: EndpointContext, token: string): TokenClaims | null {
  const cache = cacheOf(ctx);
  let claims = cache.claims.get(token);
  if (!claims) {
    const verified = verifyToken(ctx.tokenSecret, token, ctx.now());
    if (!verified) return null;
    claims = verified;
    remember(cache.claims, token, claims);
  }
  if (Math.floor(ctx.now() / 1000) >= claims.exp) {
    cache.claims.delete(token);
    return null;
  }
  return claims;
}

/** The whole check of PROTOCOL.md "Auth" for one `Authorization` header. */
export async function authenticate(ctx: EndpointContext, authorization: string | undefined | null): Promise<AuthCheck> {
  const token = bearerToken(authorization);
  if (!token) return UNAUTHORIZED;
  const claims = tokenClaims(ctx, token);
  if (!claims) return UNAUTHORIZED;

  const cache = cacheOf(ctx);
  if (cache.revoked.has(claims.sid)) return UNAUTHORIZED;
  const nowMs = ctx.now();
  const cached = cache.connections.get(claims.sid);
  let account: Account | null = null;
  if (cached && nowMs - cached.checkedAtMs < AUTH_CACHE_TTL_MS && nowMs >= cached.checkedAtMs) {
    account = cached.account;
  } else {
    cache.connections.delete(claims.sid);
    const connection = await ctx.authStore.connection(claims.sid);
    if (!connection || connection.revoked || connection.accountId !== claims.sub) return UNAUTHORIZED;
    account = await ctx.identity.accountById(claims.sub);
    if (!account || account.id !== claims.sub) return UNAUTHORIZED;
    if (cache.revoked.has(claims.sid)) return UNAUTHORIZED;
    remember(cache.connections, claims.sid, { account, checkedAtMs: nowMs });
  }
  // A token's sub must match the connection's account even when the answer comes from the cache.
  if (account.id !== claims.sub) return UNAUTHORIZED;
  if (!account.paid) return UNPAID;
  await noteSeen(ctx, cache, claims.sid, nowMs);
  return { ok: true, account, sid: claims.sid, claims };
}

/** The device list's "last seen": written once a minute per connection, not at every request. */
async function noteSeen(ctx: EndpointContext, cache: AuthCache, sid: string, nowMs: number): Promise<void> {
  const last = cache.seen.get(sid);
  if (last !== undefined && nowMs - last < LAST_SEEN_EVERY_MS && nowMs >= last) return;
  remember(cache.seen, sid, nowMs);
  await ctx.authStore.touchConnection(sid, nowMs);
}

/** 401 (with `WWW-Authenticate: Bearer`) or 402: the answer to a request whose token does not pass. */
export function authRefusal(c: Context, code: 'unauthorized' | 'subscription_required', message: string): Response {
  if (code === 'unauthorized') c.header('WWW-Authenticate', 'Bearer');
  return fail(c, code, message);
}

/** Hono middleware for every authenticated /sync/* route: 401 unauthorized, 402 subscription_required, or on. */
export function requireAuth(ctx: EndpointContext): MiddlewareHandler<SyncEnv> {
  return async (c, next) => {
    const check = await authenticate(ctx, c.req.header('Authorization'));
    if (!check.ok) return authRefusal(c, check.code, check.message);
    c.set('account', check.account);
    c.set('sid', check.sid);
    await next();
  };
}
