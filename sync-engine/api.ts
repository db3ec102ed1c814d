// The engine's one HTTP client for the platform's /sync endpoints: bound to one origin, keep-alive, a timeout
// on every request, retries with backoff, the clock offset, the daily token refresh, and every answer validated.

import { createHash } from 'node:crypto';
import { type FileHandle, open, unlink } from 'node:fs/promises';
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import got, { type Request as GotRequest, type PlainResponse, RequestError } from 'got';
import {
  type ChangesPage,
  checkPath,
  checkSiteName,
  checkSitePath,
  decodePath,
  type Entry,
  encodePath,
  HEADER,
  isIsoUtc,
  isSha256,
  isTransientStatus,
  MAX_PAGE_LIMIT,
  MAX_WAIT_SECONDS,
  type MeResponse,
  ProtocolViolation,
  parseChangesPage,
  parseEntry,
  parseErrorBody,
  parseMeResponse,
  parseRefreshResponse,
  parseSessionResponse,
  parseTokenResponse,
  type SessionResponse,
  TOKEN_REFRESH_AFTER_MS,
  type TokenResponse,
  type User,
  type VersionInfo,
} from '../protocol/index.js';
import {
  ApiError,
  BadResponseError,
  ClientOutdatedError,
  ConflictError,
  CursorResetError,
  EngineError,
  InsecureOriginError,
  OfflineError,
  SignedOutError,
  TransferIntegrityError,
} from './errors.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
/** One line per event; never given a token, a code or a query string. */
export type EngineLog = (level: LogLevel, line: string) => void;

/** The engine's log file (log.ts `Logger`) as an EngineLog. */
export function logTo(logger: Record<LogLevel, (message: string) => void>): EngineLog {
  return (level, line) => logger[level](line);
}

/** A token as the engine keeps it: bound to the origin that issued it, with the local time it was obtained. */
export interface SavedToken {
  token: string;
  /** The origin (scheme://host[:port]) that issued it; the token is never sent anywhere else. */
  origin: string;
  /** The server's `expiresAt` (ISO 8601 UTC). */
  expiresAt: string;
  /** Local clock (ms) when it was issued or last refreshed: the 24 h refresh rule counts from here. */
  obtainedAtMs: number;
  user?: User;
}

export interface ApiClientOptions {
  /** The platform's origin, e.g. `https://hyperclay.com`; https:// unless loopback. */
  origin: string;
  /** The current token (null when signed out). Called before every authenticated request. */
  getToken: () => SavedToken | null | Promise<SavedToken | null>;
  /** Persists a refreshed token (the settings' token store). */
  onToken?: (token: SavedToken) => void | Promise<void>;
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
  /** The cap for a download whose size nobody announced (no expected entry, no Content-Length). Default 1 GiB. */
  maxUnannouncedDownloadBytes?: number;
  /** Local clock in ms; default Date.now. */
  now?: () => number;
}

export type FileKind = 'site' | 'upload';

/** What a file download's headers say the file is; checked against the bytes that arrived. */
export interface FileHeaders {
  kind: FileKind;
  /** Sites only. */
  name?: string;
  path: string;
  size: number;
  sha256: string;
  version: number;
  updatedAt: string;
}

export interface DownloadExpectation {
  size?: number;
  sha256?: string;
  version?: number;
}

export interface PutFileInput {
  content: Buffer;
  /** Hex sha256 of `content`. */
  sha256: string;
  /** The version this content was edited from; 0 for a new file. */
  baseVersion: number;
  /** The local mtime converted to server time (`toServerTime`), ISO 8601 UTC with ms. */
  modifiedAtIso: string;
  /** For a new site: where it lives locally (its folder is used on the platform). */
  localPath?: string;
}

export interface PutFileResult {
  status: 'saved' | 'created' | 'unchanged';
  entry: Entry;
}

export interface ChangesRequest {
  session: string;
  cursor: string;
  limit?: number;
  /** Long-poll seconds (≤ 30). */
  wait?: number;
}

