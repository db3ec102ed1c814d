// The soak: the chaos run's processes without faults, polling every 100 ms under light edits (a day of 10 s polls
// compressed into minutes), sampling each engine's and the platform's RSS and open file handles; growth over 10%
// between the start and the end of the steady part fails it. It ends with the chaos run's checks.

import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { settle } from './chaos.js';
import { type Ack, finalCheck } from './check.js';
import { faketimeAvailable } from './clients.js';
import { clientSpecs, type FolderOp, Rng } from './ops.js';
import { sleep } from './processes.js';
import { contentOf, sha256 } from './user-ops.js';
import { World } from './world.js';

export interface SoakOptions {
  minutes: number;
  clients: number;
  keep: boolean;
  print: (line: string) => void;
  onWorld?: (world: World) => void;
}

interface Sample {
  atMs: number;
  /** Per process label: resident memory (kB) and open file handles. */
  figures: Map<string, { rssKb: number; fds: number }>;
}

const SAMPLE_EVERY_MS = 5000;
/** Samples whose median stands for "the start" and "the end" of the steady part. */
const WINDOW = 3;
const MAX_GROWTH = 0.1;

function readFigures(pid: number): { rssKb: number; fds: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
    return { rssKb, fds: readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return null;
  }
}

function sample(world: World): Sample {
  const figures = new Map<string, { rssKb: number; fds: number }>();
  const pids: Array<[string, number | null]> = [
    ['platform', world.platform.pid],
    ...world.clients.map((c): [string, number | null] => [`client ${c.s.index}`, c.pid]),
  ];
  for (const [label, pid] of pids) {
    const found = pid === null ? null : readFigures(pid);
    if (found) figures.set(label, found);
  }
  return { atMs: Date.now(), figures };
}

