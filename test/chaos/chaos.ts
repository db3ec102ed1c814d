// One chaos run from start to verdict: the schedule, the world, the steps, then heal, settle (until converged or a
// deadline), stop everything cleanly, check the invariants, and the report with its one last line.

import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CheckReport, finalCheck, liveDifferences } from './check.js';
import { faketimeAvailable } from './clients.js';
import { canMountTmpfs } from './disks.js';
import { sleep } from './processes.js';
import { describeStep, generateSchedule, type Schedule } from './schedule.js';
import { StepRunner } from './steps.js';
import { World } from './world.js';

export interface ChaosOptions {
  ops: number;
  seed: number;
  clients: number;
  /** Keep the run's folder even when the run passes (a failed run's folder is always kept). */
  keep: boolean;
  /** How long settling may go without progress once healed (default 60 s; 4x that in any case). */
  settleMs?: number;
  /** Where the run's folder is made (default the OS temp folder). */
  baseDir?: string;
  print: (line: string) => void;
  /** Told the world once it exists (so an interrupt can tear it down). */
  onWorld?: (world: World) => void;
}

export interface ChaosResult {
  ok: boolean;
  ops: number;
  faults: number;
  lost: number;
  /** Seconds from the heal until every folder matched the platform; null when they never did. */
  convergedSeconds: number | null;
  report: CheckReport | null;
  problems: string[];
  root: string;
  kept: boolean;
  /** The one last line. */
  summary: string;
}

/** Bytes the clients have logged so far: it grows while they still transfer (progress, on a slow machine). */
function loggedBytes(world: World): number {
  let total = 0;
  for (const client of world.clients) {
    try {
      total += statSync(join(client.s.home, 'logs', 'sync.log')).size;
    } catch {}
  }
  return total;
}

/**
 * Waits until every folder matches its account's listing for 1.5 s. Bounded: it gives up after `stallMs` without
 * progress (the differences unchanged and no client logging), and after 4 x `stallMs` in any case.
 */
export async function settle(world: World, stallMs: number, note: (line: string) => void) {
  const started = Date.now();
  let stableSince: number | null = null;
  let last: string[] = [];
  let progressAt = started;
  let progress = '';
  while (Date.now() - progressAt < stallMs && Date.now() - started < 4 * stallMs && !world.ending) {
    await world.ensureRunning();
    try {
      last = await liveDifferences(world);
    } catch (error) {
      last = [`could not compare: ${String(error)}`];
    }
    if (last.length === 0) {
      stableSince ??= Date.now();
      if (Date.now() - stableSince >= 1500) return { seconds: (stableSince - started) / 1000, differences: [] };
    } else {
      stableSince = null;
    }
    const now = `${last.join('\n')}\n${loggedBytes(world)}`;
    if (now !== progress) progressAt = Date.now();
    progress = now;
    await sleep(400);
  }
  const waited = ((Date.now() - started) / 1000).toFixed(0);
  note(`settle: not converged after ${waited} s: ${last.slice(0, 20).join('; ')}`);
  return { seconds: null, waitedSeconds: Number(waited), differences: last };
}

/** The run was interrupted and has cleaned up. */
export class InterruptedError extends Error {
  constructor() {
    super('interrupted');
  }
}

/** Where the time of a run went: `start 9.1 s, schedule 52.0 s, ...`. */
class Laps {
  #last = Date.now();
  readonly #laps: string[] = [];

  lap(name: string): void {
    const now = Date.now();
    this.#laps.push(`${name} ${((now - this.#last) / 1000).toFixed(1)} s`);
    this.#last = now;
  }

  line(): string {
    return this.#laps.join(', ');
  }
}

export function rerunCommand(options: Pick<ChaosOptions, 'ops' | 'seed' | 'clients'>): string {
  const clients = options.clients === 3 ? '' : ` --clients ${options.clients}`;
  return `npm run chaos -- --ops ${options.ops} --seed ${options.seed}${clients} --keep`;
}

function environmentNotes(print: (line: string) => void): { mountDisks: boolean; faketime: boolean } {
  const mountDisks = canMountTmpfs();
  if (!mountDisks) print('chaos: not running as root: the full-disk faults (tmpfs) are skipped');
  const faketime = faketimeAvailable();
  if (!faketime) print('chaos: libfaketime not found: client clocks are not skewed (only their files mtimes are)');
  return { mountDisks, faketime };
}

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const { print } = options;
  const env = environmentNotes(print);
  const schedule = generateSchedule({
    seed: options.seed,
    ops: options.ops,
    clients: options.clients,
    diskFaults: env.mountDisks,
  });
  const root = mkdtempSync(join(options.baseDir ?? tmpdir(), 'hc-chaos-'));
  const laps = new Laps();
  const world = await World.create({
    root,
    seed: options.seed,
    clients: schedule.clients,
    diskClient: schedule.diskClient,
    bytesPerAccount: schedule.bytesPerAccount,
    mountDisks: env.mountDisks,
    faketime: env.faketime,
    pollSeconds: 0.5,
  });
  options.onWorld?.(world);
  laps.lap('start');
  writeFileSync(join(world.logs, 'schedule.txt'), `${schedule.steps.map(describeStep).join('\n')}\n`);
  const runner = new StepRunner(world);
  let result: ChaosResult | null = null;
  let failure: unknown = null;
  try {
    result = await runAndCheck(world, runner, schedule, options, laps);
  } catch (error) {
    failure = error;
  }
  if (world.ending && result === null) {
    // Interrupted (Ctrl-C): the signal's teardown is under way; wait for it, say nothing more.
    await world.teardown(options.keep).catch(() => {});
    throw new InterruptedError();
  }
  const keep = options.keep || result?.ok !== true;
  try {
    await world.teardown(keep);
  } catch (error) {
    print(`chaos: teardown: ${String(error)}`);
  }
  laps.lap('teardown');
  print(`chaos: took ${laps.line()}`);
  if (keep) print(`chaos: the run's folder is kept at ${root}`);
  if (failure !== null || result === null) {
    print(`chaos: the run itself failed with seed ${options.seed}; run it again with: ${rerunCommand(options)}`);
    throw failure;
  }
  printReport(result, options);
  return result;
}