export interface ApiClient {
  readonly origin: string;
  /** serverNow - localNow in ms, measured from X-Server-Time at the round trip's midpoint. 0 until measured. */
  readonly clockOffsetMs: number;
  /** Converts a local clock reading (ms) to the platform's clock. */
  toServerTime(localMs: number): number;
  /** One unauthenticated probe of GET /sync/health, no retries. */
  health(): Promise<void>;
  me(): Promise<MeResponse>;
  createSession(deviceName: string): Promise<SessionResponse>;
  changes(request: ChangesRequest): Promise<ChangesPage>;
  /** Streams a file into `destinationPath` (created or truncated), verifies it, fsyncs it; removes it on failure. */
  download(kind: FileKind, key: string, destinationPath: string, expect?: DownloadExpectation): Promise<FileHeaders>;
  putFile(kind: FileKind, key: string, input: PutFileInput): Promise<PutFileResult>;
  putFolder(path: string): Promise<{ status: 'created' | 'exists'; entry: Entry }>;
  versions(name: string): Promise<VersionInfo[]>;
  /** POST /sync/token/refresh now; persists the new token through onToken. */
  refresh(): Promise<SavedToken>;
  /** POST /sync/logout (one attempt): revokes this device's connection on the platform. */
  logout(): Promise<void>;
  /** POST /sync/token: the sign-in's code exchange (unauthenticated). */
  exchangeCode(code: string, codeVerifier: string, redirectUri: string): Promise<TokenResponse>;
  /** Aborts every request in flight (they reject with code `client_closed`) and closes the keep-alive connections. */
  close(): void;
}

const DEFAULT_RETRY_DELAYS_MS = [1000, 2000, 3000, 4000, 5000] as const;
const MAX_JSON_BYTES = 32 * 1024 * 1024;
const MAX_ERROR_BODY_BYTES = 64 * 1024;
const CLOCK_SAMPLES = 8;
/** After a failed refresh (other than signed-out), keep using the old token for this long before trying again. */
const REFRESH_BACKOFF_MS = 5 * 60 * 1000;

/**
 * Checks that a token may be sent to `origin` and returns it normalised (`scheme://host[:port]`).
 * https:// anywhere; http:// only on loopback (127.0.0.0/8, ::1, localhost). Throws InsecureOriginError.
 */
export function checkOrigin(origin: string): string {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    throw new InsecureOriginError(origin, 'it is not a URL');
  }
  if (url.username || url.password) throw new InsecureOriginError(origin, 'it holds credentials');
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    throw new InsecureOriginError(origin, 'it must be a bare origin without a path or query');
  }
  if (url.protocol === 'https:') return url.origin;
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return url.origin;
  throw new InsecureOriginError(origin, 'a token is only sent over https:// (or http:// on this machine)');
}

export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  if (host.toLowerCase() === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1';
  return false;
}

/** Retry-After as a delay in ms (seconds or an HTTP date, the latter read on the server's clock); null if absent or unreadable. */
export function retryAfterMs(value: string | undefined, serverNowMs: number): number | null {
  if (value === undefined) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - serverNowMs);
}

