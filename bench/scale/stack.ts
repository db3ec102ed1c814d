// The scale bench's platform on loopback: PostgreSQL (durable settings) + the S3-compatible server, a data folder
// with N accounts and a device connection each, two reference server processes (`serve --postgres --s3`) and
// HAProxy in front of them with health checks.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { signToken } from '../../server-endpoints/auth/tokens.js';
import { openAccountStore } from '../../server-endpoints/reference/accounts.js';
import { dataPaths, loadTokenSecret } from '../../server-endpoints/reference/server.js';
import { openPostgresAuthStore } from '../../server-endpoints/storage/postgres.js';
import { freePort } from '../../test/helpers/platform.js';
import { startTestPostgres, type TestPostgres } from '../../test/helpers/postgres.js';
import { startTestS3, type TestS3 } from '../../test/helpers/s3-server.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'server-endpoints/reference/cli.ts');

export interface BenchAccount {
  id: string;
  token: string;
}

export interface Endpoint {
  name: string;
  port: number;
  child: ChildProcess;
}

export interface Stack {
  /** HAProxy's address: every client request goes here. */
  url: string;
  postgres: TestPostgres;
  s3: TestS3;
  databaseUrl: string;
  endpoints: Endpoint[];
  haproxy: ChildProcess;
  accounts: BenchAccount[];
  dir: string;
  /** Processes to measure, by name (PostgreSQL: its postmaster; its backends are counted as its children). */
  processes(): { name: string; pid: number; withChildren: boolean }[];
  /** Starts endpoint `index` again on its port (after a kill); HAProxy takes it back once its checks pass. */
  restartEndpoint(index: number): Promise<void>;
  close(): Promise<void>;
}

function log(line: string): void {
  process.stderr.write(`[setup] ${line}\n`);
}

