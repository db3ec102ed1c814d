// Figures of the scale bench: latency percentiles, and each process's CPU and memory read from /proc.

import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function summary(samples: number[]): { n: number; p50: number; p99: number; max: number } {
  const sorted = Float64Array.from(samples).sort();
  const list = Array.from(sorted);
  return { n: list.length, p50: percentile(list, 50), p99: percentile(list, 99), max: list.at(-1) ?? Number.NaN };
}

export const ms = (value: number): string => (Number.isNaN(value) ? '-' : `${value.toFixed(1)} ms`);

const TICKS_PER_SECOND = 100;

/** utime + stime (+ waited-for children's, for a process whose children come and go) in seconds. */
function cpuSeconds(pid: number, withExitedChildren: boolean): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is the state (field 3): utime is field 14, so index 11.
    const own = Number(fields[11]) + Number(fields[12]);
    const children = withExitedChildren ? Number(fields[13]) + Number(fields[14]) : 0;
    return (own + children) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

function childrenOf(pid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) found.push(Number(entry));
    } catch {}
  }
  return found;
}

/** Resident memory in bytes: VmRSS, or the proportional share (Pss) when summing processes that share memory. */
function memoryBytes(pid: number, proportional: boolean): number {
  try {
    if (proportional) {
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      return Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0) * 1024;
    }
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

export interface Watched {
  name: string;
  pid: number;
  /** PostgreSQL: the postmaster and its backends together. */
  withChildren: boolean;
}

interface Usage {
  cpu: number;
  peakMemory: number;
}

/** CPU between start() and stop(), peak memory sampled every second, per process group. */
export class ProcessMeter {
  private readonly started = new Map<string, number>();
  private readonly peaks = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private startedAt = 0;
  private readonly loads: number[] = [];

  constructor(private readonly watched: () => Watched[]) {}

  private cpu(w: Watched): number {
    if (!w.withChildren) return cpuSeconds(w.pid, false);
    return cpuSeconds(w.pid, true) + childrenOf(w.pid).reduce((sum, pid) => sum + cpuSeconds(pid, false), 0);
  }

  private memory(w: Watched): number {
    if (!w.withChildren) return memoryBytes(w.pid, false);
    return memoryBytes(w.pid, true) + childrenOf(w.pid).reduce((sum, pid) => sum + memoryBytes(pid, true), 0);
  }

  start(): void {
    this.startedAt = performance.now();
    for (const w of this.watched()) this.started.set(w.name, this.cpu(w));
    this.timer = setInterval(() => {
      this.loads.push(loadavg()[0]!);
      for (const w of this.watched()) this.peaks.set(w.name, Math.max(this.peaks.get(w.name) ?? 0, this.memory(w)));
    }, 1000);
  }

  stop(): { seconds: number; load: number; usage: Map<string, Usage> } {
    if (this.timer) clearInterval(this.timer);
    const seconds = (performance.now() - this.startedAt) / 1000;
    const usage = new Map<string, Usage>();
    for (const w of this.watched()) {
      usage.set(w.name, {
        cpu: (this.cpu(w) - (this.started.get(w.name) ?? 0)) / seconds,
        peakMemory: this.peaks.get(w.name) ?? this.memory(w),
      });
    }
    const load = this.loads.length ? this.loads.reduce((a, b) => a + b, 0) / this.loads.length : loadavg()[0]!;
    return { seconds, load, usage };
  }
}
