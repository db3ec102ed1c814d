// Integration harness: the real reference platform server on 127.0.0.1, real accounts and tokens, and real
// sync engines on real temp folders. Used by the engine, CLI and desktop integration tests.

import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { encodePath } from '../../protocol/index.js';
import { signToken } from '../../server-endpoints/auth/tokens.js';
import {
  openReferenceStores,
  type ReferenceServer,
  startReferenceServer,
} from '../../server-endpoints/reference/server.js';
import type { SavedToken } from '../../sync-engine/auth.js';
import { type ApiClient, createApiClient } from '../../sync-engine/endpoints.js';
import { createSyncEngine, type EngineOptions, type SyncEngine } from '../../sync-engine/engine.js';
import { StatusModel } from '../../sync-engine/status.js';

export interface TestAccount {
  id: string;
  email: string;
  password: string;
  token: string;
}

export interface TestPlatform {
  url: string;
  dataDir: string;
  server: ReferenceServer;
  accounts: TestAccount[];
  /** Every request the server answered, one access-log line each: `PUT /sync/sites/hello 200 3 ms`. */
  requests: string[];
  /** The platform's own save endpoint, as a self-saving site in the browser uses it. */
  platformSave(account: TestAccount, name: string, html: string): Promise<Response>;
  /** The dashboard's delete (a tombstone reaches clients). */
  deleteSite(account: TestAccount, name: string): Promise<void>;
  /** GET a /sync/* path with a token (for assertions on what the platform holds). */
  api(account: TestAccount, pathAndQuery: string, init?: RequestInit): Promise<Response>;
  /** A site's or upload's content on the platform (null when absent). */
  remote(account: TestAccount, kind: 'site' | 'upload', key: string): Promise<string | null>;
  /** A sync client's PUT of a site or upload (another device), with an optional X-Path and base version. */
  put(
    account: TestAccount,
    kind: 'site' | 'upload',
    key: string,
    content: string,
    options?: { path?: string; baseVersion?: number; modifiedAt?: Date },
  ): Promise<Response>;
  /** Every current entry of the account (a complete listing, cursor 0). */
  listing(account: TestAccount): Promise<Array<{ kind: string; path: string; name?: string; sha256?: string }>>;
  restart(): Promise<void>;
  stop(): Promise<void>;
  close(): Promise<void>;
}

export interface AccountSpec {
  email: string;
  plan?: 'paid' | 'free';
  maxSites?: number | null;
  maxStorageBytes?: number | null;
}

