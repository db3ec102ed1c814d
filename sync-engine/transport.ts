// The engine's one HTTP transport to the platform, bound to one origin: keep-alive connections, a timeout on every
// request, retries with backoff honouring Retry-After, no redirects, error answers as typed errors, the clock
// offset from X-Server-Time, and close() aborting everything in flight.

import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import got, { type Request as GotRequest, type PlainResponse, RequestError } from 'got';
import { HEADER, isIsoUtc, isTransientStatus, ProtocolViolation } from '../protocol/index.js';
import {
  ApiError,
  BadResponseError,
  EngineError,
  errorForAnswer,
  OfflineError,
  TransferDeadlineError,
} from './errors.js';
import type { EngineLog } from './log.js';

export interface TransportOptions {
  /** The platform's origin, already checked (auth.ts `checkOrigin`): requests go nowhere else. */
  origin: string;
  clientVersion: string;
  log?: EngineLog;
  /** Per request: connect, response headers and socket idleness each get this long. Default 30 s. */
  timeoutMs?: number;
  /** Waits before each retry of a transient failure; the number of retries is its length. */
  retryDelaysMs?: readonly number[];
  /** The upper bound for a server's Retry-After. Default 60 s. */
  maxRetryAfterMs?: number;
  /** How retries wait (tests record the delays instead of sleeping). */
  sleep?: (ms: number) => Promise<void>;
  /** When it returns false, transient failures are not retried (the OS or the online monitor says offline). */
  isOnline?: () => boolean;
  /** Told when a request gave up on network errors (feed it to the online monitor). */
  onNetworkFailure?: (error: OfflineError) => void;
  /** Local clock in ms; default Date.now. */
  now?: () => number;
}

/** One request as the endpoints describe it. */
export interface Call {
  method: 'GET' | 'POST' | 'PUT';
  /** Already percent-encoded, from `/sync/...`. */
  path: string;
  query?: Record<string, string>;
  /** The bearer token, asked for once before the first attempt; absent for an unauthenticated request. */
  bearer?: () => string | Promise<string>;
  json?: unknown;
  /** The body: bytes, or a stream made anew for each attempt (a batch's parts, read as they are sent). */
  body?: Buffer | (() => Readable);
  headers?: Record<string, string>;
  /** Transient failures retried (default true). */
  retry?: boolean;
  /** Added to the response timeout (long-poll). */
  extraWaitMs?: number;
  /** File transfers go on for as long as bytes keep moving: no total deadline, only idleness. */
  streaming?: boolean;
  /** Report giving up on network errors to onNetworkFailure (not for the health probe itself). */
  reportOffline?: boolean;
  /** Aborts this call (and its retry waits): it rejects with code `client_closed`. */
  signal?: AbortSignal;
  /**
   * A streaming call's whole deadline in ms (a transfer that trickles is abandoned, not retried here): it rejects
   * with TransferDeadlineError naming `what`.
   */
  deadline?: { ms: number; what: string };
}

/** A call in a log line: its method and its path without the query (which may hold a session id). */
function callText(call: Call): string {
  return `${call.method} ${call.path}`;
}

/** Reads a 2xx answer. */
export type Consume<T> = (response: PlainResponse, stream: GotRequest) => Promise<T>;

const DEFAULT_RETRY_DELAYS_MS = [1000, 2000, 3000, 4000, 5000] as const;
const MAX_JSON_BYTES = 32 * 1024 * 1024;
const MAX_ERROR_BODY_BYTES = 64 * 1024;
const CLOCK_SAMPLES = 8;
/** The slowest rate a transfer may keep up, beyond the request timeout: below it, it is abandoned as stalled. */
const MIN_TRANSFER_BYTES_PER_S = 64 * 1024;

/** Retry-After as a delay in ms (seconds or an HTTP date, the latter read on the server's clock); null if absent or unreadable. */
export function retryAfterMs(value: string | undefined, serverNowMs: number): number | null {
  if (value === undefined) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - serverNowMs);
}

export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** The body, or null once it passes `limit` bytes (the stream is then destroyed). */
export async function readBounded(stream: GotRequest, limit: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) {
      stream.destroy();
      return null;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

function parseJson(status: number, body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new BadResponseError(status, 'malformed JSON', { cause: error });
  }
}

