// A throwaway PostgreSQL cluster for tests (initdb + pg_ctl in a temp folder on a free 127.0.0.1 port, removed
// after), and the sync endpoints running on it with a real S3-compatible server (s3-server.ts).

import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signToken } from '../../server-endpoints/auth/tokens.js';
import { createSyncEndpoints } from '../../server-endpoints/index.js';
import {
  openPostgresAuthStore,
  openPostgresStorage,
  type PostgresStorage,
} from '../../server-endpoints/storage/postgres.js';
import { openS3BlobStore } from '../../server-endpoints/storage/s3.js';
import type { Account, AuthStore, IdentityProvider } from '../../server-endpoints/types.js';
import { closeServer, freePort, serveOnLoopback } from './platform.js';
import { startTestS3, type TestS3 } from './s3-server.js';

export interface TestPostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  url: string;
  port: number;
  /** The cluster's data folder (its `postmaster.pid` names the server process). */
  dataDir: string;
  /** A new empty database in this cluster; returns its connection string. */
  createDatabase(name: string): Promise<string>;
  /**
   * Shuts the server down, its data kept: `fast` ends open connections and checkpoints; `immediate` is a crash
   * (recovery from the WAL on the next start).
   */
  halt(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Starts it again on the same port with the same data. */
  resume(): Promise<void>;
  /** Stops the server and removes the cluster. */
  stop(): Promise<void>;
}

