// The platform side of batches and streamed bodies, against the reference server in its own process: the
// 10,000-file tree uploaded through /sync/batch and through single PUTs, 100 of its files read through
// /sync/fetch, and 50 parallel 10 MiB uploads while the server's RSS and /sync/health are sampled every 100 ms.
// Run on demand: `npx tsx bench/batch-bench.ts [--only upload,fetch,parallel] [--profile DIR]`.
// BENCH_SERVER_ROOT=/other/checkout runs that checkout's server instead (before/after figures, parallel part only);
// BENCH_SERVER_NODE_ARGS adds node options to the server process.

import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { BatchPutItem, FetchFileItem } from '../sync-engine/endpoints.js';
import {
  type ReferenceProcess,
  referenceClient,
  startReferenceProcess,
  stopReferenceProcess,
} from './reference-process.js';

const { values } = parseArgs({ options: { only: { type: 'string' }, profile: { type: 'string' } } });
const only = values.only ? new Set(values.only.split(',')) : null;
const wants = (part: string) => only === null || only.has(part);
const serverRoot = process.env.BENCH_SERVER_ROOT ?? join(import.meta.dirname, '..');
const root = mkdtempSync(join(tmpdir(), 'hc-batch-bench-'));
const sha = (content: Buffer) => createHash('sha256').update(content).digest('hex');
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

const figures = (samples: number[]) =>
  `p50 ${percentile(samples, 50).toFixed(1)} ms  p90 ${percentile(samples, 90).toFixed(1)} ms  max ${Math.max(...samples).toFixed(1)} ms  (${samples.length} runs)`;

type Server = ReferenceProcess;

/** A data folder with `accounts` paid accounts without limits, a token each, and its reference server running. */
function startReference(accounts: number): Promise<Server> {
  const profile = values.profile ? ['--cpu-prof', `--cpu-prof-dir=${values.profile}`] : [];
  const extra = process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  return startReferenceProcess({ dataDir: join(root, 'data'), accounts, serverRoot, nodeArgs: [...profile, ...extra] });
}

const stop = stopReferenceProcess;
const client = referenceClient;

interface TreeFile {
  kind: 'site' | 'upload';
  key: string;
  localPath: string;
  abs: string;
  size: number;
  sha256: string;
}

/** The benchmark tree of bench-peers (seed `seed`), hashed (not timed: the scan is the engine's). */
function makeTree(seed: string): TreeFile[] {
  const dir = join(root, `tree-${seed}`);
  execFileSync('/work/shared/bench-peers/make-tree.sh', [dir, seed], { stdio: ['ignore', 'ignore', 'inherit'] });
  const files: TreeFile[] = [];
  for (const folder of readdirSync(dir).sort()) {
    for (const name of readdirSync(join(dir, folder)).sort()) {
      const abs = join(dir, folder, name);
      const content = readFileSync(abs);
      const site = name.endsWith('.html');
      const localPath = `${folder}/${name}`;
      const key = site ? name.slice(0, -5).toLowerCase() : localPath;
      files.push({ kind: site ? 'site' : 'upload', key, localPath, abs, size: content.length, sha256: sha(content) });
    }
  }
  return files;
}

const stamp = () => new Date().toISOString();

/** Groups of at most 1,000 files and 20 MiB, as a client batches them. */
function batchesOf(files: TreeFile[], maxItems = 1000, maxBytes = 20 * 1024 * 1024): TreeFile[][] {
  const groups: TreeFile[][] = [[]];
  let bytes = 0;
  for (const file of files) {
    const current = groups.at(-1)!;
    if (current.length >= maxItems || bytes + file.size > maxBytes) {
      groups.push([file]);
      bytes = file.size;
    } else {
      current.push(file);
      bytes += file.size;
    }
  }
  return groups;
}

function batchItem(file: TreeFile): BatchPutItem {
  return {
    kind: file.kind,
    key: file.key,
    size: file.size,
    sha256: file.sha256,
    baseVersion: 0,
    modifiedAtIso: stamp(),
    ...(file.kind === 'site' ? { localPath: file.localPath } : {}),
    read: async () => readFileSync(file.abs),
  };
}

