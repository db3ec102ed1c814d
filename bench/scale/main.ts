// `npm run bench -- scale [--accounts 10000] [--minutes 5] [--faults]`: the platform's endpoints at scale behind
// HAProxy (two processes over PostgreSQL + S3 on loopback), one simulated device per account. Prints polls/s,
// writes/s, latencies, errors and each process's CPU and memory; with --faults, kills an endpoint process and
// restarts PostgreSQL and the S3 server under that load, then checks that nothing acknowledged was lost.

import { createHash } from 'node:crypto';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Device, eachLimited, Http, Recorder, type Reply } from './clients.js';
import { runFaults } from './faults.js';
import { startStack } from './stack.js';
import { ms, ProcessMeter, summary } from './stats.js';

const { values } = parseArgs({
  options: {
    accounts: { type: 'string', default: '10000' },
    minutes: { type: 'string', default: '5' },
    writes: { type: 'string', default: '10' },
    lists: { type: 'string', default: '5' },
    'writer-share': { type: 'string', default: '0.1' },
    'plain-share': { type: 'string', default: '0.1' },
    faults: { type: 'boolean', default: false },
  },
  allowPositionals: false,
});

const accountCount = Number(values.accounts);
const minutes = Number(values.minutes);
const writesPerSecond = Number(values.writes);
const listsPerSecond = Number(values.lists);
const writerShare = Number(values['writer-share']);
const plainShare = Number(values['plain-share']);
for (const [name, value] of Object.entries({ accountCount, minutes, writesPerSecond, listsPerSecond })) {
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
}

const sleep = (msDelay: number) => new Promise((r) => setTimeout(r, msDelay));
const say = (line: string) => process.stdout.write(`${line}\n`);
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

say(`scale bench: ${accountCount} accounts, ${minutes} min, load average before: ${load()}`);
const stack = await startStack(accountCount);
const http = new Http(stack.url);
const rec = new Recorder();

// Per hundred accounts: the first plainShare poll every 10 s, the middle writerShare also save files.
const devices = stack.accounts.map((account, i) => {
  const slot = i % 100;
  return new Device(account, i, http, rec, slot >= plainShare * 100);
});
const writers = devices.filter((_, i) => i % 100 >= 50 && i % 100 < 50 + writerShare * 100);
const listers = devices.filter((d) => !writers.includes(d));

// Everything started is stopped, whatever fails on the way (Ctrl-C too).
process.once('SIGINT', () => {
  stack.close().finally(() => process.exit(130));
});
try {
  await run();
} finally {
  await stack.close();
}
process.exit(0);

async function run(): Promise<void> {
  const rampStarted = performance.now();
  const loops: Promise<void>[] = [];
  await eachLimited(devices, 64, async (device) => {
    await device.start();
    loops.push(device.run());
  });
  say(`ramp-up: ${devices.length} sessions and listings in ${((performance.now() - rampStarted) / 1000).toFixed(1)} s`);

  // Writes and listings at fixed rates across the accounts, whatever the latency (an open loop).
  const pending = new Set<Promise<void>>();
  const writeTimer = setInterval(() => {
    const device = writers[Math.floor(Math.random() * writers.length)]!;
    if (device.writing) return;
    const job = device.write().finally(() => pending.delete(job));
    pending.add(job);
  }, 1000 / writesPerSecond);
  const listTimer = setInterval(() => {
    const device = listers[Math.floor(Math.random() * listers.length)]!;
    const job = device.listAll('list').finally(() => pending.delete(job));
    pending.add(job);
  }, 1000 / listsPerSecond);

  await sleep(15_000); // every long-poll has cycled once before measuring
  const meter = new ProcessMeter(() => stack.processes());
  meter.start();
  rec.recording = true;
  await sleep(minutes * 60_000);
  const steady = meter.stop();
  rec.recording = false;
  report(steady);

  if (values.faults) {
    rec.recording = true;
    await runFaults(stack, rec, say);
    rec.recording = false;
  }

  clearInterval(writeTimer);
  clearInterval(listTimer);
  await Promise.all(pending);
  await sleep(12_000); // the last writes reach their devices through the next long-polls
  for (const device of devices) device.stopped = true;
  await verify();
  await costs();
  http.close();
  await Promise.race([Promise.all(loops), sleep(15_000)]);
}

