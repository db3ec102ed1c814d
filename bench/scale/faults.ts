// The scale bench's faults under load: kill -9 of one endpoint process, PostgreSQL crashed and restarted, the S3
// server restarted. Each is read off the recorder's 250 ms timeline: which requests failed and how, and how long
// after the fault (or after the service was back) the last one failed and the first write succeeded again.

import type { Recorder } from './clients.js';
import type { Stack } from './stack.js';

const sleep = (msDelay: number) => new Promise((r) => setTimeout(r, msDelay));
const BUCKET_MS = 250;

interface Window {
  errors: Map<string, number>;
  /** End of the last 250 ms bucket holding a failure, ms since the recorder started; null when none failed. */
  lastErrorAt: number | null;
  firstWriteOkAfter(at: number): number | null;
}

function windowOf(rec: Recorder, from: number, to: number): Window {
  const errors = new Map<string, number>();
  let lastErrorAt: number | null = null;
  for (let b = Math.floor(from / BUCKET_MS); b <= Math.floor(to / BUCKET_MS); b++) {
    for (const [key, n] of Object.entries(rec.timeline.get(b) ?? {})) {
      if (key.endsWith(' ok')) continue;
      errors.set(key, (errors.get(key) ?? 0) + n);
      lastErrorAt = (b + 1) * BUCKET_MS;
    }
  }
  return {
    errors,
    lastErrorAt,
    firstWriteOkAfter(at) {
      for (let b = Math.floor(at / BUCKET_MS); b <= Math.floor(to / BUCKET_MS); b++) {
        if (rec.timeline.get(b)?.['write ok']) return b * BUCKET_MS;
      }
      return null;
    },
  };
}

const seconds = (value: number | null) => (value === null ? 'never' : `${(value / 1000).toFixed(2)} s`);
const listErrors = (errors: Map<string, number>) => [...errors].map(([k, n]) => `${k} x${n}`).join(', ') || 'none';

export async function runFaults(stack: Stack, rec: Recorder, say: (line: string) => void): Promise<void> {
  say('\n== faults under load');

  const killedAt = rec.now();
  stack.endpoints[0]!.child.kill('SIGKILL');
  await sleep(10_000);
  const kill = windowOf(rec, killedAt, rec.now());
  const after = kill.lastErrorAt === null ? null : kill.lastErrorAt - killedAt;
  say(`kill -9 ${stack.endpoints[0]!.name}: failed requests ${listErrors(kill.errors)}`);
  say(`  the last failure ended ${seconds(after)} after the kill (clients then carried on through the other)`);
  await stack.restartEndpoint(0);
  await sleep(5_000); // HAProxy's checks take it back (rise 2 x 500 ms)

  const crashedAt = rec.now();
  await stack.postgres.halt('immediate');
  await sleep(3_000);
  await stack.postgres.resume();
  const pgUp = rec.now();
  await sleep(10_000);
  const pg = windowOf(rec, crashedAt, rec.now());
  say(`PostgreSQL crashed (pg_ctl -m immediate), down ${seconds(pgUp - crashedAt)}: ${listErrors(pg.errors)}`);
  say(`  writes succeeded again ${seconds(nullMinus(pg.firstWriteOkAfter(pgUp), pgUp))} after it was back;`);
  say(`  the last failure ended ${seconds(nullMinus(pg.lastErrorAt, pgUp))} after it was back`);

  const stoppedAt = rec.now();
  await stack.s3.stop();
  await sleep(3_000);
  await stack.s3.start();
  const s3Up = rec.now();
  await sleep(10_000);
  const s3 = windowOf(rec, stoppedAt, rec.now());
  say(`S3 server restarted, down ${seconds(s3Up - stoppedAt)}: ${listErrors(s3.errors)}`);
  say(`  writes succeeded again ${seconds(nullMinus(s3.firstWriteOkAfter(s3Up), s3Up))} after it was back;`);
  say(`  the last failure ended ${seconds(nullMinus(s3.lastErrorAt, s3Up))} after it was back`);
}

function nullMinus(value: number | null, base: number): number | null {
  return value === null ? null : value - base;
}
