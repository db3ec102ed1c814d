// A hostile platform for engine tests: a small node:http server speaking just enough of the protocol (sessions,
// listings, downloads, uploads) whose answers a test shapes at will: hostile paths, a listing that never ends, a
// download that trickles, a malformed entry. It records every request it gets.

import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { encodePath } from '../../protocol/index.js';
import { createApiClient } from '../../sync-engine/endpoints.js';
import { createSyncEngine, type SyncEngine } from '../../sync-engine/engine.js';
import { StatusModel } from '../../sync-engine/status.js';

export const sha = (content: string) => createHash('sha256').update(content).digest('hex');
const UPDATED = '2026-11-25T10:00:00.000Z';

/** One file the hostile platform lists and serves. */
export interface HostileFile {
  kind: 'site' | 'upload';
  name?: string;
  /** The path in the listing. */
  path: string;
  /** What the download's X-Path says (default `path`). */
  xPath?: string;
  /** What the listing and the ETag say. */
  sha256: string;
  size: number;
  /** The body: a string; null, an endless body; `{ trickle }`: one byte every `trickle` ms. */
  body: string | null | { trickle: number };
  /** Listed with a field broken (a listing that is only partly malformed). */
  malformed?: boolean;
}

export interface HostileRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  /** When it arrived (ms). */
  at: number;
}

export interface HostilePlatform {
  url: string;
  files: HostileFile[];
  requests: HostileRequest[];
  /** Replaces the answer to GET /sync/changes (default: every file in one page). */
  changes: ((query: URLSearchParams) => unknown) | null;
  close(): Promise<void>;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'x-server-time': new Date().toISOString() });
  res.end(JSON.stringify(body));
}

function listingOf(files: HostileFile[]): unknown {
  const entries = files.map((f, i) => ({
    kind: f.kind,
    ...(f.name === undefined ? {} : { name: f.name }),
    path: f.path,
    size: f.size,
    sha256: f.malformed ? 'not a hash' : f.sha256,
    version: 1,
    updatedAt: UPDATED,
    seq: i + 1,
  }));
  // Never `0`: a poll's cursor is always told apart from a session's listing.
  return { entries, cursor: String(files.length + 1), hasMore: false };
}

function sendBody(res: ServerResponse, body: HostileFile['body']): void {
  if (typeof body === 'string') {
    res.end(body);
    return;
  }
  if (body === null) {
    // Endless: keep sending until the client hangs up.
    const chunk = Buffer.alloc(64 * 1024, 'z');
    const pump = (): void => {
      while (!res.destroyed && res.write(chunk)) {}
      if (!res.destroyed) res.once('drain', pump);
    };
    res.on('close', () => res.removeAllListeners('drain'));
    pump();
    return;
  }
  const timer = setInterval(() => {
    if (res.destroyed) clearInterval(timer);
    else res.write('t');
  }, body.trickle);
  res.on('close', () => clearInterval(timer));
}

/** A PUT is taken as saved: version 1 of what was sent. */
function acceptPut(req: IncomingMessage, res: ServerResponse, pathname: string): void {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const site = /^\/sync\/sites\/([^/]+)$/.exec(pathname);
    const filePath = site
      ? `${site[1]}.html`
      : pathname.slice('/sync/uploads/'.length).split('/').map(decodeURIComponent).join('/');
    json(res, 201, {
      kind: site ? 'site' : 'upload',
      ...(site ? { name: site[1] } : {}),
      path: filePath,
      size: body.length,
      sha256: createHash('sha256').update(body).digest('hex'),
      version: 1,
      updatedAt: new Date().toISOString(),
      seq: 1000,
    });
  });
}

export async function startHostilePlatform(): Promise<HostilePlatform> {
  const platform: HostilePlatform = {
    url: '',
    files: [],
    requests: [],
    changes: null,
    close: async () => {},
  };
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const { pathname, searchParams } = new URL(req.url ?? '/', 'http://x');
    platform.requests.push({ method: req.method ?? 'GET', path: pathname, query: searchParams, at: Date.now() });
    if (pathname === '/sync/health') return json(res, 200, { ok: true });
    if (req.method === 'POST' && pathname === '/sync/sessions') return json(res, 201, { sessionId: 's1', cursor: '0' });
    if (pathname === '/sync/changes')
      return json(res, 200, (platform.changes ?? (() => listingOf(platform.files)))(searchParams));
    if (req.method === 'PUT') return acceptPut(req, res, pathname);
    const file = platform.files.find((f) =>
      f.kind === 'site' ? pathname === `/sync/sites/${f.name}` : pathname === `/sync/uploads/${encodePath(f.path)}`,
    );
    if (!file || req.method !== 'GET')
      return json(res, 404, { error: { code: 'not_found', message: 'no such entry' } });
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      etag: `"${file.sha256}"`,
      'x-version': '1',
      'x-path': encodePath(file.xPath ?? file.path),
      'x-updated-at': UPDATED,
      'x-server-time': new Date().toISOString(),
      ...(typeof file.body === 'object' && file.body !== null ? { 'content-length': String(file.size) } : {}),
    });
    sendBody(res, file.body);
  };
  const server: Server = createServer(handle);
  server.keepAliveTimeout = 100;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  platform.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  platform.close = async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  return platform;
}

/** A real engine against the hostile platform, on `folder`, with its data in `home`. */
export function hostileEngine(
  platform: HostilePlatform,
  options: { folder: string; home: string; lines: string[]; pollSeconds?: number; timeoutMs?: number },
): SyncEngine {
  const log = (level: string, line: string) => {
    options.lines.push(`${level} ${line}`);
  };
  const api = createApiClient({
    origin: platform.url,
    getToken: () => ({
      token: 'hostile-test-token',
      origin: platform.url,
      expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
      obtainedAtMs: Date.now(),
    }),
    clientVersion: '0.1.0',
    log,
    timeoutMs: options.timeoutMs ?? 3000,
    retryDelaysMs: [],
  });
  return createSyncEngine({
    api,
    folder: options.folder,
    accountId: 'acct-hostile',
    status: new StatusModel(),
    stateFile: path.join(options.home, 'sync.state'),
    log,
    deviceName: 'hostile test',
    pollSeconds: options.pollSeconds ?? 60,
    probeSeconds: 0.2,
  });
}