/** A server's error sentence as safe text for a log line or the UI: no control characters, bounded. */
function cleanMessage(message: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
  const text = message.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

function statusText(status: number, code: string): string {
  return `${status} ${code}`;
}

interface Call {
  method: 'GET' | 'POST' | 'PUT';
  /** Already percent-encoded, from `/sync/...`. */
  path: string;
  query?: Record<string, string>;
  auth: boolean;
  json?: unknown;
  body?: Buffer;
  headers?: Record<string, string>;
  /** Transient failures retried (default true). */
  retry?: boolean;
  /** Added to the response timeout (long-poll). */
  extraWaitMs?: number;
  /** File transfers go on for as long as bytes keep moving: no total deadline, only idleness. */
  streaming?: boolean;
  /** Report giving up on network errors to onNetworkFailure (not for the health probe itself). */
  reportOffline?: boolean;
  /** For log lines: method and a path without query. */
  what: string;
}

type Consume<T> = (response: PlainResponse, stream: GotRequest) => Promise<T>;

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

async function readBounded(stream: GotRequest, limit: number): Promise<Buffer | null> {
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

/** An entry answered by PUT: PROTOCOL.md gives the entry as the body; `{entry}` is accepted as well. */
function entryOf(value: unknown): unknown {
  if (typeof value === 'object' && value !== null && 'entry' in value && !('kind' in value)) {
    return (value as { entry: unknown }).entry;
  }
  return value;
}

function parseVersions(value: unknown): VersionInfo[] {
  const list = typeof value === 'object' && value !== null ? (value as { versions?: unknown }).versions : undefined;
  if (!Array.isArray(list)) throw new ProtocolViolation('versions response has no versions');
  return list.map((item: unknown) => {
    const raw = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
    const { version, size, sha256, updatedAt } = raw;
    if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1)
      throw new ProtocolViolation('a version has a bad number');
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)
      throw new ProtocolViolation('a version has a bad size');
    if (!isSha256(sha256)) throw new ProtocolViolation('a version has a bad sha256');
    if (!isIsoUtc(updatedAt)) throw new ProtocolViolation('a version has a bad updatedAt');
    return { version, size, sha256, updatedAt };
  });
}

/** The error a non-2xx answer stands for. */
function errorFor(status: number, raw: Buffer | null): EngineError {
  let parsed: ReturnType<typeof parseErrorBody> = null;
  if (raw !== null && raw.length > 0) {
    try {
      parsed = parseErrorBody(JSON.parse(raw.toString('utf8')));
    } catch {
      parsed = null;
    }
  }
  const code = parsed?.code && /^[a-z_]{1,64}$/.test(parsed.code) ? parsed.code : `http_${status}`;
  const message = parsed ? cleanMessage(parsed.message) : '';
  const body = parsed?.body ?? {};
  if (status === 401) {
    return new SignedOutError(
      401,
      'unauthorized',
      message || 'Your sign-in has expired or was revoked. Sign in again.',
      body,
    );
  }
  if (status === 402) {
    return new SignedOutError(
      402,
      'subscription_required',
      message || 'Syncing needs a paid plan. Upgrade your subscription, then sign in again.',
      body,
    );
  }
  if (status === 410) {
    return new CursorResetError(
      410,
      'cursor_reset',
      message || 'The change feed must be listed again from the start.',
      body,
    );
  }
  if (status === 426) {
    const min = typeof body.minClientVersion === 'string' ? cleanMessage(body.minClientVersion) : null;
    return new ClientOutdatedError(
      message || 'This version of Hyperclay Sync is too old. Please update it.',
      body,
      min,
    );
  }
  if (status === 409 && code === 'conflict') {
    try {
      return new ConflictError(message || 'The platform holds a newer version.', body, parseEntry(body.current));
    } catch (error) {
      return new BadResponseError(409, `a conflict without a valid current entry: ${String(error)}`, { cause: error });
    }
  }
  return new ApiError(status, code, message || `The platform answered ${status}.`, body);
}