async function inParallel<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/** The tree up through /sync/batch (account 0), then another tree through single PUTs (account 1). */
async function benchUpload(server: Server): Promise<TreeFile[]> {
  const tree = makeTree('1');
  const api = client(server, 0);
  let started = performance.now();
  let refused = 0;
  const batchSizes = batchesOf(tree, 500);
  await inParallel(batchSizes, 2, async (group) => {
    const outcomes = await api.putBatch(group.map(batchItem));
    refused += outcomes.filter((outcome) => !outcome.ok).length;
  });
  let seconds = (performance.now() - started) / 1000;
  const bytes = tree.reduce((sum, file) => sum + file.size, 0);
  console.log(
    `upload ${tree.length} files (${mb(bytes)}) via /sync/batch, 500 per batch, 2 in flight: ${seconds.toFixed(2)} s, ${(tree.length / seconds).toFixed(0)} files/s, ${refused} refused`,
  );
  if (process.env.BENCH_SINGLES !== '0') {
    const other = makeTree('2');
    const singles = client(server, 1);
    started = performance.now();
    await inParallel(other, 8, async (file) => {
      await singles.putFile(file.kind, file.key, { ...batchItem(file), content: readFileSync(file.abs) });
    });
    seconds = (performance.now() - started) / 1000;
    console.log(
      `upload ${other.length} files via single PUTs, 8 in flight:            ${seconds.toFixed(2)} s, ${(other.length / seconds).toFixed(0)} files/s`,
    );
    singles.close();
  }
  api.close();
  return tree;
}

/** 100 files of the tree read through /sync/fetch: by the engine's client (checked, fsynced files) and raw. */
async function benchFetch(server: Server, tree: TreeFile[]): Promise<void> {
  const api = client(server, 0);
  const out = join(root, 'fetched');
  mkdirSync(out, { recursive: true });
  const runs: number[] = [];
  const raw: number[] = [];
  const agent = new Agent({ keepAlive: true });
  for (let run = 0; run < 31; run++) {
    const picked = Array.from({ length: 100 }, (_, i) => tree[(run * 977 + i * 97) % tree.length]!);
    const items: FetchFileItem[] = picked.map((file) => ({
      kind: file.kind,
      key: file.key,
      expect: { size: file.size, sha256: file.sha256 },
    }));
    let started = performance.now();
    const outcomes = await api.fetchFiles(
      items,
      picked.map((_, i) => join(out, `.${i}.tmp`)),
    );
    if (run > 0) runs.push(performance.now() - started);
    if (outcomes.some((outcome) => !outcome.ok)) throw new Error('a fetched file failed its checks');
    const body = JSON.stringify({
      items: picked.map((f) => (f.kind === 'site' ? { kind: 'site', name: f.key } : { kind: 'upload', path: f.key })),
    });
    started = performance.now();
    const reply = await call(agent, server, 'POST', '/sync/fetch', Buffer.from(body), {
      'content-type': 'application/json',
    });
    if (run > 0) raw.push(performance.now() - started);
    if (reply.status !== 200) throw new Error(`fetch answered ${reply.status}`);
  }
  const bytes = tree.slice(0, 100).reduce((sum, file) => sum + file.size, 0);
  console.log(`fetch 100 files (~${mb(bytes)}) with fetchFiles (checked, fsynced): ${figures(runs)}`);
  console.log(`fetch 100 files, the answer read raw over HTTP:              ${figures(raw)}`);
  agent.destroy();
  api.close();
}