/** Runs a protocol parser; a violation becomes a BadResponseError. */
function validated<T>(status: number, parse: (value: unknown) => T, value: unknown): T {
  try {
    return parse(value);
  } catch (error) {
    if (error instanceof ProtocolViolation) throw new BadResponseError(status, error.message, { cause: error });
    throw error;
  }
}

/** A transient failure inside one attempt: carries what the retry needs. */
class Transient extends Error {
  constructor(
    readonly final: EngineError,
    readonly retryAfter: number | null,
    readonly network: boolean,
    readonly retryable = true,
  ) {
    super(final.message);
  }
}

/** Certificate failures: the TLS handshake refused the platform, so no token was sent. */
function isCertificateError(error: RequestError): boolean {
  return /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS/.test(error.code ?? '');
}

function networkDetail(error: RequestError): string {
  if (isCertificateError(error)) return `the platform's certificate is not trusted: ${error.code}`;
  return error.code ? `${error.code}` : error.name;
}

/** A network failure as a Transient; a certificate failure is not retried (waiting does not fix it). */
function networkFailure(error: RequestError): Transient {
  return new Transient(
    new OfflineError(networkDetail(error), { cause: error }),
    null,
    true,
    !isCertificateError(error),
  );
}

function closedError(): EngineError {
  return new EngineError('client_closed', 'Sync was stopped while talking to the platform.');
}

/** A failure as a log line: the status and code of an answer, or the error's code. */
function reasonOf(error: EngineError): string {
  return error instanceof ApiError ? `${error.status} ${error.code}` : error.code;
}

/** serverNow - localNow, from X-Server-Time at a round trip's midpoint; the fastest recent round trip wins. */
class ClockOffset {
  #samples: Array<{ rttMs: number; offsetMs: number }> = [];
  offsetMs = 0;

