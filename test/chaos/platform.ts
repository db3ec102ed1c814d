// The reference platform of a chaos run as its own process (`serve --port 0`): its accounts and tokens, minted in
// its data folder before it first starts; kill -9 and restart; edits through its save endpoint with the owner's
// login cookie, deletes through its `site delete` command, and complete listings for the harness's own checks.

import { join } from 'node:path';
import { signToken } from '../../server-endpoints/auth/tokens.js';
import { openReferenceStores } from '../../server-endpoints/reference/server.js';
import { exitWithin, type Processes, REPO, type Spawned, waitFor } from './processes.js';

const PLATFORM_CLI = 'server-endpoints/reference/cli.ts';
const PASSWORD = 'chaos monkey battery staple';

export interface ChaosAccount {
  index: number;
  id: string;
  email: string;
  /** The harness's own token (listings); each client has one of its own. */
  token: string;
  /** One token per client of this account, by client index. */
  clientTokens: Map<number, string>;
}

export interface ListedEntry {
  kind: 'site' | 'upload' | 'folder';
  path: string;
  name?: string;
  sha256?: string;
  size?: number;
  version?: number;
  seq?: number;
  deleted?: boolean;
}

/** Accounts (paid, no site or storage limit) and tokens, written into `dataDir` while no server runs. */
export async function createAccounts(dataDir: string, clientAccounts: number[]): Promise<ChaosAccount[]> {
  const stores = await openReferenceStores(dataDir);
  try {
    const count = Math.max(...clientAccounts) + 1;
    const accounts: ChaosAccount[] = [];
    for (let index = 0; index < count; index++) {
      const email = `chaos-${String.fromCharCode(97 + index)}@example.com`;
      const created = await stores.accounts.create({
        email,
        password: PASSWORD,
        plan: 'paid',
        maxSites: null,
        maxStorageBytes: null,
      });
      const mint = async (device: string) => {
        const sid = await stores.authStore.createConnection(created.id, device);
        return signToken(stores.tokenSecret, { sub: created.id, sid }, Date.now()).token;
      };
      const clientTokens = new Map<number, string>();
      for (const [client, account] of clientAccounts.entries()) {
        if (account === index) clientTokens.set(client, await mint(`chaos client ${client}`));
      }
      accounts.push({ index, id: created.id, email, token: await mint('chaos harness'), clientTokens });
    }
    return accounts;
  } finally {
    await stores.close();
  }
}

export class PlatformProcess {
  readonly dataDir: string;
  readonly #procs: Processes;
  readonly #logFile: string;
  #proc: Spawned | null = null;
  #port: number | null = null;
  readonly #cookies = new Map<number, string>();
  /** Exits nobody asked for (a crash of the platform itself), for the report. */
  readonly crashes: string[] = [];
  #expectExit = false;
  /** When the last start was spawned. */
  lastStartMs = 0;

  constructor(dataDir: string, logDir: string, procs: Processes) {
    this.dataDir = dataDir;
    this.#procs = procs;
    this.#logFile = join(logDir, 'platform.log');
  }

  get port(): number | null {
    return this.#proc?.running ? this.#port : null;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  get running(): boolean {
    return this.#proc?.running === true;
  }

  get pid(): number | null {
    return this.#proc?.running ? this.#proc.pid : null;
  }

