// SPEC.md "Pulling": every path from the platform is confined to the sync folder. A hostile platform (a small
// node:http server speaking the protocol) answers with `..` and absolute paths, a path through a symlinked
// folder, a wrong sha256, a mismatched X-Path and an endless body: nothing lands outside the folder, each is logged.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodePath } from '../../protocol/index.js';
import { createApiClient } from '../../sync-engine/endpoints.js';
import { createSyncEngine, type SyncEngine } from '../../sync-engine/engine.js';
import { StatusModel } from '../../sync-engine/status.js';
import { filesOf, until } from '../helpers/engine.js';

const sha = (content: string) => createHash('sha256').update(content).digest('hex');
const UPDATED = '2026-11-25T10:00:00.000Z';

/** One file the hostile platform lists and serves (`body` null: an endless body). */
interface HostileFile {
  kind: 'site' | 'upload';
  name?: string;
  /** The path in the listing. */
  path: string;
  /** What the download's X-Path says (default `path`). */
  xPath?: string;
  /** What the listing and the ETag say. */
  sha256: string;
  size: number;
  body: string | null;
}

let root: string;
let folder: string;
let outside: string;
let server: Server;
let url: string;
let files: HostileFile[];
let engine: SyncEngine | null;
let lines: string[];

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'x-server-time': new Date().toISOString() });
  res.end(JSON.stringify(body));
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const { pathname } = new URL(req.url ?? '/', 'http://x');
  if (pathname === '/sync/health') {
    json(res, 200, { ok: true });
    return;
  }
  if (req.method === 'POST' && pathname === '/sync/sessions') {
    json(res, 201, { sessionId: 's1', cursor: '0' });
    return;
  }
  if (pathname === '/sync/changes') {
    const entries = files.map((f, i) => ({
      kind: f.kind,
      ...(f.name === undefined ? {} : { name: f.name }),
      path: f.path,
      size: f.size,
      sha256: f.sha256,
      version: 1,
      updatedAt: UPDATED,
      seq: i + 1,
    }));
    json(res, 200, { entries, cursor: String(files.length), hasMore: false });
    return;
  }
  const file = files.find((f) =>
    f.kind === 'site' ? pathname === `/sync/sites/${f.name}` : pathname === `/sync/uploads/${encodePath(f.path)}`,
  );
  if (!file || req.method !== 'GET') {
    json(res, 404, { error: { code: 'not_found', message: 'no such entry' } });
    return;
  }
  res.writeHead(200, {
    'content-type': 'application/octet-stream',
    etag: `"${file.sha256}"`,
    'x-version': '1',
    'x-path': encodePath(file.xPath ?? file.path),
    'x-updated-at': UPDATED,
    'x-server-time': new Date().toISOString(),
  });
  if (file.body !== null) {
    res.end(file.body);
    return;
  }
  // Endless: keep sending until the client hangs up.
  const chunk = Buffer.alloc(64 * 1024, 'z');
  const pump = (): void => {
    while (!res.destroyed && res.write(chunk)) {}
    if (!res.destroyed) res.once('drain', pump);
  };
  res.on('close', () => res.removeAllListeners('drain'));
  pump();
}

beforeEach(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'hc-hostile-'));
  folder = path.join(root, 'sync');
  outside = path.join(root, 'outside');
  mkdirSync(folder);
  mkdirSync(outside);
  files = [];
  lines = [];
  engine = null;
  server = createServer(handle);
  server.keepAliveTimeout = 100;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  await engine?.stop();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  rmSync(root, { recursive: true, force: true });
});

function startEngine(): SyncEngine {
  const log = (level: string, line: string) => {
    lines.push(`${level} ${line}`);
  };
  const api = createApiClient({
    origin: url,
    getToken: () => ({
      token: 'hostile-test-token',
      origin: url,
      expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
      obtainedAtMs: Date.now(),
    }),
    clientVersion: '0.1.0',
    log,
    timeoutMs: 3000,
    retryDelaysMs: [],
  });
  engine = createSyncEngine({
    api,
    folder,
    accountId: 'acct-hostile',
    status: new StatusModel(),
    stateFile: path.join(root, 'home', 'sync.state'),
    log,
    deviceName: 'hostile test',
    pollSeconds: 60,
  });
  return engine;
}

/** Everything under `root` outside the sync folder and the client's data folder. */
function strayFiles(): string[] {
  return readdirSync(root, { recursive: true })
    .map(String)
    .filter((p) => !p.startsWith('sync') && !p.startsWith('home') && p !== 'outside');
}

describe('a hostile platform cannot write outside the sync folder', () => {
  it.each([
    ['a `..` path', '../outside/evil.txt'],
    ['a deeper `..` path', 'a/../../outside/evil.txt'],
    ['an absolute path', '/tmp/hc-hostile-outside/evil.txt'],
  ])('%s in the listing is refused and logged', async (_what, hostilePath) => {
    files = [{ kind: 'upload', path: hostilePath, sha256: sha('evil'), size: 4, body: 'evil' }];
    await startEngine().start();
    await until(() => lines.some((l) => l.startsWith('error') && /refused|path/.test(l)), 'the refusal logged');
    expect(strayFiles()).toEqual([]);
    expect(filesOf(folder)).toEqual([]);
    console.log(lines.filter((l) => l.startsWith('error')).join('\n'));
  });

  it('a path through a symlinked folder, a wrong sha256, a mismatched X-Path and an endless body: each refused and logged, the honest file arrives', async () => {
    symlinkSync(outside, path.join(folder, 'link'));
    files = [
      { kind: 'upload', path: 'link/evil.txt', sha256: sha('evil'), size: 4, body: 'evil' },
      { kind: 'site', name: 'sneaky', path: 'link/sneaky.html', sha256: sha('<p>'), size: 3, body: '<p>' },
      { kind: 'upload', path: 'wrong-sha.txt', sha256: sha('what was promised'), size: 13, body: 'something odd' },
      {
        kind: 'site',
        name: 'moved',
        path: 'moved.html',
        xPath: '../outside/moved.html',
        sha256: sha('m'),
        size: 1,
        body: 'm',
      },
      { kind: 'upload', path: 'endless.bin', sha256: sha('ten bytes!'), size: 10, body: null },
      { kind: 'upload', path: 'good.txt', sha256: sha('honest'), size: 6, body: 'honest' },
    ];
    await startEngine().start();
    await until(() => existsSync(path.join(folder, 'good.txt')), 'the honest file');
    await engine!.idle();
    expect(readFileSync(path.join(folder, 'good.txt'), 'utf8')).toBe('honest');
    expect(readdirSync(outside)).toEqual([]);
    expect(strayFiles()).toEqual([]);
    // Nothing else landed in the folder (no temp file left behind either); the symlink itself is untouched.
    expect(filesOf(folder).filter((p) => !p.startsWith('.hyperclay'))).toEqual(['good.txt']);
    const errors = lines.filter((l) => /^(warn|error) /.test(l));
    console.log(errors.join('\n'));
    for (const what of ['link/evil.txt', 'link/sneaky.html', 'wrong-sha.txt', 'moved', 'endless.bin']) {
      expect(
        errors.some((l) => l.includes(what)),
        `a log line for ${what}`,
      ).toBe(true);
    }
  });
});