function call(
  agent: Agent,
  server: Server,
  method: string,
  path: string,
  body: Buffer | null,
  headers: Record<string, string> = {},
): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${server.url}${path}`,
      { method, agent, headers: { authorization: `Bearer ${server.tokens[0]}`, ...headers } },
      (res) => {
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
      },
    );
    req.on('error', reject);
    req.end(body ?? undefined);
  });
}

/**
 * A probe in its own process (so the uploads' client does not slow the probe): every 100 ms the server's RSS from
 * /proc and one timed GET /sync/health on its own connection, until told to stop; prints the samples as JSON.
 */
const PROBE = `
const http = require('node:http');
const fs = require('node:fs');
const [url, pid] = process.argv.slice(1);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const rss = () => Number(/VmRSS:\\s+(\\d+) kB/.exec(fs.readFileSync('/proc/' + pid + '/status', 'utf8'))[1]) * 1024;
const probe = () => new Promise((resolve, reject) => {
  const started = performance.now();
  http.get(url + '/sync/health', { agent }, (res) => {
    res.resume();
    res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - started) : reject(new Error('health ' + res.statusCode))));
  }).on('error', reject);
});
const samples = { health: [], rss: [] };
let running = true;
process.stdin.on('data', () => { running = false; });
(async () => {
  while (running) {
    const started = performance.now();
    samples.rss.push(rss());
    samples.health.push(await probe());
    await new Promise((r) => setTimeout(r, Math.max(0, 100 - (performance.now() - started))));
  }
  process.stdout.write(JSON.stringify(samples));
  agent.destroy();
})();
`;

async function probeWhile<T>(
  server: Server,
  work: () => Promise<T>,
): Promise<{ result: T; health: number[]; rss: number[] }> {
  const probe = spawn(process.execPath, ['-e', PROBE, server.url, String(server.child.pid)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const chunks: Buffer[] = [];
  probe.stdout!.on('data', (chunk: Buffer) => chunks.push(chunk));
  const exited = new Promise((resolve) => probe.once('exit', resolve));
  await new Promise((resolve) => setTimeout(resolve, 500));
  const result = await work();
  probe.stdin!.end('stop\n');
  await exited;
  const samples = JSON.parse(Buffer.concat(chunks).toString()) as { health: number[]; rss: number[] };
  return { result, ...samples };
}

/** 50 parallel 10 MiB PUTs; meanwhile the server's RSS and a /sync/health probe every 100 ms (another process). */
async function benchParallel(server: Server): Promise<void> {
  const base = randomBytes(10 * 1024 * 1024);
  const bodies = Array.from({ length: 50 }, (_, i) => {
    const body = Buffer.from(base);
    body.writeUInt32BE(i, 0);
    return { body, sha256: sha(body) };
  });
  const uploadAgent = new Agent({ keepAlive: true, maxSockets: 50 });
  const { result, health, rss } = await probeWhile(server, async () => {
    const started = performance.now();
    const statuses = await Promise.all(
      bodies.map(({ body, sha256 }, i) =>
        call(uploadAgent, server, 'PUT', `/sync/uploads/parallel/${i}.bin`, body, {
          'x-base-version': '0',
          'x-modified-at': stamp(),
          'content-sha256': sha256,
        }),
      ),
    );
    return {
      seconds: (performance.now() - started) / 1000,
      ok: statuses.filter((reply) => reply.status === 201).length,
    };
  });
  uploadAgent.destroy();
  console.log(
    `50 parallel 10 MiB uploads: ${result.ok}/50 created in ${result.seconds.toFixed(2)} s (${(500 / result.seconds).toFixed(0)} MiB/s)`,
  );
  console.log(`  server RSS: ${mb(rss[0]!)} before, max ${mb(Math.max(...rss))} during (${rss.length} samples)`);
  console.log(
    `  /sync/health every 100 ms: p50 ${percentile(health, 50).toFixed(1)} ms  p99 ${percentile(health, 99).toFixed(1)} ms  max ${Math.max(...health).toFixed(1)} ms (${health.length} probes)`,
  );
}

async function main(): Promise<void> {
  const server = await startReference(2);
  console.log(`reference server ${server.url} (pid ${server.child.pid}) from ${serverRoot}`);
  try {
    if (wants('parallel')) await benchParallel(server);
    let tree: TreeFile[] | null = null;
    if (wants('upload') || wants('fetch')) tree = await benchUpload(server);
    if (wants('fetch') && tree) await benchFetch(server, tree);
  } finally {
    await stop(server);
    rmSync(root, { recursive: true, force: true });
  }
  if (values.profile) console.log(`server CPU profile written to ${values.profile} (open it in Chrome DevTools)`);
}

await main();
