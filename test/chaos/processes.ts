// Every child process a chaos run starts: spawned through here, written down by PID, ended by PID at the end (also
// when the run fails or is interrupted), and told to the run's reaper in case the run itself dies first.

import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, createWriteStream, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));

export interface Spawned {
  child: ChildProcess;
  pid: number;
  /** Resolves with the exit code (or the signal's name) once the process has ended. */
  exited: Promise<number | string>;
  readonly running: boolean;
  /** stdout and stderr so far (only when spawned with `capture`). */
  output(): string;
}

/** What the reaper (reaper.ts) is told: a process, a mounted disk, the run's folder, keep it, or all done. */
export type ReaperNote = { pid: number } | { mount: string } | { dir: string } | { keep: true } | { done: true };

/**
 * The run's reaper, a detached process of its own (so a Ctrl-C to the terminal's process group spares it): if this
 * process dies before `done()`, it ends every noted process, unmounts every noted disk and removes the folder.
 */
export class Reaper {
  readonly #child: ChildProcess;

  constructor() {
    const script = fileURLToPath(new URL('./reaper.ts', import.meta.url));
    this.#child = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: REPO,
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    this.#child.on('error', () => {});
    this.#child.stdin?.on('error', () => {});
    this.#child.unref();
    (this.#child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  }

  note(note: ReaperNote): void {
    if (this.#child.stdin?.writable) this.#child.stdin.write(`${JSON.stringify(note)}\n`);
  }

  /** The run cleaned up after itself: the reaper leaves everything as it is and exits. */
  done(): void {
    this.note({ done: true });
    this.#child.stdin?.end();
  }
}

export class Processes {
  readonly #live = new Map<number, Spawned>();
  readonly reaper = new Reaper();
  #closed = false;

  /** No process starts after this (the run is ending). */
  close(): void {
    this.#closed = true;
  }

  /** Starts `node <args>` in `cwd`; output appended to `logFile`, and kept in memory too with `capture`. */
  node(args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; logFile: string; capture?: boolean }): Spawned {
    if (this.#closed) throw new Error('the run is ending: no new process');
    const fd = openSync(options.logFile, 'a');
    let child: ChildProcess;
    try {
      const out = options.capture ? 'pipe' : fd;
      child = spawn(process.execPath, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', out, out] });
    } finally {
      closeSync(fd);
    }
    if (child.pid === undefined) throw new Error(`could not start node ${args.join(' ')}`);
    this.reaper.note({ pid: child.pid });
    let text = '';
    let running = true;
    if (options.capture) {
      const log = createWriteStream(options.logFile, { flags: 'a' });
      const take = (chunk: Buffer) => {
        // Kept short in memory: only the first lines matter (the platform's URL, a command's answer).
        if (text.length < 64_000) text += chunk.toString('utf8');
        log.write(chunk);
      };
      child.stdout?.on('data', take);
      child.stderr?.on('data', take);
      child.once('close', () => log.end());
    }
    const exited = new Promise<number | string>((resolve) => {
      child.once('exit', (code, signal) => {
        running = false;
        this.#live.delete(child.pid!);
        resolve(code ?? signal ?? 'unknown');
      });
      child.once('error', () => resolve('spawn error'));
    });
    const spawned: Spawned = {
      child,
      pid: child.pid,
      exited,
      get running() {
        return running;
      },
      output: () => text,
    };
    this.#live.set(child.pid, spawned);
    return spawned;
  }

  /** SIGKILL by PID (kill -9). */
  kill(spawned: Spawned): void {
    if (!spawned.running) return;
    try {
      process.kill(spawned.pid, 'SIGKILL');
    } catch {}
  }

  /** Ends every process still running, by PID: SIGTERM, then SIGKILL for those that stay after `graceMs`. */
  async endAll(graceMs = 3000): Promise<void> {
    const live = [...this.#live.values()];
    for (const p of live) signal(p.pid, 'SIGTERM');
    await Promise.race([Promise.all(live.map((p) => p.exited)), sleep(graceMs)]);
    for (const p of live) if (p.running) signal(p.pid, 'SIGKILL');
    await Promise.race([Promise.all(live.map((p) => p.exited)), sleep(2000)]);
  }

  /** For an exit handler that cannot wait: SIGKILL to every process still running. */
  killAllNow(): void {
    for (const p of this.#live.values()) signal(p.pid, 'SIGKILL');
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {}
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Waits until `check` holds, polling every `everyMs`; false when `ms` passed first. */
export async function waitFor(check: () => boolean | Promise<boolean>, ms: number, everyMs = 50): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      if (await check()) return true;
    } catch {}
    if (Date.now() > end) return false;
    await sleep(everyMs);
  }
}

/** Resolves with the process's exit, or null when it did not end within `ms`. */
export async function exitWithin(spawned: Spawned, ms: number): Promise<number | string | null> {
  let timer: NodeJS.Timeout | undefined;
  const result = await Promise.race([
    spawned.exited,
    new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), ms);
    }),
  ]);
  clearTimeout(timer);
  return result;
}