/** Accounts in the data folder (one transaction) and a device connection each in PostgreSQL, tokens signed. */
async function makeAccounts(dir: string, databaseUrl: string, count: number): Promise<BenchAccount[]> {
  const started = Date.now();
  const store = openAccountStore({ dir: dataPaths(dir).accounts });
  const made = await store.createMany(
    Array.from({ length: count }, (_, i) => ({ email: `bench${i}@example.com`, password: 'bench password' })),
  );
  store.close();
  const secret = loadTokenSecret(dataPaths(dir).secret);
  const auth = await openPostgresAuthStore({ connectionString: databaseUrl, maxConnections: 8 });
  const accounts: BenchAccount[] = new Array(count);
  let next = 0;
  // The auth store's own createConnection, eight at a time: what a sign-in writes, without the browser.
  const worker = async (): Promise<void> => {
    for (let i = next++; i < count; i = next++) {
      const sid = await auth.createConnection(made[i]!.id, 'scale bench');
      accounts[i] = { id: made[i]!.id, token: signToken(secret, { sub: made[i]!.id, sid }, Date.now()).token };
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  await auth.close();
  log(`${count} accounts and device connections in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return accounts;
}

/** Starts one `serve` process; resolves once it prints its address. Its access log goes to a file. */
export function startEndpoint(
  name: string,
  port: number,
  dir: string,
  databaseUrl: string,
  s3Url: string,
): Promise<Endpoint> {
  const args = ['--import', 'tsx', CLI, 'serve', '--port', String(port), '--data', dir];
  const child = spawn(process.execPath, [...args, '--postgres', databaseUrl, '--s3', s3Url], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const file = createWriteStream(join(dir, `${name}.log`), { flags: 'a' });
  return new Promise((done, reject) => {
    let ready = false;
    child.stdout?.on('data', (chunk: Buffer) => {
      file.write(chunk);
      if (!ready && chunk.toString().includes('reference platform at')) {
        ready = true;
        done({ name, port, child });
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => file.write(chunk));
    child.once('exit', (code, signal) => {
      if (!ready) reject(new Error(`${name} exited (${code ?? signal}) before listening; see ${dir}/${name}.log`));
    });
  });
}

/**
 * Health checks every 500 ms (250 ms while failing), down after 2 failures; a check may take up to 3 s (a busy
 * process is slow, not dead). A killed process refuses connections at once: its checks fail within a second,
 * and a request HAProxy cannot connect with is sent to the other process (redispatch; only connection failures
 * are retried, which is safe for any method). leastconn: long-polls pile up, so the process holding fewer gets
 * the next one.
 */
function haproxyConfig(port: number, endpoints: Endpoint[]): string {
  const servers = endpoints.map((e) => `  server ${e.name} 127.0.0.1:${e.port} check`).join('\n');
  // No global maxconn: HAProxy derives it from its open-file limit (two descriptors per proxied connection).
  return `global
  nbthread 1

defaults
  mode http
  timeout connect 3s
  timeout client 60s
  timeout server 45s
  # Idle client connections (plain pollers between polls) are closed: descriptors are what runs out first.
  # Longer than the clients' longest backoff (4 s), so a retry never races the close of its idle connection.
  timeout http-keep-alive 5s
  option redispatch
  retries 2
  retry-on conn-failure

frontend sync
  bind 127.0.0.1:${port}
  default_backend endpoints

backend endpoints
  balance leastconn
  http-reuse safe
  option httpchk GET /sync/health
  http-check expect status 200
  # A check may take up to 3 s on a saturated machine; a killed process refuses at once, so that stays fast.
  timeout check 3s
  default-server inter 500ms fastinter 250ms downinter 500ms fall 2 rise 2 maxconn 30000
${servers}
`;
}

function startHaproxy(dir: string, port: number, endpoints: Endpoint[]): ChildProcess {
  const config = join(dir, 'haproxy.cfg');
  writeFileSync(config, haproxyConfig(port, endpoints));
  try {
    execFileSync('haproxy', ['-c', '-q', '-f', config]);
  } catch (error) {
    throw new Error(
      `HAProxy is missing or refused its config (${(error as Error).message}); install it with bench/setup.sh`,
    );
  }
  const child = spawn('haproxy', ['-db', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.pipe(createWriteStream(join(dir, 'haproxy.log')));
  return child;
}

async function waitForHealth(url: string): Promise<void> {
  for (let tries = 0; tries < 200; tries++) {
    const ok = await fetch(`${url}/sync/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} never became healthy`);
}

export async function startStack(accountCount: number): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), 'hc-scale-'));
  const [postgres, s3] = await Promise.all([startTestPostgres({ durable: true, maxConnections: 100 }), startTestS3()]);
  const endpoints: Endpoint[] = [];
  let haproxy: ChildProcess | null = null;
  const url = await (async () => {
    const databaseUrl = await postgres.createDatabase('hyperclay');
    const made = await makeAccounts(dir, databaseUrl, accountCount);
    const ports = [await freePort(), await freePort()];
    endpoints.push(
      ...(await Promise.all(ports.map((p, i) => startEndpoint(`endpoint-${i + 1}`, p, dir, databaseUrl, s3.url)))),
    );
    const port = await freePort();
    haproxy = startHaproxy(dir, port, endpoints);
    await waitForHealth(`http://127.0.0.1:${port}`);
    return { databaseUrl, made, url: `http://127.0.0.1:${port}` };
  })().catch(async (error: Error) => {
    (haproxy as ChildProcess | null)?.kill('SIGTERM');
    for (const e of endpoints) e.child.kill('SIGTERM');
    await Promise.all([...endpoints.map((e) => exited(e.child)), s3.close(), postgres.stop()]);
    throw error;
  });
  return assemble(dir, postgres, s3, endpoints, haproxy!, url);
}

function assemble(
  dir: string,
  postgres: TestPostgres,
  s3: TestS3,
  endpoints: Endpoint[],
  haproxy: ChildProcess,
  started: { databaseUrl: string; made: BenchAccount[]; url: string },
): Stack {
  const { databaseUrl, made: accounts, url } = started;
  log(`HAProxy at ${url} over ${endpoints.map((e) => e.port).join(', ')}; data and logs in ${dir}`);
  return {
    url,
    postgres,
    s3,
    databaseUrl,
    endpoints,
    haproxy,
    accounts,
    dir,
    processes() {
      let postmaster = 0; // none while PostgreSQL is down
      try {
        postmaster = Number(readFileSync(join(postgres.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      } catch {}
      return [
        ...endpoints.map((e) => ({ name: e.name, pid: e.child.pid ?? 0, withChildren: false })),
        { name: 'haproxy', pid: haproxy.pid ?? 0, withChildren: false },
        { name: 'postgresql', pid: postmaster, withChildren: true },
        { name: 's3 server', pid: s3.pid() ?? 0, withChildren: false },
        { name: 'load generator', pid: process.pid, withChildren: false },
      ];
    },
    async restartEndpoint(index) {
      const old = endpoints[index]!;
      await exited(old.child);
      endpoints[index] = await startEndpoint(old.name, old.port, dir, databaseUrl, s3.url);
    },
    async close() {
      haproxy.kill('SIGTERM');
      for (const e of endpoints) e.child.kill('SIGTERM');
      await Promise.all(endpoints.map((e) => exited(e.child)));
      await s3.close();
      await postgres.stop();
      if (!process.env.KEEP_BENCH_DATA) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => child.once('exit', () => done()));
}