  /** Starts the server and waits (bounded) for the address it prints; false when it could not start. */
  async start(timeoutMs = 60_000): Promise<boolean> {
    if (this.running) return true;
    this.lastStartMs = Date.now();
    const args = [
      '--import',
      'tsx',
      PLATFORM_CLI,
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--data',
      this.dataDir,
    ];
    const proc = this.#procs.node(args, { cwd: REPO, env: { ...process.env }, logFile: this.#logFile, capture: true });
    this.#proc = proc;
    this.#expectExit = false;
    const found = () => /reference platform at http:\/\/[^:\s]+:(\d+)/.exec(proc.output());
    const ok = await waitFor(() => found() !== null || !proc.running, timeoutMs);
    const match = found();
    if (!ok || !match || !proc.running) {
      this.#procs.kill(proc);
      return false;
    }
    this.#port = Number(match[1]);
    void proc.exited.then((how) => {
      if (!this.#expectExit && this.#proc === proc) this.crashes.push(`the platform exited by itself (${how})`);
    });
    return true;
  }

  /** kill -9. */
  kill(): void {
    if (!this.#proc) return;
    this.#expectExit = true;
    this.#procs.kill(this.#proc);
  }

  /** SIGTERM, and kill -9 if it does not stop within `ms`. */
  async stop(ms = 20_000): Promise<boolean> {
    const proc = this.#proc;
    if (!proc?.running) return true;
    this.#expectExit = true;
    proc.child.kill('SIGTERM');
    if ((await exitWithin(proc, ms)) !== null) return true;
    this.#procs.kill(proc);
    await exitWithin(proc, 5000);
    return false;
  }

  async #login(account: ChaosAccount): Promise<string | null> {
    const known = this.#cookies.get(account.index);
    if (known) return known;
    const response = await fetch(`${this.url}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: this.url },
      body: new URLSearchParams({ email: account.email, password: PASSWORD, next: '/' }),
      signal: AbortSignal.timeout(15_000),
    });
    const cookie = /hc_session=[^;]+/.exec(response.headers.get('set-cookie') ?? '')?.[0] ?? null;
    if (cookie) this.#cookies.set(account.index, cookie);
    return cookie;
  }

  /** The platform's save endpoint, as a self-saving site calls it; the answer's status and version (0 on failure). */
  async save(account: ChaosAccount, name: string, html: Buffer): Promise<{ status: number; version: number }> {
    if (!this.running) return { status: 0, version: 0 };
    try {
      const cookie = await this.#login(account);
      if (!cookie) return { status: 401, version: 0 };
      const response = await fetch(`${this.url}/save/${name}`, {
        method: 'POST',
        headers: { cookie, origin: this.url, 'content-type': 'text/html' },
        body: new Uint8Array(html),
        signal: AbortSignal.timeout(15_000),
      });
      const body = (await response.json().catch(() => ({}))) as { entry?: { version?: number } };
      if (response.status === 401) this.#cookies.delete(account.index);
      return { status: response.status, version: body.entry?.version ?? 0 };
    } catch {
      return { status: 0, version: 0 };
    }
  }

  /** `site delete` (the admin command, on the data folder, whether the server runs or not); true when deleted. */
  async deleteSite(account: ChaosAccount, name: string): Promise<boolean> {
    const args = ['--import', 'tsx', PLATFORM_CLI, 'site', 'delete', '--email', account.email, '--name', name];
    const proc = this.#procs.node([...args, '--data', this.dataDir], {
      cwd: REPO,
      env: { ...process.env },
      logFile: this.#logFile,
      capture: true,
    });
    const code = await exitWithin(proc, 60_000);
    if (code === null) this.#procs.kill(proc);
    return code === 0;
  }

  /** The account's complete listing through /sync/changes (cursor 0, every page); null when it cannot be read. */
  async listing(account: ChaosAccount): Promise<ListedEntry[] | null> {
    if (!this.running) return null;
    const entries: ListedEntry[] = [];
    let cursor = '0';
    try {
      for (let pages = 0; pages < 1000; pages++) {
        const response = await fetch(`${this.url}/sync/changes?cursor=${encodeURIComponent(cursor)}`, {
          headers: { authorization: `Bearer ${account.token}` },
          signal: AbortSignal.timeout(15_000),
        });
        if (response.status !== 200) return null;
        const page = (await response.json()) as { entries: ListedEntry[]; cursor: string; hasMore: boolean };
        entries.push(...page.entries);
        cursor = page.cursor;
        if (!page.hasMore) return entries;
      }
    } catch {}
    return null;
  }
}
