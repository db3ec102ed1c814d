// The scale bench's load generator: one simulated device per account, as the sync engine behaves (a session, the
// listing, then long-polls with wait=10 or plain polls every 10 s), a share of them saving new files and a
// scheduler listing other accounts. Records latencies, errors with their time, and what each device saw.

import { createHash, randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import type { BenchAccount } from './stack.js';

export interface Reply {
  status: number;
  json: Record<string, unknown>;
  body: Buffer;
  ms: number;
  /** Set when no HTTP answer came (refused, reset, timed out). */
  error?: string;
}

function failed(started: number, error: NodeJS.ErrnoException): Reply {
  const ms = performance.now() - started;
  return { status: 0, json: {}, body: Buffer.alloc(0), ms, error: error.code ?? error.message };
}

/** Keep-alive HTTP to HAProxy; never throws: a network failure is status 0 with its error code. */
export class Http {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
  private readonly port: number;

  constructor(base: string) {
    this.port = Number(new URL(base).port);
  }

  send(
    method: string,
    path: string,
    token: string,
    options: { body?: Buffer; headers?: Record<string, string>; timeoutMs?: number } = {},
  ): Promise<Reply> {
    const started = performance.now();
    return new Promise((resolve) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: this.port,
          method,
          path,
          agent: this.agent,
          headers: { authorization: `Bearer ${token}`, ...options.headers },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', (error: NodeJS.ErrnoException) => resolve(failed(started, error)));
          res.on('end', () => {
            const body = Buffer.concat(chunks);
            let json: Record<string, unknown> = {};
            try {
              json = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
            } catch {}
            resolve({ status: res.statusCode ?? 0, json, body, ms: performance.now() - started });
          });
        },
      );
      req.setTimeout(options.timeoutMs ?? 30_000, () =>
        req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })),
      );
      req.on('error', (error: NodeJS.ErrnoException) => resolve(failed(started, error)));
      req.end(options.body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

export type Kind = 'session' | 'list' | 'poll' | 'longpoll' | 'write';

/** Requests per kind in 250 ms buckets since the recorder started (ok and failed), for the fault timelines. */
export class Recorder {
  recording = false;
  readonly t0 = performance.now();
  readonly latency: Record<'poll' | 'write' | 'list', number[]> = { poll: [], write: [], list: [] };
  readonly holds: number[] = [];
  /** Write acknowledged -> the same account's long-poll delivering it. */
  readonly wakes: number[] = [];
  readonly done: Record<Kind, number> = { session: 0, list: 0, poll: 0, longpoll: 0, write: 0 };
  readonly errors = new Map<string, number>();
  readonly timeline = new Map<number, Record<string, number>>();

  now(): number {
    return performance.now() - this.t0;
  }

  mark(kind: Kind, reply: Reply): void {
    const ok = isSuccess(reply);
    const bucket = Math.floor(this.now() / 250);
    const row = this.timeline.get(bucket) ?? {};
    const key = ok ? `${kind} ok` : `${kind} ${reply.error ?? reply.status}`;
    row[key] = (row[key] ?? 0) + 1;
    this.timeline.set(bucket, row);
    if (!this.recording) return;
    if (ok) this.done[kind]++;
    else this.errors.set(key, (this.errors.get(key) ?? 0) + 1);
  }
}

/** A 2xx answer (status 0 is no answer at all). */
const isSuccess = (reply: Reply): boolean => reply.status >= 200 && reply.status < 300;
const sleep = (msDelay: number) => new Promise((r) => setTimeout(r, msDelay));
const sha256 = (content: Buffer) => createHash('sha256').update(content).digest('hex');

export interface Acked {
  path: string;
  sha256: string;
  /** ms since the recorder started. */
  at: number;
  /** The acknowledging status and the failures before it, for a report of a lost write. */
  how: string;
}

/** One device of one account. */
export class Device {
  private cursor = '0';
  private session = '';
  private nextSeq = 1;
  private writes = 0;
  stopped = false;
  gaps = 0;
  writing = false;
  /** Writes the platform acknowledged, by path (each write makes a new file, so a path is acked once). */
  readonly acked = new Map<string, Acked>();
  /** Paths this device received through its feed. */
  readonly seen = new Set<string>();

  constructor(
    readonly account: BenchAccount,
    readonly index: number,
    private readonly http: Http,
    private readonly rec: Recorder,
    readonly live: boolean,
  ) {}

  /** Retries with backoff (250 ms doubling to 4 s) as the engine does for 5xx and network errors. */
  private async retrying(
    kind: Kind,
    call: () => Promise<Reply>,
    accept = isSuccess,
    history: string[] = [],
  ): Promise<Reply> {
    for (let attempt = 0; ; attempt++) {
      const reply = await call();
      this.rec.mark(kind, reply);
      history.push(String(reply.error ?? reply.status));
      if (accept(reply) || this.stopped) return reply;
      await sleep(Math.min(4000, 250 * 2 ** attempt));
    }
  }

  async start(): Promise<void> {
    const body = Buffer.from(JSON.stringify({ deviceName: `bench ${this.index}`, clientVersion: '1.0.0' }));
    const reply = await this.retrying('session', () =>
      this.http.send('POST', '/sync/sessions', this.account.token, {
        body,
        headers: { 'content-type': 'application/json' },
      }),
    );
    this.session = String(reply.json.sessionId ?? '');
    await this.listAll('list');
  }

  /** The listing from cursor 0; its last page's cursor is where the feed starts. */
  async listAll(kind: 'list'): Promise<void> {
    let cursor = '0';
    for (;;) {
      const reply = await this.retrying(kind, () =>
        this.http.send('GET', `/sync/changes?cursor=${encodeURIComponent(cursor)}`, this.account.token),
      );
      if (this.stopped || !isSuccess(reply)) return;
      if (this.rec.recording) this.rec.latency.list.push(reply.ms);
      cursor = String(reply.json.cursor);
      if (!reply.json.hasMore) break;
    }
    if (this.cursor === '0') this.cursor = cursor;
  }

  /** Polls until stopped: long-polls back to back, or a plain poll every 10 s (jittered start). */
  async run(): Promise<void> {
    if (!this.live) await sleep(Math.random() * 10_000);
    while (!this.stopped) {
      const started = performance.now();
      await this.poll();
      if (!this.live) await sleep(Math.max(0, 10_000 - (performance.now() - started)));
    }
  }

  private async poll(): Promise<void> {
    const wait = this.live ? '&wait=10' : '';
    const path = `/sync/changes?cursor=${encodeURIComponent(this.cursor)}&session=${this.session}${wait}`;
    const kind: Kind = this.live ? 'longpoll' : 'poll';
    const reply = await this.retrying(
      kind,
      () => this.http.send('GET', path, this.account.token),
      (r) => isSuccess(r) || r.status === 410,
    );
    if (this.stopped || !(isSuccess(reply) || reply.status === 410)) return;
    if (reply.status === 410) {
      this.cursor = '0';
      return this.listAll('list');
    }
    if (this.rec.recording) (this.live ? this.rec.holds : this.rec.latency.poll).push(reply.ms);
    const received = this.rec.now();
    for (const entry of (reply.json.entries ?? []) as { path: string; seq: number }[]) {
      if (entry.seq !== this.nextSeq) this.gaps++;
      this.nextSeq = entry.seq + 1;
      this.seen.add(entry.path);
      const acked = this.acked.get(entry.path);
      if (acked && this.live && this.rec.recording) this.rec.wakes.push(Math.max(0, received - acked.at));
    }
    this.cursor = String(reply.json.cursor);
  }

  /** Saves a new 2 KB file; retried until acknowledged (a retry of a write that did land is 200 unchanged). */
  async write(): Promise<void> {
    this.writing = true;
    const path = `scale-${this.index}-${this.writes++}.txt`;
    const content = randomBytes(2048);
    const hash = sha256(content);
    const headers = {
      'X-Base-Version': '0',
      'X-Modified-At': new Date().toISOString(),
      'Content-SHA256': hash,
      'content-type': 'application/octet-stream',
    };
    const history: string[] = [];
    const reply = await this.retrying(
      'write',
      () => this.http.send('PUT', `/sync/uploads/${path}`, this.account.token, { body: content, headers }),
      undefined,
      history,
    );
    if (isSuccess(reply)) {
      if (this.rec.recording) this.rec.latency.write.push(reply.ms);
      this.acked.set(path, { path, sha256: hash, at: this.rec.now(), how: history.join(' ') });
    }
    this.writing = false;
  }
}

/** Runs `task` for each item, `parallel` at a time. */
export async function eachLimited<T>(items: T[], parallel: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) await task(items[i]!);
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}
