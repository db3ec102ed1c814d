// The engine's batch calls against a misbehaving platform (a raw HTTP server): what goes on the wire, retries of a
// whole batch that re-read its files, answers that break the protocol, a part longer than announced, a deadline.

import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { contentHead, manifestHead, multipartEnd, multipartType, readMultipart } from '../../protocol/multipart.js';
import { type ApiClient, type BatchPutItem, createApiClient } from '../../sync-engine/endpoints.js';
import { BadResponseError, TransferDeadlineError } from '../../sync-engine/errors.js';
import { sendError, sendJson, sha256, siteEntry, startServer, type TestServer } from './engine-api-helpers.js';

let folder: string;
const servers: TestServer[] = [];
const clients: ApiClient[] = [];

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'engine-api-batch-'));
});
afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  for (const server of servers.splice(0)) await server.close();
});

async function serve(handle: TestServer['handle']): Promise<TestServer> {
  const server = await startServer(handle);
  servers.push(server);
  return server;
}

function client(server: TestServer, timeoutMs = 2000): { api: ApiClient; delays: number[] } {
  const delays: number[] = [];
  const api = createApiClient({
    origin: server.origin,
    getToken: () => ({
      token: 'tok',
      origin: server.origin,
      expiresAt: '2026-12-05T00:00:00.000Z',
      obtainedAtMs: Date.now(),
    }),
    clientVersion: '0.1.0',
    timeoutMs,
    sleep: async (ms) => {
      delays.push(ms);
    },
  });
  clients.push(api);
  return { api, delays };
}

/** The parts of a multipart body as a server reads them. */
async function partsOf(body: Buffer, type: string): Promise<Array<{ name: string; text: string }>> {
  const parts: Array<{ name: string; text: string }> = [];
  const limits = { fieldBytes: 1 << 20, fileBytes: 1 << 20, parts: 100 };
  for await (const part of readMultipart(Readable.from([body]), type, limits)) {
    if (part.kind === 'field') parts.push({ name: part.name, text: part.value });
    else {
      const chunks: Buffer[] = [];
      for await (const chunk of part.stream) chunks.push(chunk as Buffer);
      parts.push({ name: part.name, text: Buffer.concat(chunks).toString() });
    }
  }
  return parts;
}

function upload(key: string, text: string, reads: string[]): BatchPutItem {
  return {
    kind: 'upload',
    key,
    size: Buffer.byteLength(text),
    sha256: sha256(text),
    baseVersion: 0,
    modifiedAtIso: '2026-11-25T13:24:11.123Z',
    read: async () => {
      reads.push(key);
      return Buffer.from(text);
    },
  };
}

const uploadEntry = (path: string, text: string, version = 1) => ({
  kind: 'upload',
  path,
  size: Buffer.byteLength(text),
  sha256: sha256(text),
  version,
  updatedAt: '2026-11-25T13:24:11.123Z',
  seq: version,
});

describe('putBatch on the wire', () => {
  it('sends the manifest then each content part in order; a 503 retries the whole batch, reading each file again', async () => {
    const seen: Array<Array<{ name: string; text: string }>> = [];
    const server = await serve(async (request, response, index) => {
      seen.push(await partsOf(request.body, request.headers['content-type'] ?? ''));
      if (index === 0) return sendError(response, 503, 'unavailable', 'busy', {}, { 'retry-after': '1' });
      sendJson(response, 200, {
        results: [
          { status: 201, entry: uploadEntry('a/one.txt', 'one') },
          { status: 409, error: { code: 'path_conflict', message: 'a folder is there' } },
        ],
      });
    });
    const { api, delays } = client(server);
    const reads: string[] = [];
    const outcomes = await api.putBatch([upload('a/one.txt', 'one', reads), upload('a/two.txt', 'two', reads)]);
    expect(outcomes.map((o) => (o.ok ? o.value.status : (o.error as Error & { code: string }).code))).toEqual([
      'created',
      'path_conflict',
    ]);
    expect(delays).toEqual([1000]);
    expect(reads).toEqual(['a/one.txt', 'a/two.txt', 'a/one.txt', 'a/two.txt']);
    expect(seen[1]!.map((part) => part.name)).toEqual(['manifest', 'content', 'content']);
    expect(JSON.parse(seen[1]![0]!.text)).toEqual({
      items: [
        {
          kind: 'upload',
          path: 'a/one.txt',
          baseVersion: 0,
          modifiedAt: '2026-11-25T13:24:11.123Z',
          sha256: sha256('one'),
        },
        {
          kind: 'upload',
          path: 'a/two.txt',
          baseVersion: 0,
          modifiedAt: '2026-11-25T13:24:11.123Z',
          sha256: sha256('two'),
        },
      ],
    });
    expect(seen[1]!.slice(1).map((part) => part.text)).toEqual(['one', 'two']);
    expect(server.requests[1]!.url).toBe('/sync/batch');
  });

  it('an answer with another number of results, or a saved entry for another file, is not believed', async () => {
    let answer: unknown = { results: [] };
    const server = await serve((_request, response) => sendJson(response, 200, answer));
    const { api } = client(server);
    const reads: string[] = [];
    await expect(api.putBatch([upload('x.txt', 'x', reads)])).rejects.toBeInstanceOf(BadResponseError);
    answer = { results: [{ status: 200, entry: uploadEntry('other.txt', 'x') }] };
    const [outcome] = await api.putBatch([upload('x.txt', 'x', reads)]);
    expect(!outcome!.ok && outcome!.error).toBeInstanceOf(BadResponseError);
  });
});

