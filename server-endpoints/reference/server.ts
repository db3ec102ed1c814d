// The reference platform server: embedded stores in one data folder, the sync endpoints, the platform's own
// pages and site serving, and one access-log line per request.

import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { serve } from '@hono/node-server';
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { escapeInvisible } from '../../protocol/index.js';
import { nodeClientAddress, type RateLimits } from '../auth/rate-limit.js';
import { openEmbeddedAuthStore } from '../auth/store.js';
import { fail } from '../http.js';
import { createSyncEndpoints } from '../index.js';
import { openEmbeddedStorage } from '../storage/embedded.js';
import { openPostgresAuthStore, openPostgresStorage } from '../storage/postgres.js';
import { openS3BlobStore, s3OptionsFromUrl } from '../storage/s3.js';
import type { AuthStore, SyncStorage } from '../types.js';
import { type AccountStore, openAccountStore } from './accounts.js';
import type { LoginThrottleSettings } from './login-throttle.js';
import { errorPage } from './pages.js';
import { createPlatform } from './platform.js';
import { notFoundPage } from './respond.js';
import { subdomainSite } from './site-origin.js';

export const DEFAULT_PORT = 4321;
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_DATA_DIR = '.data';

export interface ReferenceServerOptions {
  host?: string;
  /** 0: any free port. */
  port?: number;
  dataDir?: string;
  /** One line per event (access log included); default: stdout with an ISO timestamp. */
  log?: (line: string) => void;
  /** The oldest client version served; default `0.0.0`. */
  minClientVersion?: string;
  /** Sync storage and sign-in records on PostgreSQL + S3 instead of the data folder (accounts stay there). */
  external?: ExternalStores | null;
  /** The clock of the login throttle (tests move it); default Date.now. */
  throttleClock?: () => number;
  /** The API limits of the sync endpoints (DEFAULT_RATE_LIMITS when absent); `false`: none. */
  rateLimits?: Partial<RateLimits> | false;
  loginThrottle?: LoginThrottleSettings;
}

/** Where the sync storage lives when it is not embedded: a PostgreSQL URL and an S3 URL (`http://host/bucket`). */
export interface ExternalStores {
  postgres: string;
  s3: string;
}

/** `HYPERCLAY_POSTGRES_URL` and `HYPERCLAY_S3_URL` (both or neither); null when neither is set. */
export function externalStoresFromEnv(env: NodeJS.ProcessEnv = process.env): ExternalStores | null {
  const postgres = env.HYPERCLAY_POSTGRES_URL || undefined;
  const s3 = env.HYPERCLAY_S3_URL || undefined;
  if (postgres === undefined && s3 === undefined) return null;
  if (postgres === undefined || s3 === undefined) {
    throw new Error('Set both HYPERCLAY_POSTGRES_URL and HYPERCLAY_S3_URL, or neither (embedded storage).');
  }
  return { postgres, s3 };
}

export interface ReferenceServer {
  /** `http://<host>:<port>` as bound (use it from tests). */
  url: string;
  port: number;
  /** The browser-friendly address (`http://localhost:<port>` when bound to loopback). */
  publicUrl: string;
  close(): Promise<void>;
}

/** Where each store keeps its files inside the data folder. */
export function dataPaths(dataDir: string): {
  root: string;
  accounts: string;
  storage: string;
  auth: string;
  secret: string;
} {
  const root = resolve(dataDir);
  return {
    root,
    accounts: root,
    storage: join(root, 'storage'),
    auth: join(root, 'auth'),
    secret: join(root, 'token-secret'),
  };
}

/** The HS256 secret, generated once and kept in the data folder, readable by its owner only. */
export function loadTokenSecret(path: string): string {
  try {
    const secret = readFileSync(path, 'utf8').trim();
    if (Buffer.byteLength(secret) < 32) {
      throw new Error(
        `The token secret in ${path} is shorter than 32 bytes; delete it to make a new one (every device signs in again).`,
      );
    }
    return secret;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const secret = randomBytes(48).toString('base64url');
  // 'wx': if another process made one in between, use theirs rather than overwrite it.
  try {
    writeFileSync(path, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return loadTokenSecret(path);
    throw error;
  }
  chmodSync(path, 0o600);
  return secret;
}

export interface ReferenceStores {
  accounts: AccountStore;
  storage: SyncStorage;
  authStore: AuthStore;
  tokenSecret: string;
  close(): Promise<void>;
}

/** Opens every store of a data folder (also used by the admin commands); `external` moves sync data out of it. */
export async function openReferenceStores(
  dataDir: string,
  external: ExternalStores | null = null,
  log: (line: string) => void = () => {},
): Promise<ReferenceStores> {
  const paths = dataPaths(dataDir);
  mkdirSync(paths.root, { recursive: true, mode: 0o700 });
  // mkdir's mode applies only to a folder it creates: an existing data folder made 0755 by hand is closed too.
  chmodSync(paths.root, 0o700);
  const tokenSecret = loadTokenSecret(paths.secret);
  const accounts = openAccountStore({ dir: paths.accounts });
  let storage: SyncStorage;
  let authStore: AuthStore;
  if (external) {
    const blobs = openS3BlobStore(s3OptionsFromUrl(external.s3));
    try {
      storage = await openPostgresStorage({ connectionString: external.postgres, blobs, log });
    } catch (error) {
      accounts.close();
      await blobs.close();
      throw new Error(`Could not open the PostgreSQL storage: ${(error as Error).message}`);
    }
    authStore = await openPostgresAuthStore({ connectionString: external.postgres, maxConnections: 3, log }).catch(
      async (error: Error) => {
        await storage.close();
        accounts.close();
        throw error;
      },
    );
  } else {
    storage = await openEmbeddedStorage({ dir: paths.storage, log });
    authStore = await openEmbeddedAuthStore({ dir: paths.auth });
  }
  return {
    accounts,
    storage,
    authStore,
    tokenSecret,
    async close() {
      await Promise.allSettled([storage.close(), authStore.close()]);
      accounts.close();
    },
  };
}

function defaultLog(line: string): void {
  process.stdout.write(`${new Date().toISOString()} ${line}\n`);
}

/** Requests still running: close() lets them finish (a long-poll ends at once when its socket closes) first. */
class InFlight {
  private count = 0;
  private idle: (() => void) | null = null;

  async around(next: () => Promise<void>): Promise<void> {
    this.count++;
    try {
      await next();
    } finally {
      this.count--;
      if (this.count === 0) this.idle?.();
    }
  }

  /** Resolves when none is running, or after 5 s: a handler that never ends must not keep the stores open forever. */
  drained(): Promise<void> {
    return new Promise<void>((done) => {
      if (this.count === 0) return done();
      this.idle = done;
      setTimeout(done, 5_000).unref();
    });
  }
}

/** One line per request; the path only: queries can carry codes and states, and never belong in a log. */
function accessLog(log: (line: string) => void, inFlight: InFlight): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now();
    await inFlight.around(next);
    const url = new URL(c.req.url);
    const site = subdomainSite(c.req.header('host'));
    const where = site === null ? url.pathname : `${site}.localhost${url.pathname}`;
    log(`${c.req.method} ${where} ${c.res.status} ${Math.round(performance.now() - started)} ms`);
  };
}

