// What every endpoint handler is given: the stores, the platform's login, the token secret, the clock, the limits.

import type { Context } from 'hono';
import { escapeInvisible } from '../protocol/index.js';
import { DEFAULT_RATE_LIMITS, nodeClientAddress, type RateLimits } from './auth/rate-limit.js';
import { DEFAULT_BODY_IDLE_MS } from './http.js';
import type { Account, AuthStore, IdentityProvider, SyncStorage } from './types.js';

export interface SyncEndpointsOptions {
  storage: SyncStorage;
  authStore: AuthStore;
  identity: IdentityProvider;
  /** HS256 secret for the sync tokens (at least 32 bytes). */
  tokenSecret: string;
  /** The desktop app's deep-link scheme (redirect `<scheme>://auth/callback`); default `hyperclay`. */
  appScheme?: string;
  /** The oldest client version still served (426 client_outdated below it); default `0.0.0`. */
  minClientVersion?: string;
  /** The clock, in ms; tests move it. Default Date.now. */
  now?: () => number;
  /** One line per event (no secrets); default: nothing. Every line reaches it with its controls escaped. */
  log?: (line: string) => void;
  /** A request body that sends nothing for this long is dropped (400 bad_request); default 30 s. */
  bodyIdleMs?: number;
  /** The API limits (429 rate_limited); each field defaults to DEFAULT_RATE_LIMITS'; `false`: no limits. */
  rateLimits?: Partial<RateLimits> | false;
  /**
   * The client's address, for the per-address limit; null when unknown (that limit is then skipped). Default: the
   * socket's peer under @hono/node-server. A host behind a proxy gives the address the proxy vouches for.
   */
  clientAddress?: (c: Context) => string | null;
}

/** The options with every default filled in: what each handler reads. */
export type EndpointContext = Required<Omit<SyncEndpointsOptions, 'rateLimits'>> & { rateLimits: RateLimits | null };

/** Hono's typed context variables, set by the auth middleware for every authenticated `/sync/*` request. */
export interface SyncEnv {
  Variables: {
    account: Account;
    sid: string;
  };
}

export function endpointContext(options: SyncEndpointsOptions): EndpointContext {
  if (Buffer.byteLength(options.tokenSecret) < 32) throw new Error('tokenSecret must be at least 32 bytes');
  const log = options.log ?? (() => {});
  return {
    storage: options.storage,
    authStore: options.authStore,
    identity: options.identity,
    tokenSecret: options.tokenSecret,
    appScheme: options.appScheme ?? 'hyperclay',
    minClientVersion: options.minClientVersion ?? '0.0.0',
    now: options.now ?? Date.now,
    bodyIdleMs: options.bodyIdleMs ?? DEFAULT_BODY_IDLE_MS,
    // Device names, file names and paths reach log lines: no line may carry a raw control or bidi character.
    log: (line) => log(escapeInvisible(line)),
    rateLimits: options.rateLimits === false ? null : { ...DEFAULT_RATE_LIMITS, ...options.rateLimits },
    clientAddress: options.clientAddress ?? nodeClientAddress,
  };
}