async function runAndCheck(
  world: World,
  runner: StepRunner,
  schedule: Schedule,
  options: ChaosOptions,
  laps: Laps,
): Promise<ChaosResult> {
  const { print } = options;
  print(
    `chaos: seed ${options.seed}, ${schedule.userOps} ops and ${schedule.faults} faults on ${options.clients} clients`,
  );
  await runner.runAll(schedule);
  laps.lap('schedule');
  print(`chaos: faults: ${faultSummary(world, runner)}`);
  const problems = [...(await world.heal())];
  const settled = await settle(world, options.settleMs ?? 60_000, (line) => runner.note(line));
  laps.lap('heal and settle');
  problems.push(...(await world.stopClients()).map((p) => `final stop: ${p}`));
  if (!(await world.platform.stop())) problems.push('the platform did not stop on SIGTERM');
  problems.push(...world.crashes());
  laps.lap('stop');
  const report = await finalCheck(world, runner.acks);
  laps.lap('check');
  const lost = report.lost.length;
  const converged = settled.seconds !== null && report.differences.length === 0;
  const ok =
    converged && lost === 0 && report.durability.length === 0 && report.leftovers.length === 0 && !problems.length;
  const head = `chaos: ${schedule.userOps} ops, ${runner.faults} faults, ${lost} lost`;
  const summary = converged
    ? `${head}, converged in ${settled.seconds!.toFixed(1)} s`
    : settled.seconds === null
      ? `${head}, not converged after ${'waitedSeconds' in settled ? settled.waitedSeconds : '?'} s`
      : `${head}, not converged (the folders matched the platform after ${settled.seconds.toFixed(1)} s, not at the final check)`;
  const result: ChaosResult = {
    ok,
    ops: schedule.userOps,
    faults: runner.faults,
    lost,
    convergedSeconds: converged ? settled.seconds : null,
    report,
    problems: [...problems, ...runner.problems.map((p) => `during the run: ${p}`)],
    root: world.o.root,
    kept: options.keep || !ok,
    summary,
  };
  return result;
}

/** `killClient 9, ... (proxies: 12 resets, 4 truncated, 3 stalled, 6 refusing)`. */
function faultSummary(world: World, runner: StepRunner): string {
  const kinds = [...runner.faultKinds].map(([kind, n]) => `${kind} ${n}`).join(', ');
  const sum = (name: string) => world.proxies.reduce((total, p) => total + (p.counts[name] ?? 0), 0);
  const proxies = `${sum('reset')} resets, ${sum('truncate')} truncated, ${sum('stall')} stalled, ${sum('refused')} refusing`;
  return `${kinds} (on connections: ${proxies})`;
}

/** Remembered local deletes and holds as counts per client; other notes (crash leftovers) line by line. */
function condensedNotes(notes: string[]): string[] {
  const counts = new Map<string, number>();
  const others: string[] = [];
  for (const note of notes) {
    const match = /^(client \d+): \S+ (deleted locally \(remembered\)|held by the delete brake)$/.exec(note);
    if (!match) others.push(note);
    else counts.set(`${match[1]}: ${match[2]}`, (counts.get(`${match[1]}: ${match[2]}`) ?? 0) + 1);
  }
  return [...[...counts].map(([what, n]) => `${what}: ${n}`), ...others];
}

function printReport(result: ChaosResult, options: ChaosOptions): void {
  const { print } = options;
  const section = (title: string, lines: string[], max = 40) => {
    if (lines.length === 0) return;
    print(`${title} (${lines.length}):`);
    for (const line of lines.slice(0, max)) print(`  ${line}`);
    if (lines.length > max) print(`  ... and ${lines.length - max} more`);
  };
  const r = result.report;
  section('noted', condensedNotes(r?.notes ?? []));
  section('problems', result.problems);
  if (r) {
    section('LOST', r.lost);
    section('acknowledged but not held by the platform', r.durability);
    section('differences from the platform', r.differences);
    section('left behind', r.leftovers);
  }
  if (!result.ok) {
    print(`chaos: FAILED with seed ${options.seed}; run it again with: ${rerunCommand(options)}`);
  }
  print(result.summary);
}
