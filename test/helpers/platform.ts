// A real sync platform for tests: createSyncEndpoints on 127.0.0.1:<free port>, embedded storage and auth store
// in a temp folder, and an in-memory identity provider (a Map of accounts).

import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { openEmbeddedAuthStore } from '../../server-endpoints/auth/store.js';
import { signToken } from '../../server-endpoints/auth/tokens.js';
import { createSyncEndpoints } from '../../server-endpoints/index.js';
import { type EmbeddedStorage, openEmbeddedStorage } from '../../server-endpoints/storage/embedded.js';
import type { Account, AuthStore, IdentityProvider } from '../../server-endpoints/types.js';

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
}

export interface NewAccount {
  email: string;
  plan?: string;
  /** Default true. */
  paid?: boolean;
  maxSites?: number | null;
  maxStorageBytes?: number | null;
}

export interface TestPlatform {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  url: string;
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
    storage,
    authStore,
    identity,
    tokenSecret,
    now,
    ...(options.minClientVersion === undefined ? {} : { minClientVersion: options.minClientVersion }),
    ...(options.log === undefined ? {} : { log: options.log }),
  });

  const server = await new Promise<Server>((resolve) => {
    const started = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(started as Server));
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    dir,
    tokenSecret,
    storage,
    authStore,
    accounts,
    identity,
    addAccount(spec) {
      const account: Account = {
        id: `acct-${randomUUID()}`,
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
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await storage.close();
      await authStore.close();
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
