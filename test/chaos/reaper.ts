// The chaos run's last resort, a process of its own: told every PID, mount and folder the run makes, it ends those
// processes, unmounts those disks and removes that folder if the run dies before it cleaned up itself (kill -9, a
// wrapper's SIGKILL after Ctrl-C, a test runner's timeout). A run that ends normally says `done` first.

import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createInterface } from 'node:readline';

interface Note {
  pid?: number;
  mount?: string;
  dir?: string;
  keep?: boolean;
  done?: boolean;
}

const pids = new Set<number>();
const mounts: string[] = [];
let dir: string | null = null;
let keep = false;
let done = false;

// Ctrl-C reaches the whole terminal's process group: this process stays to do its job.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => {});

function apply(note: Note): void {
  if (typeof note.pid === 'number') pids.add(note.pid);
  if (typeof note.mount === 'string') mounts.push(note.mount);
  if (typeof note.dir === 'string') dir = note.dir;
  if (note.keep === true) keep = true;
  if (note.done === true) done = true;
}

function cleanUp(): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
  for (const mount of mounts.reverse()) {
    try {
      execFileSync('umount', [mount], { stdio: 'ignore' });
    } catch {
      try {
        execFileSync('umount', ['-l', mount], { stdio: 'ignore' });
      } catch {}
    }
  }
  if (dir && !keep) rmSync(dir, { recursive: true, force: true });
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  try {
    apply(JSON.parse(line) as Note);
  } catch {}
});
// The run's end of the pipe closed: it finished (done) or died (not done).
lines.on('close', () => {
  if (!done) cleanUp();
  process.exit(0);
});
