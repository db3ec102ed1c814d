// The progress of a one-off `sync`: what has been transferred of what was planned (files, bytes, rate) as a pure
// model, and its one line on a terminal, drawn by cli-progress with the outcome lines printed above it.

import { MultiBar, type SingleBar } from 'cli-progress';
import type { ActionOutcome } from '../sync-engine/executor.js';
import { formatBytes } from '../sync-engine/log.js';
import type { SessionProgress } from '../sync-engine/sessions.js';

/** A transfer action: the ones the progress counts (folders and removals move no bytes). */
const TRANSFERS: ReadonlySet<ActionOutcome['action']> = new Set(['push', 'pull']);

export interface ProgressFigures {
  filesDone: number;
  files: number;
  bytesDone: number;
  bytes: number;
  /** Bytes per second since the first transfer was planned; 0 before a second has passed. */
  rate: number;
}

/** Files and bytes done of what the session planned; a file that failed or was skipped is done too (it ended). */
export class TransferProgress {
  readonly #now: () => number;
  #startedMs: number | null = null;
  #files = 0;
  #bytes = 0;
  #filesDone = 0;
  #bytesDone = 0;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Takes one event of the session; true when the figures changed. */
  take(event: SessionProgress): boolean {
    if (event.type === 'planned') {
      this.#startedMs ??= this.#now();
      this.#files += event.files;
      this.#bytes += event.bytes;
      return event.files > 0;
    }
    if (!TRANSFERS.has(event.outcome.action)) return false;
    this.#filesDone++;
    this.#bytesDone += event.outcome.bytes;
    return true;
  }

  get figures(): ProgressFigures {
    const seconds = this.#startedMs === null ? 0 : (this.#now() - this.#startedMs) / 1000;
    return {
      filesDone: this.#filesDone,
      // A file re-planned after a conflict or a save landing mid-pull can make more than was planned.
      files: Math.max(this.#files, this.#filesDone),
      bytesDone: this.#bytesDone,
      bytes: Math.max(this.#bytes, this.#bytesDone),
      rate: seconds >= 1 ? this.#bytesDone / seconds : 0,
    };
  }
}

/** `12/40 files · 3.1 MiB of 8.0 MiB · 1.2 MiB/s` */
export function describeProgress(f: ProgressFigures): string {
  const rate = f.rate > 0 ? ` · ${formatBytes(f.rate)}/s` : '';
  return `${f.filesDone}/${f.files} files · ${formatBytes(f.bytesDone)} of ${formatBytes(f.bytes)}${rate}`;
}

/** Where a one-off sync reports: its outcome lines, and the progress figures as they change. */
export interface ProgressView {
  line(text: string): void;
  update(figures: ProgressFigures): void;
  stop(): void;
}

/**
 * The progress line on a terminal: a bar over the bytes (over the files while no size is known) with the figures
 * after it, redrawn at most every 100 ms; lines printed meanwhile go above it.
 */
export function terminalProgress(stream: NodeJS.WriteStream): ProgressView {
  const bars = new MultiBar({
    stream,
    format: '{bar} {figures}',
    barsize: 24,
    hideCursor: true,
    clearOnComplete: true,
    fps: 10,
    autopadding: true,
  });
  let bar: SingleBar | null = null;
  return {
    line(text) {
      bars.log(`${text}\n`);
    },
    update(figures) {
      const byBytes = figures.bytes > 0;
      const total = Math.max(1, byBytes ? figures.bytes : figures.files);
      const value = byBytes ? figures.bytesDone : figures.filesDone;
      const payload = { figures: describeProgress(figures) };
      if (bar === null) bar = bars.create(total, value, payload);
      else {
        bar.setTotal(total);
        bar.update(value, payload);
      }
    },
    stop() {
      bars.stop();
    },
  };
}

/** No terminal: the outcome lines only (pipes, logs and tests get no redrawn line). */
export function plainProgress(out: (line: string) => void): ProgressView {
  return { line: out, update: () => {}, stop: () => {} };
}
