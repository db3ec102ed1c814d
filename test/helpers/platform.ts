// A real sync platform for tests: createSyncEndpoints on 127.0.0.1:<free port>, embedded storage and auth store
// in a temp folder, and an in-memory identity provider (a Map of accounts).

import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { encodePath } from '../../protocol/index.js';
import { openEmbeddedAuthStore } from '../../server-endpoints/auth/store.js';
import { signToken } from '../../server-endpoints/auth/tokens.js';
import { createSyncEndpoints, type SyncEndpointsOptions } from '../../server-endpoints/index.js';
import { type EmbeddedStorage, openEmbeddedStorage } from '../../server-endpoints/storage/embedded.js';
import type { Account, AuthStore, IdentityProvider, SyncStorage } from '../../server-endpoints/types.js';

export interface TestPlatformOptions {
  /** Data folder; default a new temp folder, removed by close(). */
  dir?: string;
  minClientVersion?: string;
  /** The server's clock for the endpoints, the storage and the auth store. */
  now?: () => number;
  tombstoneHorizonMs?: number;
  /** One line per event from the endpoints. */
  log?: (line: string) => void;
  /** Default: a random 32-byte secret. */
  tokenSecret?: string;
  /** A request body that sends nothing for this long is dropped; default the endpoints' 30 s. */
  bodyIdleMs?: number;
  /** What the endpoints see of the storage (e.g. a wrapper that injects failures); default the storage itself. */
  wrapStorage?: (storage: EmbeddedStorage) => SyncStorage;
  /** The endpoints' API limits (their defaults when absent); `false`: none. */
  rateLimits?: SyncEndpointsOptions['rateLimits'];
}

export interface NewAccount {
  /** Default a random id; give one to keep an account across restarts on the same dir. */
  id?: string;
  email: string;
  plan?: string;
  /** Default true. */
  paid?: boolean;
  maxSites?: number | null;
  maxStorageBytes?: number | null;
}

/** One request the platform got: when it arrived (ms), what it was, and the answer's status (0 while running). */
export interface AnsweredRequest {
  atMs: number;
  method: string;
  path: string;
  status: number;
  retryAfter: string | null;
}

export interface TestPlatform {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  url: string;
  /** Every request so far, in order of arrival. */
  requests: AnsweredRequest[];
  dir: string;
  tokenSecret: string;
  storage: EmbeddedStorage;
  authStore: AuthStore;
  /** The accounts the identity provider knows, by id; change one in place to change its plan or limits. */
  accounts: Map<string, Account>;
  addAccount(account: NewAccount): Account;
  /** A real signed token for a new device connection of `account`. */
  tokenFor(account: Account, deviceName?: string): Promise<string>;
  /**
   * The person the platform's own login sees for a browser request: its `test_account` cookie, or its
   * `X-Test-Account` header, holding an account id.
   */
  identity: IdentityProvider;
  close(): Promise<void>;
}

function testIdentity(accounts: Map<string, Account>): IdentityProvider {
  return {
    async currentAccount(request) {
      const cookie = /(?:^|;\s*)test_account=([^;]+)/.exec(request.headers.get('cookie') ?? '')?.[1];
      const id = cookie ?? request.headers.get('x-test-account');
      return (id && accounts.get(decodeURIComponent(id))) || null;
    },
    loginUrl(returnTo) {
      return `/login?returnTo=${encodeURIComponent(returnTo)}`;
    },
    async accountById(id) {
      return accounts.get(id) ?? null;
    },
  };
}