  note(headers: IncomingHttpHeaders, sentAt: number, receivedAt: number): void {
    const value = header(headers, HEADER.serverTime);
    if (!isIsoUtc(value)) return;
    const sample = { rttMs: receivedAt - sentAt, offsetMs: Date.parse(value) - (sentAt + receivedAt) / 2 };
    this.#samples.push(sample);
    if (this.#samples.length > CLOCK_SAMPLES) this.#samples.shift();
    // The fastest round trip bounds the error best (a long-poll's answer says little about the clock).
    let best = sample;
    for (const candidate of this.#samples) if (candidate.rttMs < best.rttMs) best = candidate;
    this.offsetMs = Math.round(best.offsetMs);
  }
}

export class Transport {
  readonly origin: string;
  readonly #options: TransportOptions;
  readonly #log: EngineLog;
  readonly #now: () => number;
  readonly #timeoutMs: number;
  readonly #retryDelays: number[];
  readonly #maxRetryAfterMs: number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #userAgent: string;
  // Explicit keep-alive agents: got does not reuse connections without them.
  readonly #agent = {
    http: new http.Agent({ keepAlive: true, maxSockets: 16 }),
    https: new https.Agent({ keepAlive: true, maxSockets: 16 }),
  };
  // close() aborts whatever is in flight, including a long-poll and a retry's wait. (Not through got's `signal`
  // option: got leaves one listener per request on a shared signal.)
  readonly #inFlight = new Set<GotRequest>();
  readonly #closing = new AbortController();
  readonly #closed: Promise<void>;
  readonly #clock = new ClockOffset();

  constructor(options: TransportOptions) {
    this.origin = options.origin;
    this.#options = options;
    this.#log = options.log ?? (() => {});
    this.#now = options.now ?? Date.now;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#retryDelays = [...(options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS)];
    this.#maxRetryAfterMs = options.maxRetryAfterMs ?? 60_000;
    this.#sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    this.#userAgent = `hyperclay-sync/${options.clientVersion}`;
    this.#closed = new Promise<void>((resolve) => this.#closing.signal.addEventListener('abort', () => resolve()));
  }

  /** serverNow - localNow in ms; 0 until measured. */
  get clockOffsetMs(): number {
    return this.#clock.offsetMs;
  }

  /** How long a transfer of `bytes` may take as a whole: the request timeout plus its bytes at a slow rate. */
  transferDeadlineMs(bytes: number): number {
    return this.#timeoutMs + Math.ceil((bytes / MIN_TRANSFER_BYTES_PER_S) * 1000);
  }

  /** A JSON answer read through a protocol parser, with its status. */
  async answer<T>(call: Call, parse: (value: unknown) => T): Promise<{ status: number; value: T }> {
    return this.perform(call, async (response, stream) => {
      const status = response.statusCode;
      const body = await readBounded(stream, MAX_JSON_BYTES);
      if (body === null) throw new BadResponseError(status, 'a body larger than any sync answer');
      return { status, value: validated(status, parse, parseJson(status, body)) };
    });
  }

  async json<T>(call: Call, parse: (value: unknown) => T): Promise<T> {
    return (await this.answer(call, parse)).value;
  }

  /** A call whose answer body is not needed (read and dropped, bounded). */
  async send(call: Call): Promise<void> {
    await this.perform(call, async (_response, stream) => {
      await readBounded(stream, MAX_ERROR_BODY_BYTES);
    });
  }

  /** Attempts with the retry schedule; transient failures wait (Retry-After wins) and try again. */
  async perform<T>(call: Call, consume: Consume<T>): Promise<T> {
    if (this.#aborted(call)) throw closedError();
    const token = call.bearer ? await call.bearer() : null;
    const attempts = call.retry === false ? 1 : this.#retryDelays.length + 1;
    for (let index = 0; ; index++) {
      try {
        return await this.#attempt(call, token, consume);
      } catch (error) {
        if (this.#aborted(call)) throw closedError();
        if (error instanceof TransferDeadlineError) throw error;
        if (!(error instanceof Transient)) throw error;
        const offline = this.#options.isOnline ? !this.#options.isOnline() : false;
        if (index + 1 >= attempts || offline || !error.retryable) this.#giveUp(call, error, index);
        await this.#wait(call, error, index, attempts);
      }
    }
  }

  #aborted(call: Call): boolean {
    return this.#closing.signal.aborted || call.signal?.aborted === true;
  }

  /** Aborts every request in flight (they reject with code `client_closed`) and closes the keep-alive connections. */
  close(): void {
    this.#closing.abort();
    for (const stream of this.#inFlight) stream.destroy(closedError());
    this.#agent.http.destroy();
    this.#agent.https.destroy();
  }

  #giveUp(call: Call, error: Transient, index: number): never {
    const final = error.final;
    const detail =
      final instanceof OfflineError ? ` (${(final.cause as Error | undefined)?.message ?? 'network'})` : '';
    this.#log('warn', `${callText(call)} gave up after ${index + 1} attempt(s): ${reasonOf(final)}${detail}`);
    if (error.network && call.reportOffline !== false && final instanceof OfflineError) {
      this.#options.onNetworkFailure?.(final);
    }
    throw final;
  }

  async #wait(call: Call, error: Transient, index: number, attempts: number): Promise<void> {
    let delay = this.#retryDelays[index] ?? 0;
    if (error.retryAfter !== null) delay = Math.min(error.retryAfter, this.#maxRetryAfterMs);
    this.#log(
      'info',
      `retry ${callText(call)} in ${delay} ms (${reasonOf(error.final)}), attempt ${index + 2}/${attempts}`,
    );
    const aborted = call.signal ? abortOf(call.signal) : null;
    try {
      await Promise.race([this.#sleep(delay), this.#closed, ...(aborted ? [aborted.promise] : [])]);
    } finally {
      aborted?.dispose();
    }
    if (this.#aborted(call)) throw closedError();
  }

  /** One attempt: sends, waits for the headers, hands a 2xx to `consume`; anything else is thrown. */
  async #attempt<T>(call: Call, token: string | null, consume: Consume<T>): Promise<T> {
    const stream = this.#send(call, token);
    // Failures surface through the response promise or the body iterator; a late second 'error' must not crash.
    stream.on('error', () => {});
    this.#inFlight.add(stream);
    const onAbort = (): void => void stream.destroy(closedError());
    call.signal?.addEventListener('abort', onAbort);
    let pastDeadline = false;
    const deadline = call.deadline;
    const timer = deadline
      ? setTimeout(() => {
          pastDeadline = true;
          stream.destroy(new Error('the transfer deadline passed'));
        }, deadline.ms)
      : null;
    try {
      return await this.#receive(stream, consume);
    } catch (error) {
      if (pastDeadline && deadline) throw new TransferDeadlineError(deadline.what, deadline.ms);
      throw error;
    } finally {
      if (timer) clearTimeout(timer);
      call.signal?.removeEventListener('abort', onAbort);
      this.#inFlight.delete(stream);
    }
  }

  #send(call: Call, token: string | null): GotRequest {
    const url = new URL(call.path, this.origin);
    for (const [name, value] of Object.entries(call.query ?? {})) url.searchParams.set(name, value);
    const headers: Record<string, string> = {
      'user-agent': this.#userAgent,
      accept: 'application/json',
      ...call.headers,
    };
    if (token !== null) headers.authorization = `Bearer ${token}`;
    const timeoutMs = this.#timeoutMs;
    const waitMs = call.extraWaitMs ?? 0;
    // got's stream mode leaves a POST or PUT without a body open: an empty body ends it.
    const body =
      typeof call.body === 'function'
        ? call.body()
        : (call.body ?? (call.json === undefined && call.method !== 'GET' ? Buffer.alloc(0) : undefined));
    return got.stream(url, {
      method: call.method,
      headers,
      ...(call.json !== undefined ? { json: call.json } : {}),
      ...(body !== undefined ? { body } : {}),
      agent: this.#agent,
      // The token belongs to this origin only: a redirect is never followed (it could lead anywhere).
      followRedirect: false,
      throwHttpErrors: false,
      retry: { limit: 0 },
      decompress: false,
      // A file transfer may take long on a slow link, so it has no overall deadline: it fails when it stalls
      // (socket idle). Everything else must finish within a bounded time as a whole.
      timeout: {
        lookup: timeoutMs,
        connect: timeoutMs,
        secureConnect: timeoutMs,
        response: timeoutMs + waitMs,
        socket: timeoutMs + waitMs,
        ...(call.streaming ? {} : { send: timeoutMs, request: 2 * timeoutMs + waitMs }),
      },
    });
  }

  async #receive<T>(stream: GotRequest, consume: Consume<T>): Promise<T> {
    const sentAt = this.#now();
    let response: PlainResponse;
    try {
      response = await new Promise<PlainResponse>((resolve, reject) => {
        stream.once('response', resolve);
        stream.once('error', reject);
      });
    } catch (error) {
      stream.destroy();
      if (error instanceof RequestError) throw networkFailure(error);
      throw error;
    }
    this.#clock.note(response.headers, sentAt, this.#now());
    try {
      const status = response.statusCode;
      if (status >= 200 && status < 300) return await consume(response, stream);
      if (status >= 300 && status < 400) throw this.#redirectRefused(response, stream);
      throw await this.#errorAnswer(response, stream);
    } catch (error) {
      stream.destroy();
      if (error instanceof RequestError) throw networkFailure(error);
      throw error;
    }
  }

  #redirectRefused(response: PlainResponse, stream: GotRequest): BadResponseError {
    stream.destroy();
    const location = header(response.headers, 'location');
    let where = 'elsewhere';
    try {
      if (location) where = new URL(location, this.origin).origin;
    } catch {
      where = 'an unreadable address';
    }
    return new BadResponseError(response.statusCode, `a redirect to ${where}, which is not followed`);
  }

  /** The typed error a non-2xx answer stands for; a Transient for 429 and 5xx. */
  async #errorAnswer(response: PlainResponse, stream: GotRequest): Promise<EngineError | Transient> {
    const status = response.statusCode;
    const error = errorForAnswer(status, await readBounded(stream, MAX_ERROR_BODY_BYTES));
    if (!isTransientStatus(status)) return error;
    const serverNow = this.#now() + this.#clock.offsetMs;
    return new Transient(error, retryAfterMs(header(response.headers, HEADER.retryAfter), serverNow), false);
  }
}

/** A promise that resolves when `signal` aborts, and the way to stop listening. */
function abortOf(signal: AbortSignal): { promise: Promise<void>; dispose: () => void } {
  let listener = (): void => {};
  const promise = new Promise<void>((resolve) => {
    listener = () => resolve();
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', listener, { once: true });
  });
  return { promise, dispose: () => signal.removeEventListener('abort', listener) };
}
