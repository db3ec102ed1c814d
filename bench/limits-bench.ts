// The platform under abuse, against the reference server in its own process (RSS read from /proc): 50 parallel
// 10 MiB uploads (from 50 accounts, then from one account past its cap of uploads in flight) with the server's
// memory and /sync/health latency sampled throughout; 10,000 small PUTs as fast as one client sends them (8 in
// flight), with the default API limits and without; and a sign-in flood with an authenticated GET's latency.
// Run on demand: `npm run bench -- limits [--only uploads,burst,signin] [--files 10000]`.

import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { signToken } from '../server-endpoints/auth/tokens.js';
import { openReferenceStores, startReferenceServer } from '../server-endpoints/reference/server.js';

const { values } = parseArgs({
  options: {
    serve: { type: 'string' },
    accounts: { type: 'string', default: '50' },
    'no-limits': { type: 'boolean', default: false },
    only: { type: 'string' },
    files: { type: 'string', default: '10000' },
  },
});

const PASSWORD = 'bench password 1';

/** Child mode: accounts with tokens in a fresh data folder, then the reference server; one JSON line when ready. */
async function serve(dir: string): Promise<void> {
  const stores = await openReferenceStores(dir);
  const accounts: Array<{ id: string; email: string; token: string }> = [];
  for (let i = 0; i < Number(values.accounts); i++) {
    const email = `bench${i}@example.com`;
    const { id } = await stores.accounts.create({ email, password: PASSWORD, maxSites: null });
    const sid = await stores.authStore.createConnection(id, `bench ${i}`);
    accounts.push({ id, email, token: signToken(stores.tokenSecret, { sub: id, sid }, Date.now()).token });
  }
  await stores.close();
  const server = await startReferenceServer({
    port: 0,
    dataDir: dir,
    log: () => {},
    ...(values['no-limits'] ? { rateLimits: false as const } : {}),
  });
  process.stdout.write(`${JSON.stringify({ url: server.url, pid: process.pid, accounts })}\n`);
  const stop = () => void server.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

interface Server {
  child: ChildProcess;
  url: string;
  pid: number;
  accounts: Array<{ id: string; email: string; token: string }>;
}

const root = values.serve ? '' : mkdtempSync(join(tmpdir(), 'hc-limits-bench-'));

async function startServer(name: string, extra: string[] = []): Promise<Server> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', import.meta.filename, '--serve', join(root, name), ...extra],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve));
  return { child, ...(JSON.parse(line) as Omit<Server, 'child'>) };
}

async function stopServer(server: Server): Promise<void> {
  server.child.kill('SIGTERM');
  await new Promise((resolve) => server.child.once('exit', resolve));
}

/** The resident memory of a process in MB (Linux). */
function rssMb(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) / 1024;
}

const agent = new Agent({ keepAlive: true, maxSockets: 256 });
/** Sockets given a listener for errors after their answer (one each, however often keep-alive reuses them). */
const quieted = new WeakSet<object>();

function call(
  url: string,
  options: {
    method?: string;
    path: string;
    headers?: Record<string, string>;
    body?: Buffer | string;
    localAddress?: string;
  },
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; ms: number }> {
  const started = performance.now();
  let answered = false;
  return new Promise((resolve) => {
    const req = request(
      new URL(options.path, url),
      {
        method: options.method ?? 'GET',
        headers: options.headers,
        agent: options.localAddress ? false : agent,
        ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      },
      (res) => {
        answered = true;
        // An early answer (a 429 before the body is sent) is the answer, whatever happens to the socket after it.
        const answer = { status: res.statusCode ?? 0, headers: res.headers, ms: performance.now() - started };
        res.on('error', () => resolve(answer));
        res.on('end', () => resolve(answer));
        res.resume();
      },
    );
    // A socket the server closed while this side still wrote (after an early answer) is not this bench's failure.
    req.on('socket', (socket) => {
      if (!quieted.has(socket)) socket.on('error', () => {});
      quieted.add(socket);
    });
    // A reset before any answer: the caller tries again (status -1).
    req.on('error', () => (answered ? undefined : resolve({ status: -1, headers: {}, ms: 0 })));
    req.end(options.body);
  });
}

const percentile = (samples: number[], p: number): number => {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
};
const ms = (value: number) => `${value.toFixed(1)} ms`;
const sha = (content: Buffer) => createHash('sha256').update(content).digest('hex');
const sleep = (delay: number) => new Promise((resolve) => setTimeout(resolve, delay));

/** Samples the server's RSS and a health probe's latency until stopped. */
function watch(server: Server): { stop(): Promise<{ peakRss: number; health: number[] }> } {
  let running = true;
  let peakRss = rssMb(server.pid);
  const health: number[] = [];
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, rssMb(server.pid));
  }, 25);
  const probe = (async () => {
    while (running) {
      health.push((await call(server.url, { path: '/sync/health' })).ms);
      await sleep(20);
    }
  })();
  return {
    async stop() {
      running = false;
      clearInterval(sampler);
      await probe;
      return { peakRss, health };
    },
  };
}

/** One 10 MiB upload, retried after each 429's Retry-After (as the sync client does). */
async function upload(server: Server, token: string, name: string, content: Buffer): Promise<number> {
  const headers = {
    authorization: `Bearer ${token}`,
    'x-base-version': '0',
    'x-modified-at': new Date().toISOString(),
    'content-sha256': sha(content),
    'content-length': String(content.length),
  };
  let refused = 0;
  for (;;) {
    const reply = await call(server.url, { method: 'PUT', path: `/sync/uploads/${name}`, headers, body: content });
    if (reply.status === -1) continue;
    if (reply.status !== 429) {
      if (reply.status !== 201) throw new Error(`upload ${name}: ${reply.status}`);
      return refused;
    }
    refused++;
    await sleep(Number(reply.headers['retry-after'] ?? 1) * 1000);
  }
}