/** A fetch answer written by hand: the manifest, then the given content parts. */
function fetchAnswer(response: import('node:http').ServerResponse, items: unknown[], contents: string[]): void {
  const boundary = 'test-boundary';
  response.writeHead(200, { 'content-type': multipartType(boundary) });
  response.write(Buffer.concat([manifestHead(boundary), Buffer.from(JSON.stringify({ items }))]));
  contents.forEach((content, index) => {
    response.write(contentHead(boundary, index));
    response.write(content);
  });
  response.end(multipartEnd(boundary));
}

describe('fetchFiles against a misbehaving platform', () => {
  it('a part longer than its entry fails the whole fetch and leaves no file', async () => {
    const server = await serve((_request, response) =>
      fetchAnswer(response, [uploadEntry('f/a.txt', 'aaa'), uploadEntry('f/b.txt', 'bbb')], ['aaa', 'bbbbbbbb']),
    );
    const { api } = client(server);
    const out = await mkdtemp(join(folder, 'long-'));
    const items = ['f/a.txt', 'f/b.txt'].map((key) => ({ kind: 'upload' as const, key, expect: { size: 3 } }));
    await expect(api.fetchFiles(items, [join(out, 'a'), join(out, 'b')])).rejects.toMatchObject({ reason: 'too_long' });
    expect(await readdir(out)).toEqual([]);
  });

  it('a manifest naming another file, or an answer that is not multipart, is a bad response', async () => {
    let mode = 'other';
    const server = await serve((_request, response) =>
      mode === 'other'
        ? fetchAnswer(response, [siteEntry('someone-else', 'x')], ['x'])
        : sendJson(response, 200, { items: [] }),
    );
    const { api } = client(server);
    const out = await mkdtemp(join(folder, 'other-'));
    const items = [{ kind: 'site' as const, key: 'mine', expect: { size: 1 } }];
    await expect(api.fetchFiles(items, [join(out, 'm')])).rejects.toBeInstanceOf(BadResponseError);
    mode = 'json';
    await expect(api.fetchFiles(items, [join(out, 'm')])).rejects.toBeInstanceOf(BadResponseError);
    expect(await readdir(out)).toEqual([]);
  });

  it('an answer that trickles past the deadline its size allows is abandoned, and its files removed', async () => {
    const server = await serve((_request, response) => {
      const boundary = 'slow';
      response.writeHead(200, { 'content-type': multipartType(boundary) });
      response.write(
        Buffer.concat([
          manifestHead(boundary),
          Buffer.from(JSON.stringify({ items: [uploadEntry('s.txt', 'x'.repeat(100))] })),
        ]),
      );
      response.write(contentHead(boundary, 0));
      // One byte every 50 ms: the socket is never idle, yet 100 bytes would take 5 s.
      const timer = setInterval(() => response.write('x'), 50);
      response.on('close', () => clearInterval(timer));
    });
    const { api } = client(server, 400);
    const out = await mkdtemp(join(folder, 'slow-'));
    const started = Date.now();
    const error = await api
      .fetchFiles([{ kind: 'upload', key: 's.txt', expect: { size: 100 } }], [join(out, 's')])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransferDeadlineError);
    expect(Date.now() - started).toBeLessThan(4000);
    expect(await readdir(out)).toEqual([]);
  });
});