function report(run: ReturnType<ProcessMeter['stop']>): void {
  const { seconds } = run;
  const polls = rec.done.poll + rec.done.longpoll;
  say(`\n== steady state: ${seconds.toFixed(0)} s, load average ${run.load.toFixed(1)} (now ${load()})`);
  say(`polls/s ${(polls / seconds).toFixed(0)} (long-polls ${rec.done.longpoll}, plain polls ${rec.done.poll})`);
  say(`writes/s ${(rec.done.write / seconds).toFixed(1)}, listings/s ${(rec.done.list / seconds).toFixed(1)}`);
  const line = (name: string, samples: number[]) => {
    const s = summary(samples);
    say(`${name.padEnd(34)} n=${String(s.n).padEnd(7)} p50 ${ms(s.p50)}  p99 ${ms(s.p99)}  max ${ms(s.max)}`);
  };
  line('poll (wait=0, answered at once)', rec.latency.poll);
  line('write (2 KB PUT, acknowledged)', rec.latency.write);
  line('listing page', rec.latency.list);
  line('long-poll held (wait=10)', rec.holds);
  line('write -> long-poll delivering it', rec.wakes);
  const errors = [...rec.errors].map(([k, n]) => `${k}: ${n}`).join(', ');
  say(`errors: ${errors || 'none'}`);
  for (const [name, usage] of run.usage) {
    const mem = (usage.peakMemory / 2 ** 20).toFixed(0);
    say(`${name.padEnd(16)} CPU ${(usage.cpu * 100).toFixed(0).padStart(4)}% of a core   memory ${mem} MiB`);
  }
  rec.errors.clear();
  for (const key of Object.keys(rec.done) as (keyof typeof rec.done)[]) rec.done[key] = 0;
}

/** What the accounts cost in PostgreSQL: rows and bytes per table, and the whole database. */
async function costs(): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: stack.databaseUrl });
  await client.connect();
  try {
    await client.query('ANALYZE');
    const tables = await client.query<{ name: string; rows: string; bytes: string }>(
      `SELECT relname AS name, n_live_tup AS rows, pg_total_relation_size(relid) AS bytes
       FROM pg_stat_user_tables ORDER BY relname`,
    );
    const size = await client.query<{ bytes: string }>('SELECT pg_database_size(current_database()) AS bytes');
    say(`\n== PostgreSQL after the run: database ${(Number(size.rows[0]!.bytes) / 2 ** 20).toFixed(1)} MiB`);
    for (const t of tables.rows) {
      say(`${t.name.padEnd(22)} rows ${t.rows.padStart(8)}   ${(Number(t.bytes) / 2 ** 20).toFixed(2)} MiB`);
    }
  } finally {
    await client.end();
  }
}

/** A verification request, retried while the platform answers 5xx or not at all (it may still be recovering). */
async function answered(call: () => Promise<Reply>, notFoundIsAnswer = false): Promise<Reply> {
  for (let attempt = 0; attempt < 60; attempt++) {
    const reply = await call();
    if (reply.status === 200 || (notFoundIsAnswer && reply.status === 404)) return reply;
    if (reply.status !== 0 && reply.status < 500) throw new Error(`verification request answered ${reply.status}`);
    await sleep(1000);
  }
  throw new Error('the platform did not answer the verification requests for a minute');
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Every acknowledged write is listed with its sha256, its bytes are served, and its device's feed had it, gapless. */
async function verify(): Promise<void> {
  let acked = 0;
  let missing = 0;
  let wrongContent = 0;
  let notDelivered = 0;
  await eachLimited(writers, 16, async (device) => {
    const listed = new Map<string, string>();
    let cursor = '0';
    for (;;) {
      const path = `/sync/changes?cursor=${encodeURIComponent(cursor)}`;
      const page = await answered(() => http.send('GET', path, device.account.token));
      for (const e of page.json.entries as { path: string; sha256: string }[]) listed.set(e.path, e.sha256);
      cursor = String(page.json.cursor);
      if (!page.json.hasMore) break;
    }
    for (const write of device.acked.values()) {
      acked++;
      if (listed.get(write.path) !== write.sha256) {
        missing++;
        if (missing <= 5) say(`  lost: ${write.path} acknowledged at ${(write.at / 1000).toFixed(2)} s (${write.how})`);
      }
      if (!device.seen.has(write.path)) notDelivered++;
      const got = await answered(() => http.send('GET', `/sync/uploads/${write.path}`, device.account.token), true);
      if (got.status !== 200 || sha256(got.body) !== write.sha256) wrongContent++;
    }
  });
  const gaps = devices.reduce((sum, d) => sum + d.gaps, 0);
  say(
    `\n== verification: ${acked} acknowledged writes; not listed ${missing}, wrong or missing content ${wrongContent}`,
  );
  say(`feed: ${notDelivered} acknowledged writes never reached their device's feed; gaps in seq ${gaps}`);
}