/** Starts the reference server on a free port with the given accounts, each with a working token. */
export async function startPlatform(specs: AccountSpec[] = [{ email: 'ada@example.com' }]): Promise<TestPlatform> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'hc-platform-'));
  const stores = await openReferenceStores(dataDir);
  const accounts: TestAccount[] = [];
  for (const spec of specs) {
    const password = 'correct horse battery staple';
    const created = await stores.accounts.create({
      email: spec.email,
      password,
      plan: spec.plan ?? 'paid',
      maxSites: spec.maxSites === undefined ? null : spec.maxSites,
      maxStorageBytes: spec.maxStorageBytes ?? null,
    });
    const sid = await stores.authStore.createConnection(created.id, 'test device');
    const { token } = signToken(stores.tokenSecret, { sub: created.id, sid }, Date.now());
    accounts.push({ id: created.id, email: spec.email, password, token });
  }
  await stores.close();

  let port = 0;
  const requests: string[] = [];
  const log = (line: string) => {
    requests.push(line);
  };
  let server = await startReferenceServer({ port, dataDir, log });
  port = server.port;
  const cookies = new Map<string, string>();

  async function login(account: TestAccount): Promise<string> {
    const known = cookies.get(account.id);
    if (known) return known;
    const response = await fetch(`${server.url}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url },
      body: new URLSearchParams({ email: account.email, password: account.password, next: '/' }),
    });
    const cookie = /hc_session=[^;]+/.exec(response.headers.get('set-cookie') ?? '')?.[0];
    if (!cookie) throw new Error(`login failed with ${response.status}`);
    cookies.set(account.id, cookie);
    return cookie;
  }

  const platform: TestPlatform = {
    get url() {
      return server.url;
    },
    dataDir,
    get server() {
      return server;
    },
    accounts,
    requests,
    async platformSave(account, name, html) {
      const cookie = await login(account);
      return fetch(`${server.url}/save/${name}`, {
        method: 'POST',
        headers: { cookie, origin: server.url, 'content-type': 'text/html' },
        body: html,
      });
    },
    async deleteSite(account, name) {
      const cookie = await login(account);
      const page = await (await fetch(`${server.url}/`, { headers: { cookie } })).text();
      const csrf = /name="csrf" value="([^"]+)"/.exec(page)?.[1];
      if (!csrf) throw new Error('no delete form on the dashboard');
      const response = await fetch(`${server.url}/dashboard/sites/${name}/delete`, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie, origin: server.url, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ csrf }),
      });
      if (response.status >= 400) throw new Error(`delete failed with ${response.status}`);
    },
    api(account, pathAndQuery, init = {}) {
      return fetch(`${server.url}${pathAndQuery}`, {
        ...init,
        headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${account.token}` },
      });
    },
    async remote(account, kind, key) {
      const route = kind === 'site' ? `/sync/sites/${key}` : `/sync/uploads/${encodePath(key)}`;
      const response = await platform.api(account, route);
      return response.status === 200 ? response.text() : null;
    },
    put(account, kind, key, content, putOptions = {}) {
      const route = kind === 'site' ? `/sync/sites/${key}` : `/sync/uploads/${encodePath(key)}`;
      const headers: Record<string, string> = {
        'x-base-version': String(putOptions.baseVersion ?? 0),
        'x-modified-at': (putOptions.modifiedAt ?? new Date()).toISOString(),
        'content-sha256': createHash('sha256').update(content).digest('hex'),
      };
      if (putOptions.path !== undefined) headers['x-path'] = encodePath(putOptions.path);
      return platform.api(account, route, { method: 'PUT', headers, body: content });
    },
    async listing(account) {
      const entries: Array<{ kind: string; path: string; name?: string; sha256?: string }> = [];
      let cursor = '0';
      for (;;) {
        const response = await platform.api(account, `/sync/changes?cursor=${encodeURIComponent(cursor)}`);
        if (response.status !== 200) throw new Error(`listing failed with ${response.status}`);
        const page = (await response.json()) as { entries: typeof entries; cursor: string; hasMore: boolean };
        entries.push(...page.entries);
        cursor = page.cursor;
        if (!page.hasMore) return entries;
      }
    },
    async stop() {
      await server.close();
    },
    async restart() {
      server = await startReferenceServer({ port, dataDir, log });
    },
    async close() {
      await server.close().catch(() => {});
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return platform;
}

export interface TestClient {
  folder: string;
  /** The client's data folder (its state file lives in it unless `stateFile` was given). */
  home: string;
  stateFile: string;
  engine: SyncEngine;
  api: ApiClient;
  status: StatusModel;
  lines: string[];
  /** The token the client holds now (a refresh replaces it). */
  token(): SavedToken;
  /** Times the engine told its owner that the platform signed it out. */
  signedOut: number;
  stop(): Promise<void>;
}