/** The polls the platform answered (its access log has one line per request), per client. */
function pollsServed(world: World): string {
  const log = readFileSync(join(world.logs, 'platform.log'), 'utf8');
  const polls = (log.match(/ GET \/sync\/changes /g) ?? []).length / world.clients.length;
  return `${Math.round(polls)} polls per client answered (${((polls * 10) / 3600).toFixed(1)} h of 10 s polls)`;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

/** The figures table; returns the rows that grew more than 10%. */
function report(steady: Sample[], print: (line: string) => void): string[] {
  const failures: string[] = [];
  const first = steady.slice(0, WINDOW);
  const last = steady.slice(-WINDOW);
  const labels = [...(first[0]?.figures.keys() ?? [])];
  const pct = (a: number, b: number) => `${b >= a ? '+' : ''}${(((b - a) / a) * 100).toFixed(1)}%`;
  print('process     RSS start   RSS end   growth   fds start  fds end  growth');
  for (const label of labels) {
    const of = (window: Sample[], field: 'rssKb' | 'fds') =>
      median(window.map((s) => s.figures.get(label)?.[field] ?? Number.NaN).filter(Number.isFinite));
    const [r0, r1, f0, f1] = [of(first, 'rssKb'), of(last, 'rssKb'), of(first, 'fds'), of(last, 'fds')];
    const mb = (kb: number) => `${(kb / 1024).toFixed(1)} MB`.padStart(9);
    print(
      `${label.padEnd(10)} ${mb(r0)}  ${mb(r1)}  ${pct(r0, r1).padStart(7)}  ${String(f0).padStart(9)}  ${String(f1).padStart(7)}  ${pct(f0, f1).padStart(6)}`,
    );
    if (!(r1 <= r0 * (1 + MAX_GROWTH))) failures.push(`${label}: RSS ${pct(r0, r1)}`);
    if (!(f1 <= f0 * (1 + MAX_GROWTH))) failures.push(`${label}: open files ${pct(f0, f1)}`);
  }
  return failures;
}

/** Light edits, a few per second: each client edits and re-saves a fixed set of its own files; sites also on the platform. */
class LightEdits {
  readonly #world: World;
  readonly #rng = new Rng(20_261_128);
  readonly #files: string[][];
  readonly acks: Ack[] = [];
  #n = 0;
  ops = 0;

  constructor(world: World) {
    this.#world = world;
    this.#files = world.clients.map((c) =>
      Array.from({ length: 20 }, (_, i) =>
        i % 2 === 0 ? `soak-c${c.s.index}-s${i}.html` : `docs/c${c.s.index}-u${i}.txt`,
      ),
    );
  }

  #content(html: boolean) {
    return { size: this.#rng.int(200, 4000), tag: `soak-${this.#n++}`, html };
  }

  /** Every client's files, once (part of the warm-up). */
  async createAll(): Promise<void> {
    for (const [c, files] of this.#files.entries()) {
      for (const path of files) {
        await this.#world.users[c]!.run({ t: 'create', c, path, content: this.#content(path.endsWith('.html')) });
      }
    }
  }

  /** Between two edits: a few per second. */
  pause(): number {
    return this.#rng.int(250, 400);
  }

  async one(): Promise<void> {
    this.ops++;
    const c = this.#rng.int(0, this.#files.length - 1);
    const path = this.#rng.pick(this.#files[c]!);
    const html = path.endsWith('.html');
    const roll = this.#rng.next();
    if (roll < 0.1 && html) {
      const account = this.#world.o.clients[c]!.account;
      const body = contentOf(this.#content(true));
      const name = path.slice(0, -'.html'.length);
      const answer = await this.#world.platform.save(this.#world.accounts[account]!, name, body);
      if (answer.status === 200) this.acks.push({ account, name, sha256: sha256(body), version: answer.version });
      return;
    }
    const op: FolderOp =
      roll < 0.55
        ? { t: 'edit', c, path, at: this.#rng.next(), content: this.#content(false) }
        : { t: 'editorSave', c, path, content: this.#content(html) };
    await this.#world.users[c]!.run(op);
  }
}

export async function runSoak(options: SoakOptions): Promise<{ ok: boolean }> {
  const { print } = options;
  const specs = clientSpecs(options.clients);
  const root = mkdtempSync(join(tmpdir(), 'hc-soak-'));
  const world = await World.create({
    root,
    seed: 1,
    clients: specs,
    diskClient: -1,
    bytesPerAccount: [],
    mountDisks: false,
    faketime: faketimeAvailable(),
    pollSeconds: 0.1,
  });
  options.onWorld?.(world);
  let ok = false;
  try {
    ok = await soak(world, options);
  } finally {
    await world.teardown(options.keep || !ok);
    if (options.keep || !ok) print(`soak: the run's folder is kept at ${root}`);
  }
  print(`soak: ${ok ? 'passed' : 'FAILED'}`);
  return { ok };
}

async function soak(world: World, options: SoakOptions): Promise<boolean> {
  const { print } = options;
  const totalMs = options.minutes * 60_000;
  const warmupMs = Math.min(60_000, Math.max(20_000, totalMs / 4));
  const polls = Math.round(totalMs / 100);
  print(
    `soak: ${options.minutes} min of 100 ms polls = ${polls} polls per client (${((polls * 10) / 3600).toFixed(1)} h of 10 s polls); warm-up ${warmupMs / 1000} s`,
  );
  const started = Date.now();
  const edits = new LightEdits(world);
  await edits.createAll();
  const steady: Sample[] = [];
  let nextSample = started + warmupMs;
  while (Date.now() - started < totalMs) {
    await edits.one();
    if (Date.now() >= nextSample) {
      steady.push(sample(world));
      nextSample += SAMPLE_EVERY_MS;
    }
    await sleep(edits.pause());
  }
  steady.push(sample(world));
  print(`soak: ${edits.ops} edits, ${steady.length} samples over the steady part, ${pollsServed(world)}`);
  const failures = steady.length >= 2 * WINDOW ? report(steady, print) : ['too few samples: soak longer'];
  const crashes = world.crashes();
  const settled = await settle(world, 60_000, () => {});
  const stopProblems = await world.stopClients();
  await world.platform.stop();
  const check = await finalCheck(world, edits.acks);
  const problems = [
    ...failures.map((f) => `grew more than 10%: ${f}`),
    ...crashes,
    ...stopProblems,
    ...(settled.seconds === null ? ['did not converge'] : []),
    ...check.lost.map((l) => `lost: ${l}`),
    ...check.durability,
    ...check.differences,
    ...check.leftovers,
  ];
  for (const problem of problems) print(`  ${problem}`);
  return problems.length === 0;
}
