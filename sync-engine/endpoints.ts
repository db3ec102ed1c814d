// The platform's /sync endpoints as the engine calls them (ApiClient): each request built from checked names and
// paths, sent through the one transport with the token of auth.ts, and each answer validated by protocol/.

import {
  checkPath,
  DEVICE_CODE_GRANT,
  type DeviceCodeResponse,
  type Entry,
  encodePath,
  MAX_PAGE_LIMIT,
  MAX_SEARCH_LIMIT,
  MAX_SEARCH_QUERY_CHARS,
  MAX_WAIT_SECONDS,
  type MeResponse,
  ProtocolViolation,
  parseDeviceCodeResponse,
  parseMeResponse,
  parseRefreshResponse,
  parseSearchResponse,
  parseSessionResponse,
  parseTokenResponse,
  parseVersionsResponse,
  type ReadChangesPage,
  readChangesPage,
  type SearchResult,
  type SessionResponse,
  type TokenResponse,
  type VersionInfo,
} from '../protocol/index.js';
import { checkOrigin, type SavedToken, TokenKeeper } from './auth.js';
import { type BatchOutcome, type BatchPutItem, type FetchFileItem, fetchFiles, putBatch } from './batch.js';
import { type DownloadExpectation, downloadFile, type FileHeaders, type FileKind } from './download.js';
import { BadResponseError, EngineError } from './errors.js';
import {
  fileRoute,
  type PutFileInput,
  type PutFileResult,
  parseSavedEntry,
  putFileHeaders,
  savedResult,
} from './file-route.js';
import { Transport, type TransportOptions } from './transport.js';

export interface ApiClientOptions extends Omit<TransportOptions, 'origin'> {
  /** The platform's origin, e.g. `https://hyperclay.com`; https:// unless loopback. */
  origin: string;
  /** The current token (null when signed out). Called before every authenticated request. */
  getToken: () => SavedToken | null | Promise<SavedToken | null>;
  /** Persists a refreshed token (the settings' token store). */
  onToken?: (token: SavedToken) => void | Promise<void>;
  /** The cap for a download whose size nobody announced (no expected entry, no Content-Length). Default 1 GiB. */
  maxUnannouncedDownloadBytes?: number;
}

export type { BatchOutcome, BatchPutItem, FetchFileItem } from './batch.js';
export type { PutFileInput, PutFileResult } from './file-route.js';

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
  /** A change page; an entry that breaks the protocol is set aside in `malformed`, the rest is usable. */
  changes(request: ChangesRequest): Promise<ReadChangesPage>;
  /** Streams a file into `destinationPath` (created or truncated), verifies it, fsyncs it; removes it on failure. */
  download(kind: FileKind, key: string, destinationPath: string, expect?: DownloadExpectation): Promise<FileHeaders>;
  putFile(kind: FileKind, key: string, input: PutFileInput): Promise<PutFileResult>;
  /**
   * POST /sync/batch (small files, PROTOCOL.md "Batches"): each item's outcome is what its putFile would have
   * returned or thrown; all saved items were committed together. A failure of the whole request (offline, a
   * deadline, a 5xx after the retries) is thrown: retry its items.
   */
  putBatch(items: BatchPutItem[]): Promise<BatchOutcome<PutFileResult>[]>;
  /**
   * POST /sync/fetch into `destinations` (one per item): each file checked (size, sha256, the planned version) and
   * fsynced as download() does, or removed with its item's error. A failure of the whole answer is thrown (every
   * file it wrote removed): retry its items.
   */
  fetchFiles(items: FetchFileItem[], destinations: string[]): Promise<BatchOutcome<FileHeaders>[]>;
  putFolder(path: string): Promise<{ status: 'created' | 'exists'; entry: Entry }>;
  versions(name: string): Promise<VersionInfo[]>;
  /** GET /sync/search: the account's text files holding every word of `query` (by prefix), best first. */
  search(query: string, limit?: number): Promise<SearchResult[]>;
  /** POST /sync/token/refresh now; persists the new token through onToken. */
  refresh(): Promise<SavedToken>;
  /** POST /sync/logout (one attempt): revokes this device's connection on the platform. */
  logout(): Promise<void>;
  /** POST /sync/token: the sign-in's code exchange (unauthenticated). */
  exchangeCode(code: string, codeVerifier: string, redirectUri: string): Promise<TokenResponse>;
  /** POST /sync/device/code: a device sign-in's codes (unauthenticated). */
  startDeviceCode(deviceName: string): Promise<DeviceCodeResponse>;
  /** POST /sync/token with the device-code grant: one poll; a 400 ApiError carries the answer's code. */
  pollDeviceToken(deviceCode: string): Promise<TokenResponse>;
  /**
   * A client sharing this one's connections, clock and token, whose close() aborts only the requests made through
   * it (an engine's stop); it can be used again afterwards.
   */
  scoped(): ApiClient;
  /** Aborts every request in flight (they reject with code `client_closed`) and closes the keep-alive connections. */
  close(): void;
}

