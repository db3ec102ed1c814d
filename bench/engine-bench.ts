// The sync engine's figures against a platform in its own process: save -> platform latency, remote -> disk
// latency, initial sync of 10,000 files both ways, restart, memory while watching, idle CPU.
// Run on demand: `npx tsx bench/engine-bench.ts [--only up,down,once,restart,memory,idle,save,remote]`.

import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import type { SavedToken } from '../sync-engine/auth.js';
import { type ApiClient, createApiClient } from '../sync-engine/endpoints.js';
import { createSyncEngine, type SyncEngine } from '../sync-engine/engine.js';
import { StatusModel } from '../sync-engine/status.js';

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    sites: { type: 'string', default: '1000' },
    uploads: { type: 'string', default: '9000' },
    concurrency: { type: 'string' },
  },
});
const only = values.only ? new Set(values.only.split(',')) : null;
const wants = (part: string) => only === null || only.has(part);
const SITES = Number(values.sites);
const UPLOADS = Number(values.uploads);

const root = mkdtempSync(join(tmpdir(), 'hc-engine-bench-'));
const sha = (content: Buffer | string) => createHash('sha256').update(content).digest('hex');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

async function startServer(
  dataDir: string,
): Promise<{ child: ChildProcess; url: string; token: string; accountId: string }> {
  const child = spawn(
    process.execPath,
    [
      ...(process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      '--import',
      'tsx',
      join(import.meta.dirname, 'server-process.ts'),
      '--dir',
      join(root, dataDir),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve));
  return { child, ...(JSON.parse(line) as { url: string; token: string; accountId: string }) };
}

interface BenchClient {
  folder: string;
  engine: SyncEngine;
  api: ApiClient;
  lines: string[];
  /** Called with every log line (the save benchmark waits on push lines). */
  onLine: ((line: string) => void) | null;
  stop(): Promise<void>;
}

function client(
  server: { url: string; token: string; accountId: string },
  name: string,
  pollSeconds: number,
): BenchClient {
  const folder = join(root, name);
  mkdirSync(folder, { recursive: true });
  const saved: SavedToken = {
    token: server.token,
    origin: server.url,
    expiresAt: new Date(Date.now() + 9 * 86_400_000).toISOString(),
    obtainedAtMs: Date.now(),
  };
  const result: BenchClient = {
    folder,
    lines: [],
    onLine: null,
    engine: undefined as unknown as SyncEngine,
    api: undefined as unknown as ApiClient,
    async stop() {
      await result.engine.stop();
      result.api.close();
    },
  };
  const log = (level: string, line: string) => {
    if (level === 'debug' && !process.env.BENCH_DEBUG) return;
    result.lines.push(`${level} ${line}`);
    if (process.env.BENCH_DEBUG) console.error(`[${name}] ${level} ${line}`);
    result.onLine?.(line);
  };
  result.api = createApiClient({ origin: server.url, getToken: () => saved, clientVersion: '0.1.0', log });
  result.engine = createSyncEngine({
    api: result.api,
    folder,
    accountId: server.accountId,
    status: new StatusModel(),
    stateFile: join(root, `${name}-state`, 'sync.state'),
    log,
    deviceName: `bench ${name}`,
    pollSeconds,
    ...(values.concurrency ? { concurrency: Number(values.concurrency) } : {}),
  });
  return result;
}

const transfers = (lines: string[]) => lines.filter((l) => /^info (push|pull) /.test(l)).length;

function fillFolder(folder: string): void {
  const site = Buffer.alloc(20 * 1024, 'a');
  const upload = Buffer.alloc(5 * 1024, 'b');
  for (let i = 0; i < SITES; i++) {
    const dir = join(folder, `sites${Math.floor(i / 100)}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `site-${i}.html`), Buffer.concat([Buffer.from(`<!-- ${i} -->`), site]));
  }
  for (let i = 0; i < UPLOADS; i++) {
    const dir = join(folder, `assets${Math.floor(i / 500)}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `file-${i}.txt`), Buffer.concat([Buffer.from(`${i}\n`), upload]));
  }
}