async function uploadFlood(): Promise<void> {
  const server = await startServer('uploads');
  try {
    const base = randomBytes(10 * 1024 * 1024);
    const contentFor = (i: number) => {
      const content = Buffer.from(base);
      content.writeUInt32BE(i, 0);
      return content;
    };
    const contents = Array.from({ length: 100 }, (_, i) => contentFor(i));
    await sleep(1000);
    const idle = rssMb(server.pid);
    for (const [what, tokenOf] of [
      ['50 accounts, one upload each', (i: number) => server.accounts[i]!.token],
      ['one account, 50 at once (cap 16 in flight)', () => server.accounts[0]!.token],
    ] as const) {
      const offset = what.startsWith('one') ? 50 : 0;
      const watching = watch(server);
      const started = performance.now();
      const refusals = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          upload(server, tokenOf(i), `flood-${offset + i}.bin`, contents[offset + i]!),
        ),
      );
      const seconds = (performance.now() - started) / 1000;
      const { peakRss, health } = await watching.stop();
      await sleep(3000);
      console.log(
        `50 parallel 10 MiB uploads (${what}): ${seconds.toFixed(1)} s, server RSS ${idle.toFixed(0)} MB idle -> ` +
          `${peakRss.toFixed(0)} MB peak -> ${rssMb(server.pid).toFixed(0)} MB 3 s after; /sync/health p50 ` +
          `${ms(percentile(health, 50))} p99 ${ms(percentile(health, 99))} max ${ms(Math.max(...health))} ` +
          `(${health.length} probes); 429s ${refusals.reduce((a, b) => a + b, 0)}`,
      );
    }
  } finally {
    await stopServer(server);
  }
}

/** 10,000 small PUTs from one token with 8 in flight, honouring Retry-After: how long with and without limits. */
async function burst(): Promise<void> {
  const files = Number(values.files);
  for (const limited of [true, false]) {
    const server = await startServer(limited ? 'burst-limited' : 'burst-open', [
      '--accounts',
      '1',
      ...(limited ? [] : ['--no-limits']),
    ]);
    try {
      const token = server.accounts[0]!.token;
      let next = 0;
      let refused = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (next < files) {
            const i = next++;
            refused += await upload(server, token, `burst/file-${i}.txt`, Buffer.from(`content ${i}\n`));
          }
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      console.log(
        `${files} small PUTs, 8 in flight, ${limited ? 'default limits' : 'no limits'}: ${seconds.toFixed(1)} s ` +
          `(${(files / seconds).toFixed(0)} a second), 429s ${refused}`,
      );
    } finally {
      await stopServer(server);
    }
  }
}

/** Wrong passwords from 100 loopback addresses, 200 at once, while one device GETs /sync/me. */
async function signinFlood(): Promise<void> {
  const server = await startServer('signin', ['--accounts', '2']);
  try {
    const [owner, target] = server.accounts;
    const me = async () =>
      (await call(server.url, { path: '/sync/me', headers: { authorization: `Bearer ${owner!.token}` } })).ms;
    const quiet: number[] = [];
    for (let i = 0; i < 100; i++) quiet.push(await me());
    let flooding = true;
    const answers = new Map<number, number>();
    const flood = Promise.all(
      Array.from({ length: 200 }, async (_, worker) => {
        while (flooding) {
          const reply = await call(server.url, {
            method: 'POST',
            path: '/login',
            headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url },
            // A new email each time (credential stuffing): every try costs a password check, the worst case for scrypt.
            body: new URLSearchParams({
              email: `u${randomBytes(6).toString('hex')}@example.com`,
              password: `guess ${worker}`,
            }).toString(),
            localAddress: `127.0.${Math.floor(worker / 2) % 100}.${10 + (worker % 2)}`,
          });
          answers.set(reply.status, (answers.get(reply.status) ?? 0) + 1);
        }
      }),
    );
    await sleep(1000);
    const loaded: number[] = [];
    const started = performance.now();
    while (performance.now() - started < 10_000) loaded.push(await me());
    flooding = false;
    await flood;
    const right = await call(server.url, {
      method: 'POST',
      path: '/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url },
      body: new URLSearchParams({ email: target!.email, password: PASSWORD }).toString(),
      localAddress: '127.0.200.1',
    });
    console.log(
      `GET /sync/me quiet: p50 ${ms(percentile(quiet, 50))} p99 ${ms(percentile(quiet, 99))}; during a flood of ` +
        `wrong sign-ins (200 at once from 100 addresses): p50 ${ms(percentile(loaded, 50))} p99 ` +
        `${ms(percentile(loaded, 99))} max ${ms(Math.max(...loaded))}; sign-in answers ${JSON.stringify(Object.fromEntries(answers))}; ` +
        `the owner's right password from another address right after: ${right.status}`,
    );
  } finally {
    await stopServer(server);
  }
}

if (values.serve) {
  await serve(values.serve);
} else {
  const only = values.only ? new Set(values.only.split(',')) : null;
  try {
    if (!only || only.has('uploads')) await uploadFlood();
    if (!only || only.has('burst')) await burst();
    if (!only || only.has('signin')) await signinFlood();
  } finally {
    agent.destroy();
    rmSync(root, { recursive: true, force: true });
  }
}
