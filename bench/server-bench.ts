// The platform's sync endpoints under load: idle polls and 100 KB site saves against one server process
// holding 10,000 entries in one account. Run on demand: `npx tsx bench/server-bench.ts`.

import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { openEmbeddedStorage } from '../server-endpoints/storage/embedded.js';

const ENTRIES = 10_000;
const dir = mkdtempSync(join(tmpdir(), 'hc-bench-'));
const sha = (content: Buffer | string) => createHash('sha256').update(content).digest('hex');

/** Seeds the account straight through the storage (not timed): the figures are about the endpoints. */
async function seed(): Promise<void> {
  const storage = openEmbeddedStorage({ dir: join(dir, 'sync'), purgeEveryMs: 0 });
  const started = performance.now();
  const limits = { maxSites: null, maxStorageBytes: null };
  const jobs: Promise<unknown>[] = [];
  for (let i = 0; i < ENTRIES; i++) {
    const site = i % 4 === 0;
    const content = Buffer.from(`<p>entry ${i}</p>`);
    const key = site ? `seed-${i}` : `seed/${Math.floor(i / 100)}/file-${i}.txt`;
    jobs.push(
      storage.writeFile({
        accountId: 'acct-bench',
        kind: site ? 'site' : 'upload',
        key,
        path: site ? `seed/${key}.html` : key,
        content,
        sha256: sha(content),
        baseVersion: 0,
        modifiedAtMs: Date.now(),
        limits,
      }),
    );
    if (jobs.length >= 32) await Promise.all(jobs.splice(0));
  }
  await Promise.all(jobs);
  await storage.close();
  console.log(`seeded ${ENTRIES} entries in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

async function startServer(): Promise<{ child: ChildProcess; url: string; token: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'server-process.ts'), '--dir', dir],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve));
  const { url, token } = JSON.parse(line) as { url: string; token: string };
  return { child, url, token };
}

interface Reply {
  status: number;
  body: Buffer;
}

function call(
  agent: Agent,
  url: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: Buffer,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

interface Figures {
  requests: number;
  seconds: number;
  p50: number;
  p99: number;
}

/** Runs `total` requests with `concurrency` workers in flight; each `one` returns when its response has arrived. */
async function measure(
  total: number,
  concurrency: number,
  one: (i: number, worker: number) => Promise<void>,
): Promise<Figures> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (next < total) {
        const i = next++;
        const t = performance.now();
        await one(i, worker);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return { requests: total, seconds, p50: at(0.5), p99: at(0.99) };
}

function report(label: string, f: Figures): void {
  console.log(
    `${label.padEnd(40)} ${String(f.requests).padStart(6)} req  ${(f.requests / f.seconds).toFixed(0).padStart(6)} req/s  p50 ${f.p50.toFixed(2)} ms  p99 ${f.p99.toFixed(2)} ms`,
  );
}

async function main(): Promise<void> {
  await seed();
  const { child, url, token } = await startServer();
  const auth = { authorization: `Bearer ${token}` };
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  try {
    // The client lists once, as a session would, then polls at the head.
    let cursor = '0';
    let listed = 0;
    for (;;) {
      const page = await call(agent, url, 'GET', `/sync/changes?cursor=${encodeURIComponent(cursor)}`, auth);
      const json = JSON.parse(page.body.toString()) as { entries: unknown[]; cursor: string; hasMore: boolean };
      listed += json.entries.length;
      cursor = json.cursor;
      if (!json.hasMore) break;
    }
    console.log(`listed ${listed} entries; polling at the head`);
    const poll = `/sync/changes?session=bench&cursor=${encodeURIComponent(cursor)}`;
    const idle = async () => {
      const reply = await call(agent, url, 'GET', poll, auth);
      if (reply.status !== 200 || reply.body.toString().indexOf('"entries":[]') === -1) {
        throw new Error(`idle poll answered ${reply.status} ${reply.body.toString().slice(0, 200)}`);
      }
    };
    await measure(500, 4, idle); // warm-up
    report('idle poll, 1 in flight', await measure(3000, 1, idle));
    report('idle poll, 4 in flight', await measure(10000, 4, idle));
    report('idle poll, 8 in flight', await measure(20000, 8, idle));

    const template = Buffer.alloc(100 * 1024, 32);
    const versions = new Map<string, number>();
    const put = (site: string) => async (i: number) => {
      const body = Buffer.from(template);
      body.write(`<!-- ${site} ${i} ${Date.now()} -->`, 0);
      const headers = {
        ...auth,
        'content-type': 'text/html',
        'x-base-version': String(versions.get(site) ?? 0),
        'x-modified-at': new Date().toISOString(),
        'content-sha256': sha(body),
      };
      const reply = await call(agent, url, 'PUT', `/sync/sites/${site}`, headers, body);
      if (reply.status !== 200 && reply.status !== 201) throw new Error(`PUT answered ${reply.status}`);
      versions.set(site, (JSON.parse(reply.body.toString()) as { version: number }).version);
    };
    await measure(20, 1, put('bench-warm'));
    report('PUT 100 KB site, 1 in flight', await measure(300, 1, put('bench-one')));
    const sites = ['bench-a', 'bench-b', 'bench-c', 'bench-d'];
    report('PUT 100 KB site, 4 sites in flight', await measure(600, 4, (i, worker) => put(sites[worker]!)(i)));
  } finally {
    agent.destroy();
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