function isNetworkError(error: unknown): error is RequestError {
  return error instanceof RequestError;
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

export function createApiClient(options: ApiClientOptions): ApiClient {
  const origin = checkOrigin(options.origin);
  const log: EngineLog = options.log ?? (() => {});
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const retryDelays = [...(options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS)];
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 60_000;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const maxUnannounced = options.maxUnannouncedDownloadBytes ?? 1024 * 1024 * 1024;
  const userAgent = `hyperclay-sync/${options.clientVersion}`;
  // Explicit keep-alive agents: got does not reuse connections without them.
  const agent = {
    http: new http.Agent({ keepAlive: true, maxSockets: 16 }),
    https: new https.Agent({ keepAlive: true, maxSockets: 16 }),
  };

  // close() aborts whatever is in flight, including a long-poll and a retry's wait. (Not through got's `signal`
  // option: got leaves one listener per request on a shared signal.)
  const inFlight = new Set<GotRequest>();
  const closing = new AbortController();
  const closed = new Promise<void>((resolve) => closing.signal.addEventListener('abort', () => resolve()));
  const closedError = () => new EngineError('client_closed', 'Sync was stopped while talking to the platform.');

  const clockSamples: Array<{ rttMs: number; offsetMs: number }> = [];
  let clockOffsetMs = 0;

  let refreshed: { from: string; token: SavedToken } | null = null;
  let refreshing: Promise<SavedToken> | null = null;
  let refreshBlockedUntil = 0;

  function noteServerTime(headers: IncomingHttpHeaders, sentAt: number, receivedAt: number): void {
    const value = header(headers, HEADER.serverTime);
    if (!isIsoUtc(value)) return;
    const sample = { rttMs: receivedAt - sentAt, offsetMs: Date.parse(value) - (sentAt + receivedAt) / 2 };
    clockSamples.push(sample);
    if (clockSamples.length > CLOCK_SAMPLES) clockSamples.shift();
    // The fastest round trip bounds the error best (a long-poll's answer says little about the clock).
    let best = sample;
    for (const candidate of clockSamples) if (candidate.rttMs < best.rttMs) best = candidate;
    clockOffsetMs = Math.round(best.offsetMs);
  }

  async function currentToken(): Promise<SavedToken> {
    const saved = await options.getToken();
    if (!saved) throw new SignedOutError(0, 'signed_out', 'You are not signed in. Sign in to start syncing.');
    if (saved.origin !== origin) {
      // Bound to the issuing origin: never send it to another one, whatever the settings say now.
      throw new SignedOutError(
        0,
        'signed_out',
        `You are signed in to ${saved.origin}, not ${origin}. Sign in again to sync with ${origin}.`,
      );
    }
    if (refreshed && refreshed.from === saved.token) return refreshed.token;
    return saved;
  }

  async function bearer(): Promise<string> {
    const saved = await currentToken();
    const age = now() - saved.obtainedAtMs;
    // A negative age means the clock was set back since: refresh rather than wait for a day that never comes.
    if ((age >= 0 && age < TOKEN_REFRESH_AFTER_MS) || now() < refreshBlockedUntil) return saved.token;
    try {
      return (await refreshOnce(saved)).token;
    } catch (error) {
      if (error instanceof SignedOutError) throw error;
      refreshBlockedUntil = now() + REFRESH_BACKOFF_MS;
      log('warn', `token refresh failed, keeping the current token: ${(error as Error).message}`);
      return saved.token;
    }
  }

  function refreshOnce(saved: SavedToken): Promise<SavedToken> {
    if (!refreshing) {
      refreshing = doRefresh(saved).finally(() => {
        refreshing = null;
      });
    }
    return refreshing;
  }

  async function doRefresh(saved: SavedToken): Promise<SavedToken> {
    const answer = await json(
      { method: 'POST', path: '/sync/token/refresh', auth: false, what: 'POST /sync/token/refresh' },
      parseRefreshResponse,
      saved.token,
    );
    const next: SavedToken = {
      token: answer.token,
      origin,
      expiresAt: answer.expiresAt,
      obtainedAtMs: now(),
      ...(saved.user ? { user: saved.user } : {}),
    };
    refreshed = { from: saved.token, token: next };
    await options.onToken?.(next);
    log('info', `token refreshed, expires ${answer.expiresAt}`);
    return next;
  }

  /** One attempt: sends, waits for the headers, hands a 2xx to `consume`; anything else is thrown. */
  async function attempt<T>(call: Call, token: string | null, consume: Consume<T>): Promise<T> {
    const url = new URL(call.path, origin);
    for (const [name, value] of Object.entries(call.query ?? {})) url.searchParams.set(name, value);
    const headers: Record<string, string> = { 'user-agent': userAgent, accept: 'application/json', ...call.headers };
    if (token !== null) headers.authorization = `Bearer ${token}`;
    const waitMs = call.extraWaitMs ?? 0;
    // got's stream mode leaves a POST or PUT without a body open: an empty body ends it.
    const body = call.body ?? (call.json === undefined && call.method !== 'GET' ? Buffer.alloc(0) : undefined);
    const stream = got.stream(url, {
      method: call.method,
      headers,
      ...(call.json !== undefined ? { json: call.json } : {}),
      ...(body !== undefined ? { body } : {}),
      agent,
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
    // Failures surface through the response promise or the body iterator; a late second 'error' must not crash.
    stream.on('error', () => {});
    inFlight.add(stream);
    try {
      return await answer(stream, consume);
    } finally {
      inFlight.delete(stream);
    }
  }

  async function answer<T>(stream: GotRequest, consume: Consume<T>): Promise<T> {
    const sentAt = now();
    let response: PlainResponse;
    try {
      response = await new Promise<PlainResponse>((resolve, reject) => {
        stream.once('response', resolve);
        stream.once('error', reject);
      });
    } catch (error) {
      stream.destroy();
      if (isNetworkError(error)) throw networkFailure(error);
      throw error;
    }
    noteServerTime(response.headers, sentAt, now());
    const status = response.statusCode;
    try {
      if (status >= 200 && status < 300) return await consume(response, stream);
      if (status >= 300 && status < 400) {
        stream.destroy();
        const location = header(response.headers, 'location');
        let where = 'elsewhere';
        try {
          if (location) where = new URL(location, origin).origin;
        } catch {
          where = 'an unreadable address';
        }
        throw new BadResponseError(status, `a redirect to ${where}, which is not followed`);
      }
      const body = await readBounded(stream, MAX_ERROR_BODY_BYTES);
      const error = errorFor(status, body);
      if (isTransientStatus(status)) {
        const serverNow = now() + clockOffsetMs;
        throw new Transient(error, retryAfterMs(header(response.headers, HEADER.retryAfter), serverNow), false);
      }
      throw error;
    } catch (error) {
      stream.destroy();
      if (isNetworkError(error)) throw networkFailure(error);
      throw error;
    }
  }

  /** Attempts with the retry schedule; transient failures wait (Retry-After wins) and try again. */
  async function perform<T>(call: Call, consume: Consume<T>, tokenOverride?: string): Promise<T> {
    if (closing.signal.aborted) throw closedError();
    const token = tokenOverride ?? (call.auth ? await bearer() : null);
    const attempts = call.retry === false ? 1 : retryDelays.length + 1;
    for (let index = 0; ; index++) {
      try {
        return await attempt(call, token, consume);
      } catch (error) {
        if (closing.signal.aborted) throw closedError();
        if (!(error instanceof Transient)) throw error;
        const last = index + 1 >= attempts;
        const offline = options.isOnline ? !options.isOnline() : false;
        const reason =
          error.final instanceof ApiError ? statusText(error.final.status, error.final.code) : error.final.code;
        if (last || offline || !error.retryable) {
          log(
            'warn',
            `${call.what} gave up after ${index + 1} attempt(s): ${reason}${error.final instanceof OfflineError ? ` (${(error.final.cause as Error | undefined)?.message ?? 'network'})` : ''}`,
          );
          if (error.network && call.reportOffline !== false && error.final instanceof OfflineError) {
            options.onNetworkFailure?.(error.final);
          }
          throw error.final;
        }
        let delay = retryDelays[index] ?? 0;
        if (error.retryAfter !== null) delay = Math.min(error.retryAfter, maxRetryAfterMs);
        log('info', `retry ${call.what} in ${delay} ms (${reason}), attempt ${index + 2}/${attempts}`);
        await Promise.race([sleep(delay), closed]);
        if (closing.signal.aborted) throw closedError();
      }
    }
  }

  async function json<T>(call: Call, parse: (value: unknown) => T, tokenOverride?: string): Promise<T> {
    return perform(
      call,
      async (response, stream) => {
        const body = await readBounded(stream, MAX_JSON_BYTES);
        if (body === null) throw new BadResponseError(response.statusCode, 'a body larger than any sync answer');
        return validated(response.statusCode, parse, parseJson(response.statusCode, body));
      },
      tokenOverride,
    );
  }

  /** The URL path of a file and its key as the platform spells it (an upload's path in NFC). */
  function fileRoute(kind: FileKind, key: string): { url: string; key: string } {
    if (kind === 'site') {
      const name = checkSiteName(key);
      if (!name.ok) throw new EngineError('invalid_name', `"${key}" is not a site name: ${name.message}.`);
      return { url: `/sync/sites/${encodeURIComponent(name.value)}`, key: name.value };
    }
    const path = checkPath(key, 'file');
    if (!path.ok) throw new EngineError('invalid_path', `"${key}" cannot be synced: ${path.message}.`);
    return { url: `/sync/uploads/${encodePath(path.value)}`, key: path.value };
  }

  function fileHeaders(kind: FileKind, key: string, response: PlainResponse): FileHeaders {
    const status = response.statusCode;
    const etag = header(response.headers, 'etag')
      ?.replace(/^W\//, '')
      .replace(/^"(.*)"$/, '$1');
    const versionText = header(response.headers, HEADER.version) ?? '';
    const version = /^\d{1,15}$/.test(versionText) ? Number(versionText) : Number.NaN;
    const updatedAt = header(response.headers, HEADER.updatedAt);
    const encodedPath = header(response.headers, HEADER.path);
    if (!isSha256(etag)) throw new BadResponseError(status, 'a file without a valid ETag');
    if (!Number.isSafeInteger(version) || version < 1)
      throw new BadResponseError(status, 'a file without a valid X-Version');
    if (!isIsoUtc(updatedAt)) throw new BadResponseError(status, 'a file without a valid X-Updated-At');
    const decoded = encodedPath === undefined ? null : decodePath(encodedPath);
    if (decoded === null) throw new BadResponseError(status, 'a file without a valid X-Path');
    if (kind === 'site') {
      const site = checkSitePath(decoded);
      if (!site.ok || site.value.name !== key)
        throw new BadResponseError(status, 'a site whose X-Path does not match its name');
      return { kind, name: key, path: site.value.path, size: 0, sha256: etag, version, updatedAt };
    }
    const path = checkPath(decoded, 'file');
    if (!path.ok || path.value !== key)
      throw new BadResponseError(status, 'an upload whose X-Path is not the path asked for');
    return { kind, path: path.value, size: 0, sha256: etag, version, updatedAt };
  }

  async function writeBody(
    stream: GotRequest,
    destinationPath: string,
    limit: number,
    exact: boolean,
    what: string,
    onOpened: () => void,
  ): Promise<{ size: number; sha256: string }> {
    const hash = createHash('sha256');
    let size = 0;
    let handle: FileHandle | null = await open(destinationPath, 'w');
    onOpened();
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > limit) {
          stream.destroy();
          throw new TransferIntegrityError('too_long', `${what} sent more than the ${limit} bytes announced`);
        }
        hash.update(chunk);
        await handle.write(chunk);
      }
      if (exact && size !== limit) {
        throw new TransferIntegrityError('size', `${what} arrived with ${size} bytes instead of ${limit}`);
      }
      await handle.sync();
      const closing = handle;
      handle = null;
      await closing.close();
      return { size, sha256: hash.digest('hex') };
    } finally {
      await handle?.close().catch(() => {});
    }
  }

  const client: ApiClient = {
    origin,
    get clockOffsetMs() {
      return clockOffsetMs;
    },
    toServerTime(localMs: number): number {
      return localMs + clockOffsetMs;
    },

    async health(): Promise<void> {
      await json(
        {
          method: 'GET',
          path: '/sync/health',
          auth: false,
          retry: false,
          reportOffline: false,
          what: 'GET /sync/health',
        },
        (value) => {
          if (typeof value !== 'object' || value === null || (value as { ok?: unknown }).ok !== true) {
            throw new ProtocolViolation('health answer is not {ok: true}');
          }
        },
      );
    },

    me(): Promise<MeResponse> {
      return json({ method: 'GET', path: '/sync/me', auth: true, what: 'GET /sync/me' }, parseMeResponse);
    },

    createSession(deviceName: string): Promise<SessionResponse> {
      return json(
        {
          method: 'POST',
          path: '/sync/sessions',
          auth: true,
          json: { deviceName, clientVersion: options.clientVersion },
          what: 'POST /sync/sessions',
        },
        parseSessionResponse,
      );
    },

    async changes(request: ChangesRequest): Promise<ChangesPage> {
      const query: Record<string, string> = { session: request.session, cursor: request.cursor };
      if (request.limit !== undefined) {
        if (!Number.isSafeInteger(request.limit) || request.limit < 1 || request.limit > MAX_PAGE_LIMIT) {
          throw new RangeError(`limit must be 1-${MAX_PAGE_LIMIT}`);
        }
        query.limit = String(request.limit);
      }
      let waitMs = 0;
      if (request.wait !== undefined && request.wait > 0) {
        const wait = Math.min(Math.floor(request.wait), MAX_WAIT_SECONDS);
        query.wait = String(wait);
        waitMs = wait * 1000;
      }
      return json(
        { method: 'GET', path: '/sync/changes', query, auth: true, extraWaitMs: waitMs, what: 'GET /sync/changes' },
        parseChangesPage,
      );
    },

    async download(kind, key, destinationPath, expect): Promise<FileHeaders> {
      const { url: path, key: canonical } = fileRoute(kind, key);
      const what = `${kind} ${key}`;
      // Only a file this call created is removed on failure.
      let opened = false;
      try {
        return await perform(
          { method: 'GET', path, auth: true, streaming: true, what: `GET ${path}`, headers: { accept: '*/*' } },
          async (response, stream) => {
            const headers = fileHeaders(kind, canonical, response);
            if (expect?.sha256 !== undefined && expect.sha256 !== headers.sha256) {
              stream.destroy();
              throw new TransferIntegrityError('changed', `${what} is no longer the version that was planned`);
            }
            if (expect?.version !== undefined && expect.version !== headers.version) {
              stream.destroy();
              throw new TransferIntegrityError(
                'changed',
                `${what} is now version ${headers.version}, not ${expect.version}`,
              );
            }
            const lengthHeader = header(response.headers, 'content-length');
            const announced = lengthHeader !== undefined && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : null;
            if (announced !== null && expect?.size !== undefined && announced !== expect.size) {
              stream.destroy();
              throw new TransferIntegrityError(
                'size',
                `${what} is announced with ${announced} bytes, not ${expect.size}`,
              );
            }
            const known = expect?.size ?? announced;
            const written = await writeBody(
              stream,
              destinationPath,
              known ?? maxUnannounced,
              known !== null,
              what,
              () => {
                opened = true;
              },
            );
            if (written.sha256 !== headers.sha256) {
              throw new TransferIntegrityError('sha256', `${what} arrived with a sha256 that does not match its ETag`);
            }
            return { ...headers, size: written.size };
          },
        );
      } catch (error) {
        if (opened) await unlink(destinationPath).catch(() => {});
        throw error;
      }
    },

    async putFile(kind, key, input): Promise<PutFileResult> {
      const { url: path, key: canonical } = fileRoute(kind, key);
      if (!isSha256(input.sha256)) throw new RangeError('sha256 must be 64 lowercase hex digits');
      if (!Number.isSafeInteger(input.baseVersion) || input.baseVersion < 0) throw new RangeError('bad baseVersion');
      if (!isIsoUtc(input.modifiedAtIso)) throw new RangeError('modifiedAtIso must be ISO 8601 UTC with ms');
      const headers: Record<string, string> = {
        'content-type': kind === 'site' ? 'text/html; charset=utf-8' : 'application/octet-stream',
        [HEADER.baseVersion]: String(input.baseVersion),
        [HEADER.modifiedAt]: input.modifiedAtIso,
        [HEADER.contentSha256]: input.sha256,
      };
      if (input.localPath !== undefined) {
        const local = checkPath(input.localPath, 'file');
        if (!local.ok)
          throw new EngineError('invalid_path', `"${input.localPath}" cannot be synced: ${local.message}.`);
        headers[HEADER.path] = encodePath(local.value);
      }
      let status = 0;
      const entry = await perform(
        { method: 'PUT', path, auth: true, body: input.content, headers, streaming: true, what: `PUT ${path}` },
        async (response, stream) => {
          status = response.statusCode;
          const body = await readBounded(stream, MAX_JSON_BYTES);
          if (body === null) throw new BadResponseError(status, 'a body larger than any sync answer');
          return validated(status, parseEntry, entryOf(parseJson(status, body)));
        },
      );
      if (entry.kind !== kind || entry.sha256 !== input.sha256 || entry.deleted) {
        throw new BadResponseError(status, `a saved entry that is not the ${kind} that was sent`);
      }
      if (kind === 'site' ? entry.name !== canonical : entry.path !== canonical) {
        throw new BadResponseError(status, `a saved entry for another ${kind}`);
      }
      const outcome = status === 201 ? 'created' : entry.version === input.baseVersion ? 'unchanged' : 'saved';
      return { status: outcome, entry };
    },

    async putFolder(path: string) {
      const checked = checkPath(path, 'folder');
      if (!checked.ok) throw new EngineError('invalid_path', `"${path}" cannot be synced: ${checked.message}.`);
      const url = `/sync/folders/${encodePath(checked.value)}`;
      let status = 0;
      const entry = await perform(
        { method: 'PUT', path: url, auth: true, what: `PUT ${url}` },
        async (response, stream) => {
          status = response.statusCode;
          const body = await readBounded(stream, MAX_JSON_BYTES);
          if (body === null) throw new BadResponseError(status, 'a body larger than any sync answer');
          return validated(status, parseEntry, entryOf(parseJson(status, body)));
        },
      );
      if (entry.kind !== 'folder' || entry.path !== checked.value) {
        throw new BadResponseError(status, 'a folder answer for another entry');
      }
      return { status: status === 201 ? ('created' as const) : ('exists' as const), entry };
    },

    versions(name: string): Promise<VersionInfo[]> {
      const path = `${fileRoute('site', name).url}/versions`;
      return json({ method: 'GET', path, auth: true, what: `GET ${path}` }, parseVersions);
    },

    async refresh(): Promise<SavedToken> {
      return refreshOnce(await currentToken());
    },

    async logout(): Promise<void> {
      const saved = await currentToken();
      await perform(
        { method: 'POST', path: '/sync/logout', auth: false, retry: false, what: 'POST /sync/logout' },
        async (_response, stream) => {
          await readBounded(stream, MAX_ERROR_BODY_BYTES);
        },
        saved.token,
      );
    },

    exchangeCode(code: string, codeVerifier: string, redirectUri: string): Promise<TokenResponse> {
      return json(
        {
          method: 'POST',
          path: '/sync/token',
          auth: false,
          json: { code, code_verifier: codeVerifier, redirect_uri: redirectUri },
          what: 'POST /sync/token',
        },
        parseTokenResponse,
      );
    },

    close(): void {
      closing.abort();
      for (const stream of inFlight) stream.destroy(closedError());
      agent.http.destroy();
      agent.https.destroy();
    },
  };
  return client;
}