/** Anything the mounted apps did not answer themselves (a store failing): JSON under /sync/, a page elsewhere. */
function serverError(log: (line: string) => void, error: Error, c: Context): Response {
  log(`error ${c.req.method} ${new URL(c.req.url).pathname}: ${error.message}`);
  if (new URL(c.req.url).pathname.startsWith('/sync/')) {
    return fail(c, 'internal', 'The server failed on this request. Try again; the server log has the details.');
  }
  return c.html(
    errorPage(500, 'Something went wrong', 'The server failed on this request. The log has the details.'),
    500,
  );
}

/** The whole server: access log, sites on their own host, the sync endpoints, then the platform's routes. */
function referenceApp(
  options: ReferenceServerOptions,
  stores: ReferenceStores,
  log: (line: string) => void,
  inFlight: InFlight,
  port: () => number | null,
): Hono {
  const platform = createPlatform({
    accounts: stores.accounts,
    storage: stores.storage,
    authStore: stores.authStore,
    csrfKey: `${stores.tokenSecret}:platform-csrf`,
    port,
    log,
    clientAddress: nodeClientAddress,
    ...(options.throttleClock ? { now: options.throttleClock } : {}),
    ...(options.loginThrottle ? { loginThrottle: options.loginThrottle } : {}),
  });
  const app = new Hono();
  app.use('*', accessLog(log, inFlight));
  app.use('*', platform.siteHost);
  app.route(
    '/',
    createSyncEndpoints({
      storage: stores.storage,
      authStore: stores.authStore,
      identity: stores.accounts.identity,
      tokenSecret: stores.tokenSecret,
      ...(options.minClientVersion ? { minClientVersion: options.minClientVersion } : {}),
      ...(options.rateLimits !== undefined ? { rateLimits: options.rateLimits } : {}),
      log,
    }),
  );
  app.route('/', platform.routes);
  app.notFound(notFoundPage);
  app.onError((error, c) => serverError(log, error, c));
  return app;
}

async function listen(app: Hono, host: string, port: number, stores: ReferenceStores): Promise<Server> {
  return new Promise<Server>((resolveServer, reject) => {
    const created = serve({ fetch: app.fetch, hostname: host, port }, () => resolveServer(created as Server)) as Server;
    created.once('error', reject);
  }).catch(async (error: NodeJS.ErrnoException) => {
    await stores.close();
    if (error.code === 'EADDRINUSE') {
      throw new Error(`Port ${port} on ${host} is in use. Stop the other server or pass --port.`);
    }
    throw error;
  });
}

export async function startReferenceServer(options: ReferenceServerOptions = {}): Promise<ReferenceServer> {
  const host = options.host ?? DEFAULT_HOST;
  const sink = options.log ?? defaultLog;
  // Names reach log lines (sites, devices, paths): no line may carry a raw control or bidi character.
  const log = (line: string): void => sink(escapeInvisible(line));
  const stores = await openReferenceStores(options.dataDir ?? DEFAULT_DATA_DIR, options.external ?? null, log);
  const inFlight = new InFlight();
  let boundPort: number | null = null;
  const app = referenceApp(options, stores, log, inFlight, () => boundPort);
  const server = await listen(app, host, options.port ?? DEFAULT_PORT, stores);
  boundPort = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const loopback = host === '127.0.0.1' || host === 'localhost' || host === '::1';
  let closed: Promise<void> | null = null;
  return {
    url: `http://${urlHost}:${boundPort}`,
    port: boundPort,
    publicUrl: loopback ? `http://localhost:${boundPort}` : `http://${urlHost}:${boundPort}`,
    close() {
      closed ??= new Promise<void>((done) => {
        server.close(() => done());
        // Keep-alive connections would hold close() open until they time out.
        server.closeAllConnections();
      })
        .then(() => inFlight.drained())
        .then(() => stores.close());
      return closed;
    },
  };
}