/** The newest installed PostgreSQL's bin folder, or a clear error saying how to install one. */
export function postgresBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((name) => existsSync(join(root, name, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw new Error(
      'PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb). Install it with scripts/setup.sh or `apt-get install -y postgresql`.',
    );
  }
  return join(root, versions[0]!, 'bin');
}

/** initdb refuses to run as root: the cluster belongs to the `postgres` user then. */
function runAs(isRoot: boolean, command: string, args: string[]): void {
  const [file, argv] = isRoot ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
  const result = spawnSync(file, argv, { encoding: 'utf8', timeout: 60_000 });
  if (result.status !== 0) {
    throw new Error(`${command} failed (exit ${result.status}): ${(result.stderr || result.stdout || '').trim()}`);
  }
}

export interface TestPostgresOptions {
  /**
   * fsync and synchronous commits on, as in production (benchmarks; a commit survives a crash). Default off:
   * tests run faster without disk flushes.
   */
  durable?: boolean;
  /** Default 200. */
  maxConnections?: number;
}

/** runAs without blocking the event loop (a benchmark's clients keep running while the server restarts). */
function runAsAsync(isRoot: boolean, command: string, args: string[]): Promise<void> {
  const [file, argv] = isRoot ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
  return new Promise((resolve, reject) => {
    execFile(file, argv, { encoding: 'utf8', timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} failed: ${(stderr || stdout || error.message).trim()}`));
      else resolve();
    });
  });
}

export async function startTestPostgres(settings: TestPostgresOptions = {}): Promise<TestPostgres> {
  const bin = postgresBin();
  const isRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'hc-pg-'));
  const data = join(dir, 'data');
  if (isRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
    chmodSync(dir, 0o700);
  }
  const port = await freePort();
  const speed = settings.durable ? '' : ' -c fsync=off -c synchronous_commit=off -c full_page_writes=off';
  const options = `-c listen_addresses=127.0.0.1 -c port=${port}${speed} -c unix_socket_directories=${dir} -c max_connections=${settings.maxConnections ?? 200}`;
  const startArgs = ['-D', data, '-o', options, '-l', join(dir, 'log'), '-w', '-t', '30', 'start'];
  const start = () => runAs(isRoot, join(bin, 'pg_ctl'), startArgs);
  try {
    runAs(isRoot, join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
    start();
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let stopped = false;
  let running = true;
  return {
    url,
    port,
    dataDir: data,
    async createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`);
      const { default: pg } = await import('pg');
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async halt(mode = 'fast') {
      await runAsAsync(isRoot, join(bin, 'pg_ctl'), ['-D', data, '-m', mode, '-w', 'stop']);
      running = false;
    },
    async resume() {
      await runAsAsync(isRoot, join(bin, 'pg_ctl'), startArgs);
      running = true;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        if (running) runAs(isRoot, join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

export interface PgPlatformNode {
  /** `http://127.0.0.1:<port>` of this process's endpoints. */
  url: string;
  storage: PostgresStorage;
  authStore: AuthStore;
  close(): Promise<void>;
}

export interface PgPlatformOptions {
  /** How many endpoint instances (each with its own pg pools, S3 client and identity map); default 1. */
  nodes?: number;
  now?: () => number;
  tombstoneHorizonMs?: number;
  minClientVersion?: string;
  /** Pool size of each node's storage; default 10. */
  maxConnections?: number;
  /** A request body that sends nothing for this long is dropped; default the endpoints' 30 s. */
  bodyIdleMs?: number;
}

export interface PgPlatform {
  postgres: TestPostgres;
  s3: TestS3;
  databaseUrl: string;
  tokenSecret: string;
  nodes: PgPlatformNode[];
  /** The first node's URL and storage, for tests that need only one. */
  url: string;
  storage: PostgresStorage;
  /** Known to every node's identity provider (each holds its own copy, as separate processes would). */
  addAccount(spec: {
    email: string;
    paid?: boolean;
    maxSites?: number | null;
    maxStorageBytes?: number | null;
  }): Account;
  tokenFor(account: Account, deviceName?: string): Promise<string>;
  /** Another endpoint instance over the same database and bucket. */
  addNode(): Promise<PgPlatformNode>;
  close(): Promise<void>;
}

/**
 * The sync endpoints on PostgreSQL + a real S3-compatible server: a throwaway cluster, a bucket, and `nodes` app instances
 * that share nothing in memory (tokens from one are honoured by the others through the shared auth tables).
 */
export async function startPgPlatform(options: PgPlatformOptions = {}): Promise<PgPlatform> {
  const [postgres, s3] = await Promise.all([startTestPostgres(), startTestS3()]);
  const databaseUrl = await postgres.createDatabase('hyperclay');
  const tokenSecret = randomBytes(32).toString('hex');
  const now = options.now ?? Date.now;
  const accountSpecs: Account[] = [];
  const nodes: PgPlatformNode[] = [];

  async function startNode(): Promise<PgPlatformNode> {
    const accounts = new Map<string, Account>(accountSpecs.map((a) => [a.id, { ...a }]));
    const identity: IdentityProvider = {
      async currentAccount(request) {
        const id = request.headers.get('x-test-account');
        return (id && accounts.get(id)) || null;
      },
      loginUrl: (returnTo) => `/login?returnTo=${encodeURIComponent(returnTo)}`,
      async accountById(id) {
        return accounts.get(id) ?? null;
      },
    };
    const storage = await openPostgresStorage({
      connectionString: databaseUrl,
      ...(options.maxConnections === undefined ? {} : { maxConnections: options.maxConnections }),
      blobs: openS3BlobStore({ endpoint: s3.endpoint, bucket: s3.bucket, credentials: s3.credentials }),
      now,
      ...(options.tombstoneHorizonMs === undefined ? {} : { tombstoneHorizonMs: options.tombstoneHorizonMs }),
    });
    const authStore = await openPostgresAuthStore({ connectionString: databaseUrl, maxConnections: 3, now });
    const app = createSyncEndpoints({
      storage,
      authStore,
      identity,
      tokenSecret,
      now,
      ...(options.minClientVersion === undefined ? {} : { minClientVersion: options.minClientVersion }),
      ...(options.bodyIdleMs === undefined ? {} : { bodyIdleMs: options.bodyIdleMs }),
    });
    const { server, url } = await serveOnLoopback(app.fetch);
    const node: PgPlatformNode & { accounts: Map<string, Account> } = {
      url,
      storage,
      authStore,
      accounts,
      async close() {
        await closeServer(server);
        await storage.close();
        await authStore.close();
      },
    };
    nodeAccounts.push(accounts);
    nodes.push(node);
    return node;
  }
  const nodeAccounts: Map<string, Account>[] = [];

  try {
    for (let i = 0; i < (options.nodes ?? 1); i++) await startNode();
  } catch (error) {
    await Promise.allSettled(nodes.map((node) => node.close()));
    await s3.close();
    await postgres.stop();
    throw error;
  }
  const first = nodes[0]!;
  return {
    postgres,
    s3,
    databaseUrl,
    tokenSecret,
    nodes,
    url: first.url,
    storage: first.storage,
    addAccount(spec) {
      const account: Account = {
        id: `acct-${randomUUID()}`,
        email: spec.email,
        plan: spec.paid === false ? 'free' : 'paid',
        paid: spec.paid ?? true,
        maxSites: spec.maxSites ?? null,
        maxStorageBytes: spec.maxStorageBytes ?? null,
      };
      accountSpecs.push(account);
      for (const accounts of nodeAccounts) accounts.set(account.id, { ...account });
      return account;
    },
    async tokenFor(account, deviceName = 'test device') {
      const sid = await first.authStore.createConnection(account.id, deviceName);
      return signToken(tokenSecret, { sub: account.id, sid }, now()).token;
    },
    addNode: startNode,
    async close() {
      await Promise.allSettled(nodes.map((node) => node.close()));
      await s3.close();
      await postgres.stop();
    },
  };
}