function parseHealth(value: unknown): void {
  if (typeof value !== 'object' || value === null || (value as { ok?: unknown }).ok !== true) {
    throw new ProtocolViolation('health answer is not {ok: true}');
  }
}

/** The query of GET /sync/changes and how long its long-poll may hold the answer. */
function changesQuery(request: ChangesRequest): { query: Record<string, string>; waitMs: number } {
  const query: Record<string, string> = { session: request.session, cursor: request.cursor };
  if (request.limit !== undefined) {
    if (!Number.isSafeInteger(request.limit) || request.limit < 1 || request.limit > MAX_PAGE_LIMIT) {
      throw new RangeError(`limit must be 1-${MAX_PAGE_LIMIT}`);
    }
    query.limit = String(request.limit);
  }
  let waitMs = 0;
  if (request.wait !== undefined && request.wait > 0) {
    // Whole milliseconds: a fraction of a second is a wait too (tests poll every few hundred ms).
    const wait = Math.round(Math.min(request.wait, MAX_WAIT_SECONDS) * 1000) / 1000;
    query.wait = String(wait);
    waitMs = wait * 1000;
  }
  return { query, waitMs };
}

/** What every client of one origin shares: the transport (connections, clock offset) and the token keeper. */
interface Shared {
  origin: string;
  transport: Transport;
  tokens: TokenKeeper;
  clientVersion: string;
  maxUnannounced: number;
}

function sharedFor(options: ApiClientOptions): Shared {
  const origin = checkOrigin(options.origin);
  const log = options.log ?? (() => {});
  const now = options.now ?? Date.now;
  const transport = new Transport({ ...options, origin, log, now });
  const tokens = new TokenKeeper({
    origin,
    getToken: options.getToken,
    onToken: options.onToken,
    log,
    now,
    postRefresh: (token) =>
      transport.json({ method: 'POST', path: '/sync/token/refresh', bearer: () => token }, parseRefreshResponse),
  });
  return {
    origin,
    transport,
    tokens,
    clientVersion: options.clientVersion,
    maxUnannounced: options.maxUnannouncedDownloadBytes ?? 1024 * 1024 * 1024,
  };
}

class PlatformClient implements ApiClient {
  readonly origin: string;
  readonly #shared: Shared;
  readonly #transport: Transport;
  readonly #tokens: TokenKeeper;
  readonly #clientVersion: string;
  readonly #maxUnannounced: number;
  readonly #bearer = () => this.#tokens.bearer();
  /** A scoped client's calls carry its signal; close() aborts them and starts a new scope. */
  #scope: AbortController | null;

  constructor(shared: Shared, scoped: boolean) {
    this.#shared = shared;
    this.origin = shared.origin;
    this.#transport = shared.transport;
    this.#tokens = shared.tokens;
    this.#clientVersion = shared.clientVersion;
    this.#maxUnannounced = shared.maxUnannounced;
    this.#scope = scoped ? new AbortController() : null;
  }

