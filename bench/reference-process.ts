// The reference server in its own process for a benchmark: a data folder with paid accounts and a token each, the
// server started on a free port, an ApiClient per account, and a clean stop.

import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { signToken } from '../server-endpoints/auth/tokens.js';
import { openReferenceStores } from '../server-endpoints/reference/server.js';
import { type ApiClient, createApiClient } from '../sync-engine/endpoints.js';

export interface ReferenceProcess {
  child: ChildProcess;
  url: string;
  tokens: string[];
}

export interface ReferenceProcessOptions {
  dataDir: string;
  accounts: number;
  /** The checkout whose server runs; default this one. */
  serverRoot?: string;
  /** Node options for the server process (a CPU profile, ...). */
  nodeArgs?: string[];
}

/** `accounts` paid accounts without limits (a token each) in `dataDir`, and the reference server running on them. */
export async function startReferenceProcess(options: ReferenceProcessOptions): Promise<ReferenceProcess> {
  const { dataDir, accounts } = options;
  const serverRoot = options.serverRoot ?? join(import.meta.dirname, '..');
  const stores = await openReferenceStores(dataDir);
  const tokens: string[] = [];
  for (let i = 0; i < accounts; i++) {
    const email = `bench${i}@example.com`;
    const account = await stores.accounts.create({ email, password: 'bench-password-1', plan: 'paid', maxSites: null });
    const sid = await stores.authStore.createConnection(account.id, 'bench');
    tokens.push(signToken(stores.tokenSecret, { sub: account.id, sid }, Date.now()).token);
  }
  await stores.close();
  const cli = join(serverRoot, 'server-endpoints/reference/cli.ts');
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), '--import', 'tsx', cli, 'serve', '--port', '0', '--data', dataDir],
    { cwd: serverRoot, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout! });
  // The access log: one line per request, read and dropped so the server never blocks on a full pipe.
  const url = await new Promise<string>((resolve) => {
    lines.on('line', (line) => {
      const found = /platform at http:\/\/localhost:(\d+)/.exec(line);
      if (found) resolve(`http://127.0.0.1:${found[1]}`);
    });
  });
  return { child, url, tokens };
}

export async function stopReferenceProcess(server: ReferenceProcess): Promise<void> {
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGTERM');
  await exited;
}

/** The engine's client for account number `account` of the server. */
export function referenceClient(server: ReferenceProcess, account: number): ApiClient {
  const token = { token: server.tokens[account]!, origin: server.url, expiresAt: '2099-01-01T00:00:00.000Z' };
  return createApiClient({
    origin: server.url,
    getToken: () => ({ ...token, obtainedAtMs: Date.now() }),
    clientVersion: '0.1.0',
    timeoutMs: 60_000,
  });
}