/** Starts the V8 profiler; the returned function writes the profile to `file` (BENCH_PROFILE_IDLE=file). */
async function startProfile(): Promise<(file: string) => Promise<void>> {
  const session = new Session();
  session.connect();
  const post = (method: string) =>
    new Promise<unknown>((resolve, reject) =>
      session.post(method, (error, result) => (error ? reject(error) : resolve(result))),
    );
  await post('Profiler.enable');
  await post('Profiler.start');
  return async (file) => {
    const { profile } = (await post('Profiler.stop')) as { profile: unknown };
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  };
}

const figures: string[] = [];
function report(line: string): void {
  figures.push(line);
  console.log(line);
}

async function stopServer(child: ChildProcess): Promise<void> {
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
}

// The 10,000-file figures on one platform; the latency figures on a second one with an empty account.
let server = await startServer('platform');
try {
  const files = SITES + UPLOADS;
  // Initial sync up from a full folder.
  const a = client(server, 'a', 10);
  fillFolder(a.folder);
  if (wants('up') || wants('down') || wants('restart') || wants('idle') || wants('once') || wants('memory')) {
    const baseline = process.memoryUsage();
    let started = performance.now();
    await a.engine.start();
    await a.engine.idle();
    report(`initial sync up, ${files} files: ${seconds(performance.now() - started)} (${transfers(a.lines)} pushes)`);
    const memory = process.memoryUsage();
    report(
      `resident memory while watching ${files} files: ${mb(memory.rss)} (JS heap ${mb(memory.heapUsed)}; ` +
        `before starting the engine: ${mb(baseline.rss)} with the bench's own modules)`,
    );

    if (wants('memory')) {
      // The same engine alone in a fresh process, restarted on the synced folder and watching it: once run through
      // tsx (as `npm run sync` runs it) and once bundled by esbuild (as the desktop app ships it).
      const bundle = join(root, 'engine-watch.mjs');
      await build({
        entryPoints: [join(import.meta.dirname, 'engine-watch.ts')],
        bundle: true,
        platform: 'node',
        format: 'esm',
        outfile: bundle,
        banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
        logLevel: 'error',
      });
      const runs: Array<[string, string[]]> = [
        ['through tsx', ['--import', 'tsx', join(import.meta.dirname, 'engine-watch.ts')]],
        ['bundled', [bundle]],
      ];
      for (const [how, entry] of runs) {
        const state = join(root, `watch-state-${how.replace(/\W/g, '')}`, 'sync.state');
        const child = spawn(
          process.execPath,
          ['--expose-gc', ...entry, JSON.stringify({ ...server, folder: a.folder, stateFile: state })],
          { stdio: ['ignore', 'pipe', 'inherit'] },
        );
        const line = await new Promise<string>((resolve) =>
          createInterface({ input: child.stdout! }).once('line', resolve),
        );
        await new Promise((resolve) => child.once('exit', resolve));
        const figures = JSON.parse(line) as { rss: number; heapUsed: number; baseline: number };
        report(
          `resident memory of an engine process (${how}) watching ${files} files: ${mb(figures.rss)} ` +
            `(JS heap ${mb(figures.heapUsed)}; the process before the engine started: ${mb(figures.baseline)})`,
        );
      }
    }

    if (wants('idle')) {
      const profiling = process.env.BENCH_PROFILE_IDLE ? await startProfile() : null;
      const cpu = process.cpuUsage();
      const wall = performance.now();
      await sleep(20_000);
      const used = process.cpuUsage(cpu);
      if (profiling) await profiling(process.env.BENCH_PROFILE_IDLE ?? '');
      const share = ((used.user + used.system) / 1000 / (performance.now() - wall)) * 100;
      report(`idle CPU over 20 s (poll every 10 s, ${files} files watched): ${share.toFixed(2)}% of one core`);
    }

    if (wants('restart')) {
      await a.stop();
      const again = client(server, 'a', 10);
      started = performance.now();
      await again.engine.start();
      await again.engine.idle();
      report(
        `restart with ${files} unchanged files: ${seconds(performance.now() - started)} (${transfers(again.lines)} transfers, ` +
          `${existsSync(join(a.folder, 'sites-versions')) ? 'backups made' : 'no backup'})`,
      );
      a.engine = again.engine;
      a.api = again.api;
    }

    if (wants('down')) {
      const b = client(server, 'b', 10);
      started = performance.now();
      await b.engine.start();
      await b.engine.idle();
      report(
        `initial sync down, ${files} files: ${seconds(performance.now() - started)} (${transfers(b.lines)} pulls)`,
      );
      await b.stop();
    }
    if (wants('once')) {
      const o = client(server, 'once', 10);
      started = performance.now();
      await o.engine.syncOnce();
      report(
        `one-shot sync down (the CLI's sync, no watcher), ${files} files: ${seconds(performance.now() - started)} ` +
          `(${transfers(o.lines)} pulls)`,
      );
      o.api.close();
    }
  }
  await a.stop().catch(() => {});
  await stopServer(server.child);
  server = await startServer('platform-latency');

  if (wants('save')) {
    const c = client(server, 'save', 10);
    await c.engine.start();
    const file = join(c.folder, 'bench.html');
    const base = Buffer.alloc(100 * 1024, 'x');
    const samples: number[] = [];
    for (let i = 0; i < 100; i++) {
      const content = Buffer.concat([Buffer.from(`<!-- save ${i} -->`), base]);
      const acked = new Promise<void>((resolve) => {
        c.onLine = (line) => {
          if (line.startsWith('push bench.html ')) resolve();
        };
      });
      const started = performance.now();
      writeFileSync(file, content);
      await acked;
      samples.push(performance.now() - started);
      c.onLine = null;
    }
    // The platform holds the last save (the acknowledgement is the platform's answer to the PUT).
    const lastSha = sha(readFileSync(file));
    const response = await fetch(`${server.url}/sync/sites/bench`, {
      headers: { authorization: `Bearer ${server.token}` },
    });
    const platformSha = sha(Buffer.from(await response.arrayBuffer()));
    report(
      `save -> platform, 100 KB site, 100 saves: p50 ${percentile(samples, 50).toFixed(1)} ms, ` +
        `p99 ${percentile(samples, 99).toFixed(1)} ms, max ${Math.max(...samples).toFixed(1)} ms ` +
        `(platform has the last save: ${platformSha === lastSha})`,
    );
    await c.stop();
  }

  if (wants('remote')) {
    const pollSeconds = 2;
    const d = client(server, 'remote', pollSeconds);
    await d.engine.start();
    const samples: number[] = [];
    let version = 0;
    for (let i = 0; i < 10; i++) {
      const content = `<p>remote ${i}</p>`;
      const started = performance.now();
      const response = await fetch(`${server.url}/sync/sites/remote-bench`, {
        method: 'PUT',
        headers: {
          authorization: `Bearer ${server.token}`,
          'x-base-version': String(version),
          'x-modified-at': new Date().toISOString(),
          'content-sha256': sha(content),
        },
        body: content,
      });
      version = ((await response.json()) as { version: number }).version;
      const target = join(d.folder, 'remote-bench.html');
      while (!existsSync(target) || readFileSync(target, 'utf8') !== content) await sleep(5);
      samples.push(performance.now() - started);
      await sleep(Math.random() * 500);
    }
    report(
      `remote -> disk, polling every ${pollSeconds} s, 10 changes: p50 ${percentile(samples, 50).toFixed(0)} ms, ` +
        `max ${Math.max(...samples).toFixed(0)} ms (bounded by the poll interval)`,
    );
    await d.stop();
  }
} finally {
  await stopServer(server.child);
  rmSync(root, { recursive: true, force: true });
}
console.log('\nsummary (npx tsx bench/engine-bench.ts):');
for (const line of figures) console.log(`  ${line}`);