/** A real engine for `account` on a fresh temp folder (or `folder`), polling every `pollSeconds`. */
export function startClient(
  platform: Pick<TestPlatform, 'url'>,
  account: Pick<TestAccount, 'id' | 'token'>,
  options: {
    folder?: string;
    pollSeconds?: number;
    stateFile?: string;
    engine?: Partial<EngineOptions>;
    /** When the token was obtained (local ms); default now. Older than 24 h makes the client refresh it. */
    tokenObtainedAtMs?: number;
    /** Another origin for the API client (a proxy or a hostile test server); default the platform's. */
    origin?: string;
    timeoutMs?: number;
  } = {},
): TestClient {
  const folder = options.folder ?? mkdtempSync(path.join(os.tmpdir(), 'hc-folder-'));
  const home = mkdtempSync(path.join(os.tmpdir(), 'hc-home-'));
  const lines: string[] = [];
  let saved: SavedToken = {
    token: account.token,
    origin: new URL(options.origin ?? platform.url).origin,
    expiresAt: new Date(Date.now() + 9 * 86_400_000).toISOString(),
    obtainedAtMs: options.tokenObtainedAtMs ?? Date.now(),
  };
  const log = (level: string, line: string) => {
    lines.push(`${level} ${line}`);
  };
  const api = createApiClient({
    origin: options.origin ?? platform.url,
    getToken: () => saved,
    onToken: (token) => {
      saved = token;
    },
    clientVersion: '0.1.0',
    log,
    timeoutMs: options.timeoutMs ?? 5000,
    retryDelaysMs: [50, 100, 150],
  });
  const status = new StatusModel();
  const stateFile = options.stateFile ?? path.join(home, 'state', 'sync.state');
  let signedOut = 0;
  const engine = createSyncEngine({
    api,
    folder,
    accountId: account.id,
    status,
    stateFile,
    log,
    deviceName: 'test client',
    pollSeconds: options.pollSeconds ?? 0.3,
    probeSeconds: 0.2,
    onSignedOut: () => {
      signedOut++;
    },
    ...options.engine,
  });
  return {
    folder,
    home,
    stateFile,
    engine,
    api,
    status,
    lines,
    token: () => saved,
    get signedOut() {
      return signedOut;
    },
    async stop() {
      await engine.stop();
      api.close();
    },
  };
}

/** Waits until `check` holds (polling every 20 ms), or fails naming `what`. */
export async function until<T>(check: () => T | Promise<T>, what: string, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Every file under the folder's sites-versions, by its path relative to sites-versions, with its content. */
export function backupsOf(folder: string): Map<string, string> {
  const root = path.join(folder, 'sites-versions');
  const found = new Map<string, string>();
  if (!existsSync(root)) return found;
  for (const d of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!d.isFile()) continue;
    const abs = path.join(d.parentPath, d.name);
    found.set(path.relative(root, abs).split(path.sep).join('/'), readFileSync(abs, 'utf8'));
  }
  return found;
}

/** Every file under `folder` except sites-versions, relative with `/`. */
export function filesOf(folder: string): string[] {
  return readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.relative(folder, path.join(d.parentPath, d.name)).split(path.sep).join('/'))
    .filter((p) => !p.startsWith('sites-versions/') && p !== '.hyperclay-sync')
    .sort();
}

/** Removes temp folders made by a test (ignores what is already gone). */
export function removeFolders(...folders: string[]): void {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
}

export type ClientOptions = Parameters<typeof startClient>[2];

export interface SyncWorld {
  /** The platform of the running test. */
  readonly platform: TestPlatform;
  /** Its first account. */
  account(): TestAccount;
  /** A client of the first account, stopped and cleaned up after the test. */
  client(options?: ClientOptions): TestClient;
  /** Hands a client the test has stopped itself back: it is not stopped again after the test. */
  release(client: TestClient): void;
}

/**
 * One reference platform per test (started before it, closed after it) and the clients the test makes, stopped
 * and removed after it. `onClientStopped` and `onClosing` see them before they are cleaned up.
 */
export function useSyncWorld(
  options: {
    specs?: AccountSpec[];
    clientDefaults?: ClientOptions;
    onClientStopped?: (client: TestClient) => void;
    onClosing?: (platform: TestPlatform) => void;
  } = {},
): SyncWorld {
  let platform: TestPlatform | null = null;
  const clients: TestClient[] = [];
  beforeEach(async () => {
    platform = await startPlatform(options.specs);
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) {
      await c.stop();
      options.onClientStopped?.(c);
      removeFolders(c.folder, c.home);
    }
    if (platform) {
      options.onClosing?.(platform);
      await platform.close();
    }
    platform = null;
  });
  const world: SyncWorld = {
    get platform() {
      if (!platform) throw new Error('the platform runs only inside a test');
      return platform;
    },
    account: () => world.platform.accounts[0]!,
    client(clientOptions = {}) {
      const c = startClient(world.platform, world.account(), { ...options.clientDefaults, ...clientOptions });
      clients.push(c);
      return c;
    },
    release(c) {
      const index = clients.indexOf(c);
      if (index !== -1) clients.splice(index, 1);
    },
  };
  return world;
}