export async function startTestPlatform(options: TestPlatformOptions = {}): Promise<TestPlatform> {
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'hc-platform-'));
  const now = options.now ?? Date.now;
  const tokenSecret = options.tokenSecret ?? randomBytes(32).toString('hex');
  const storage = openEmbeddedStorage({
    dir: join(dir, 'sync'),
    now,
    ...(options.tombstoneHorizonMs === undefined ? {} : { tombstoneHorizonMs: options.tombstoneHorizonMs }),
  });
  const authStore = openEmbeddedAuthStore({ dir: join(dir, 'auth'), now });
  const accounts = new Map<string, Account>();
  const identity = testIdentity(accounts);
  const app = createSyncEndpoints({
    storage: options.wrapStorage ? options.wrapStorage(storage) : storage,
    authStore,
    identity,
    tokenSecret,
    now,
    ...(options.minClientVersion === undefined ? {} : { minClientVersion: options.minClientVersion }),
    ...(options.log === undefined ? {} : { log: options.log }),
    ...(options.bodyIdleMs === undefined ? {} : { bodyIdleMs: options.bodyIdleMs }),
    ...(options.rateLimits === undefined ? {} : { rateLimits: options.rateLimits }),
  });

  const requests: AnsweredRequest[] = [];
  const { server, url } = await serveOnLoopback(async (request, env) => {
    // Recorded on arrival (status 0 until answered), so a test can wait for a request that is still running.
    const seen: AnsweredRequest = {
      atMs: Date.now(),
      method: request.method,
      path: new URL(request.url).pathname,
      status: 0,
      retryAfter: null,
    };
    requests.push(seen);
    const response = await app.fetch(request, env);
    seen.status = response.status;
    seen.retryAfter = response.headers.get('retry-after');
    return response;
  });

  return {
    url,
    requests,
    dir,
    tokenSecret,
    storage,
    authStore,
    accounts,
    identity,
    addAccount(spec) {
      const account: Account = {
        id: spec.id ?? `acct-${randomUUID()}`,
        email: spec.email,
        plan: spec.plan ?? (spec.paid === false ? 'free' : 'paid'),
        paid: spec.paid ?? true,
        maxSites: spec.maxSites ?? null,
        maxStorageBytes: spec.maxStorageBytes ?? null,
      };
      accounts.set(account.id, account);
      return account;
    },
    async tokenFor(account, deviceName = 'test device') {
      const sid = await authStore.createConnection(account.id, deviceName);
      return signToken(tokenSecret, { sub: account.id, sid }, now()).token;
    },
    async close() {
      await closeServer(server);
      await storage.close();
      await authStore.close();
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  body: Buffer;
  /** The body parsed as JSON (tests assert its shape). */
  json: Record<string, unknown>;
}

export interface PutOptions {
  /** Default 0. */
  baseVersion?: number;
  /** Default now. */
  modifiedAt?: string | number;
  /** X-Path, unencoded (encoded here). */
  path?: string;
  /** Default the body's real sha256. */
  sha256?: string;
  headers?: Record<string, string>;
}

export function sha256Hex(content: string | Uint8Array): string {
  return createHash('sha256').update(content).digest('hex');
}

/** Serves `fetch` on 127.0.0.1 at a free port; `env` is @hono/node-server's (the socket, for client addresses). */
export async function serveOnLoopback(fetch: (request: Request, env?: unknown) => Response | Promise<Response>) {
  const server = await new Promise<Server>((resolve) => {
    const started = serve({ fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(started as Server));
  });
  // The test's client (fetch) and this server share one process: a test that keeps the event loop busy for seconds
  // (thousands of synchronous writes) would otherwise see the server close an idle keep-alive connection at the
  // very moment the client reuses it (ECONNRESET). The client closes its idle connections itself (after 4 s).
  server.keepAliveTimeout = 65_000;
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** A port nothing listens on at the moment (for servers that must keep their port across a restart). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** Stops a test server now: open keep-alive connections are closed rather than waited for. */
export function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** A thin client for the /sync API with one token; every call returns status, headers and body, never throws on 4xx. */
export function syncApi(url: string, token: string | null) {
  const auth: Record<string, string> = token === null ? {} : { authorization: `Bearer ${token}` };
  async function request(
    method: string,
    path: string,
    init: { body?: string | Uint8Array; headers?: Record<string, string> } = {},
  ): Promise<ApiResponse> {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { ...auth, ...init.headers },
      ...(init.body === undefined ? {} : { body: typeof init.body === 'string' ? init.body : Buffer.from(init.body) }),
    });
    const body = Buffer.from(await response.arrayBuffer());
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    } catch {}
    return { status: response.status, headers: response.headers, body, json };
  }
  function put(route: string, content: string | Uint8Array, options: PutOptions = {}): Promise<ApiResponse> {
    const modifiedAt = options.modifiedAt ?? Date.now();
    const headers: Record<string, string> = {
      'X-Base-Version': String(options.baseVersion ?? 0),
      'X-Modified-At': typeof modifiedAt === 'number' ? new Date(modifiedAt).toISOString() : modifiedAt,
      'Content-SHA256': options.sha256 ?? sha256Hex(content),
      ...(options.path === undefined ? {} : { 'X-Path': encodePath(options.path) }),
      ...options.headers,
    };
    return request('PUT', route, { body: content, headers });
  }
  return {
    request,
    get: (path: string) => request('GET', path),
    putSite: (name: string, content: string | Uint8Array, options?: PutOptions) =>
      put(`/sync/sites/${encodeURIComponent(name)}`, content, options),
    putUpload: (path: string, content: string | Uint8Array, options?: PutOptions) =>
      put(`/sync/uploads/${encodePath(path)}`, content, options),
    putFolder: (path: string) => request('PUT', `/sync/folders/${encodePath(path)}`),
    session: (deviceName = 'test device', clientVersion = '1.0.0') =>
      request('POST', '/sync/sessions', {
        body: JSON.stringify({ deviceName, clientVersion }),
        headers: { 'content-type': 'application/json' },
      }),
    changes: (cursor: string, params: { limit?: number; wait?: number; session?: string } = {}) => {
      const query = new URLSearchParams({ cursor });
      for (const [name, value] of Object.entries(params)) query.set(name, String(value));
      return request('GET', `/sync/changes?${query}`);
    },
  };
}

export type SyncApi = ReturnType<typeof syncApi>;
