// One `hyperclay-sync start` of a chaos run: the installed bin as its own process, with its own data home, signed
// in through its fault proxy, optionally on a wrong clock (libfaketime); kill -9, `hyperclay-sync stop`, restart.

import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { dataPathsFor } from '../../sync-engine/config.js';
import { readFolderLock } from '../../sync-engine/folder-lock.js';
import { openSettings } from '../../sync-engine/settings.js';
import { exitWithin, type Processes, REPO, type Spawned, waitFor } from './processes.js';
import type { FaultProxy } from './proxy.js';

/** Debian's libfaketime (package `faketime`, installed by scripts/setup.sh), for this machine's architecture. */
export const FAKETIME_LIB = findFaketime();

function findFaketime(): string | null {
  if (process.platform !== 'linux' || !existsSync('/usr/lib')) return null;
  for (const dir of readdirSync('/usr/lib')) {
    const lib = join('/usr/lib', dir, 'faketime', 'libfaketime.so.1');
    if (existsSync(lib)) return lib;
  }
  return null;
}
const BIN = join(REPO, 'bin', 'hyperclay-sync.js');

export const faketimeAvailable = (): boolean => FAKETIME_LIB !== null;

export interface ClientSetup {
  index: number;
  account: { id: string; email: string; token: string };
  /** The client's own folder in the run's folder (its data home and its disk live in it). */
  dir: string;
  home: string;
  folder: string;
  proxy: FaultProxy;
  skewMs: number;
  /** libfaketime is used for the skew (else only the mtimes of the user's files are shifted). */
  faketime: boolean;
  pollSeconds: number;
  logFile: string;
}

export class ClientProcess {
  readonly s: ClientSetup;
  readonly #procs: Processes;
  #proc: Spawned | null = null;
  #expectExit = false;
  #lifecycle: Promise<unknown> = Promise.resolve();
  /** When this client was last killed with -9 (its temp files from before then are a crash's leftovers). */
  lastKillMs = 0;
  kills = 0;
  /** Exits nobody asked for, for the report. */
  readonly crashes: string[] = [];

  constructor(setup: ClientSetup, procs: Processes) {
    this.s = setup;
    this.#procs = procs;
  }

  get running(): boolean {
    return this.#proc?.running === true;
  }

  get pid(): number | null {
    return this.#proc?.running ? this.#proc.pid : null;
  }

  /** Puts a working token into the client's settings, bound to its proxy's origin (as `login` would). */
  signIn(): void {
    const now = Date.now() + this.s.skewMs;
    openSettings(this.s.home).tokens.save({
      token: this.s.account.token,
      origin: new URL(this.s.proxy.url).origin,
      expiresAt: new Date(now + 9 * 86_400_000).toISOString(),
      issuedAt: new Date(now).toISOString(),
      user: { id: this.s.account.id, email: this.s.account.email, plan: 'paid' },
    });
  }

  env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      HYPERCLAY_URL: this.s.proxy.url,
      HYPERCLAY_SYNC_HOME: this.s.home,
      SYNC_POLL_SECONDS: String(this.s.pollSeconds),
      HYPERCLAY_SYNC_DETACHED: '',
    };
    if (this.s.faketime && FAKETIME_LIB && this.s.skewMs !== 0) {
      const hours = this.s.skewMs / 3_600_000;
      env.LD_PRELOAD = FAKETIME_LIB;
      env.FAKETIME = `${hours > 0 ? '+' : ''}${hours}h`;
      env.FAKETIME_DONT_FAKE_MONOTONIC = '1';
    }
    return env;
  }

  /** When the last `start` was spawned (a client that keeps dying is not restarted in a tight loop). */
  lastStartMs = 0;

  /** `hyperclay-sync start --dir <folder>` in the foreground; returns at once (the first session runs on). */
  async start(): Promise<void> {
    if (this.running) return;
    this.lastStartMs = Date.now();
    // A killed process must be gone (reaped) before the next one looks at its lock.
    if (this.#proc) await exitWithin(this.#proc, 10_000);
    const proc = this.#procs.node([BIN, 'start', '--dir', this.s.folder], {
      cwd: this.s.dir,
      env: this.env(),
      logFile: this.s.logFile,
    });
    this.#proc = proc;
    this.#expectExit = false;
    void proc.exited.then((how) => {
      if (!this.#expectExit && this.#proc === proc) this.crashes.push(`exited by itself (${how})`);
    });
  }

  /** kill -9, at once. */
  kill(): void {
    if (!this.#proc?.running) return;
    this.#expectExit = true;
    this.lastKillMs = Date.now();
    this.kills++;
    this.#procs.kill(this.#proc);
  }

  /** The process that holds the folder's lock now (null when none). */
  lockHolder(): number | null {
    return readFolderLock(dataPathsFor(this.s.home).locksDir, this.s.folder)?.pid ?? null;
  }

  /**
   * `hyperclay-sync stop` once this client holds its folder's lock; resolves with what went wrong, or null when it
   * stopped cleanly (then its process has exited).
   */
  async stop(timeoutMs = 60_000): Promise<string | null> {
    const proc = this.#proc;
    if (!proc?.running) return null;
    this.#expectExit = true;
    const locked = await waitFor(() => this.lockHolder() === proc.pid || !proc.running, timeoutMs);
    if (!proc.running) return null;
    if (!locked) return `client ${this.s.index} never took its folder's lock`;
    const started = Date.now();
    const cli = this.#procs.node([BIN, 'stop', '--dir', this.s.folder], {
      cwd: this.s.dir,
      env: this.env(),
      logFile: this.s.logFile,
      capture: true,
    });
    const kills = this.kills;
    const code = await exitWithin(cli, timeoutMs);
    const exited = await exitWithin(proc, Math.max(1000, timeoutMs - (Date.now() - started)));
    // The schedule's own kill -9 came first: nothing to say about the stop.
    if (this.kills !== kills) return null;
    if (code !== 0) return `hyperclay-sync stop for client ${this.s.index} ended with ${code}: ${cli.output().trim()}`;
    if (exited === null) return `client ${this.s.index} still ran after hyperclay-sync stop`;
    if (exited !== 0) return `client ${this.s.index} exited with ${exited} after hyperclay-sync stop`;
    return null;
  }

  /**
   * Stop (the CLI's `stop`) in the middle of whatever the session does, then a new `start`. One at a time per
   * client: a second `stop` while the first is under way would only test the harness.
   */
  stopStart(): Promise<string | null> {
    const next = this.#lifecycle.then(async () => {
      const problem = await this.stop();
      if (this.#proc?.running) this.kill();
      await this.start();
      return problem;
    });
    this.#lifecycle = next.catch(() => null);
    return next;
  }

  /**
   * HOOK: `hyperclay-sync pause` / `resume` (SPEC.md's CLI table) do not exist yet. When they do, run `pause`
   * here, wait `ms`, run `resume`, and raise PAUSE_WEIGHT in schedule.ts so the schedule uses it.
   */
  async pause(_ms: number): Promise<string> {
    return `client ${this.s.index}: pause skipped (hyperclay-sync pause does not exist yet)`;
  }
}