  /** The fields every call of this client carries. */
  get #call(): { signal?: AbortSignal } {
    return this.#scope ? { signal: this.#scope.signal } : {};
  }

  scoped(): ApiClient {
    return new PlatformClient(this.#shared, true);
  }

  get clockOffsetMs(): number {
    return this.#transport.clockOffsetMs;
  }

  toServerTime(localMs: number): number {
    return localMs + this.#transport.clockOffsetMs;
  }

  async health(): Promise<void> {
    await this.#transport.json(
      { method: 'GET', path: '/sync/health', retry: false, reportOffline: false, ...this.#call },
      parseHealth,
    );
  }

  me(): Promise<MeResponse> {
    return this.#transport.json(
      { method: 'GET', path: '/sync/me', bearer: this.#bearer, ...this.#call },
      parseMeResponse,
    );
  }

  createSession(deviceName: string): Promise<SessionResponse> {
    return this.#transport.json(
      {
        method: 'POST',
        path: '/sync/sessions',
        bearer: this.#bearer,
        json: { deviceName, clientVersion: this.#clientVersion },
        ...this.#call,
      },
      parseSessionResponse,
    );
  }

  async changes(request: ChangesRequest): Promise<ReadChangesPage> {
    const { query, waitMs } = changesQuery(request);
    return this.#transport.json(
      { method: 'GET', path: '/sync/changes', query, bearer: this.#bearer, extraWaitMs: waitMs, ...this.#call },
      readChangesPage,
    );
  }

  async download(
    kind: FileKind,
    key: string,
    destinationPath: string,
    expect?: DownloadExpectation,
  ): Promise<FileHeaders> {
    const { url: path, key: canonical } = fileRoute(kind, key);
    return downloadFile(this.#transport, {
      kind,
      key: canonical,
      path,
      what: `${kind} ${key}`,
      destinationPath,
      expect,
      maxUnannouncedBytes: this.#maxUnannounced,
      bearer: this.#bearer,
      ...this.#call,
    });
  }

  async putFile(kind: FileKind, key: string, input: PutFileInput): Promise<PutFileResult> {
    const { url: path, key: canonical } = fileRoute(kind, key);
    const headers = putFileHeaders(kind, input);
    const deadline = { ms: this.#transport.transferDeadlineMs(input.content.length), what: `${kind} ${key}` };
    const { status, value: entry } = await this.#transport.answer(
      {
        method: 'PUT',
        path,
        bearer: this.#bearer,
        body: input.content,
        headers,
        streaming: true,
        deadline,
        ...this.#call,
      },
      parseSavedEntry,
    );
    return savedResult(kind, canonical, input, status, entry);
  }

  putBatch(items: BatchPutItem[]): Promise<BatchOutcome<PutFileResult>[]> {
    return putBatch({ transport: this.#transport, bearer: this.#bearer, ...this.#call }, items);
  }

  fetchFiles(items: FetchFileItem[], destinations: string[]): Promise<BatchOutcome<FileHeaders>[]> {
    return fetchFiles({ transport: this.#transport, bearer: this.#bearer, ...this.#call }, items, destinations);
  }

  async putFolder(path: string): Promise<{ status: 'created' | 'exists'; entry: Entry }> {
    const checked = checkPath(path, 'folder');
    if (!checked.ok) throw new EngineError('invalid_path', `"${path}" cannot be synced: ${checked.message}.`);
    const url = `/sync/folders/${encodePath(checked.value)}`;
    const { status, value: entry } = await this.#transport.answer(
      { method: 'PUT', path: url, bearer: this.#bearer, ...this.#call },
      parseSavedEntry,
    );
    if (entry.kind !== 'folder' || entry.path !== checked.value) {
      throw new BadResponseError(status, 'a folder answer for another entry');
    }
    return { status: status === 201 ? 'created' : 'exists', entry };
  }

  versions(name: string): Promise<VersionInfo[]> {
    const path = `${fileRoute('site', name).url}/versions`;
    return this.#transport.json({ method: 'GET', path, bearer: this.#bearer, ...this.#call }, parseVersionsResponse);
  }

  search(query: string, limit?: number): Promise<SearchResult[]> {
    if (query.trim() === '' || query.length > MAX_SEARCH_QUERY_CHARS) {
      throw new RangeError(`a search is 1-${MAX_SEARCH_QUERY_CHARS} characters`);
    }
    const params: Record<string, string> = { q: query };
    if (limit !== undefined) {
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_SEARCH_LIMIT) {
        throw new RangeError(`limit must be 1-${MAX_SEARCH_LIMIT}`);
      }
      params.limit = String(limit);
    }
    return this.#transport.json(
      { method: 'GET', path: '/sync/search', query: params, bearer: this.#bearer, ...this.#call },
      parseSearchResponse,
    );
  }

  async refresh(): Promise<SavedToken> {
    return this.#tokens.refresh(await this.#tokens.current());
  }

  async logout(): Promise<void> {
    const saved = await this.#tokens.current();
    await this.#transport.send({
      method: 'POST',
      path: '/sync/logout',
      bearer: () => saved.token,
      retry: false,
    });
  }

  exchangeCode(code: string, codeVerifier: string, redirectUri: string): Promise<TokenResponse> {
    return this.#transport.json(
      {
        method: 'POST',
        path: '/sync/token',
        json: { code, code_verifier: codeVerifier, redirect_uri: redirectUri },
      },
      parseTokenResponse,
    );
  }

  startDeviceCode(deviceName: string): Promise<DeviceCodeResponse> {
    return this.#transport.json(
      { method: 'POST', path: '/sync/device/code', json: { device_name: deviceName } },
      (v) => {
        const parsed = parseDeviceCodeResponse(v);
        if (!parsed) throw new ProtocolViolation('device code answer is malformed');
        return parsed;
      },
    );
  }

  pollDeviceToken(deviceCode: string): Promise<TokenResponse> {
    return this.#transport.json(
      { method: 'POST', path: '/sync/token', json: { grant_type: DEVICE_CODE_GRANT, device_code: deviceCode } },
      parseTokenResponse,
    );
  }

  close(): void {
    if (this.#scope === null) {
      this.#transport.close();
      return;
    }
    this.#scope.abort();
    this.#scope = new AbortController();
  }
}

/** The engine's one client for the platform, bound to `options.origin` (InsecureOriginError when it may not be). */
export function createApiClient(options: ApiClientOptions): ApiClient {
  return new PlatformClient(sharedFor(options), false);
}
