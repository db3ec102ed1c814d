// The storage behaviour suite's batches through the real endpoints: POST /sync/batch item by item exactly as the
// single PUTs, its limits, POST /sync/fetch, bodies that stall, and concurrent writers sharing flushes (group
// commit) with every acknowledged version kept and a feed without gaps.

import { request as httpRequest } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { Entry } from '../../protocol/index.js';
import { batchBody, postBatch, postFetch, type RawBatchItem } from './batch-http.js';
import { drainFeed, errorCode } from './feed.js';
import { type ApiResponse, type SyncApi, sha256Hex } from './platform.js';
import type { PlatformUnderTest } from './storage-suite.js';

type NewAccount = (
  email: string,
  limits?: { maxSites?: number; maxStorageBytes?: number },
) => Promise<{ id: string; api: SyncApi; token: string }>;

export function describeBatches(name: string, platform: () => PlatformUnderTest, newAccount: NewAccount): void {
  describeBatchOutcomes(name, newAccount);
  describeFetch(name, platform, newAccount);
  describeStalls(name, platform, newAccount);
  describeGroupCommit(name, platform, newAccount);
}

/** What a single PUT answered, as a batch result would carry it. */
function asResult(response: ApiResponse): { status: number; entry?: unknown; error?: unknown } {
  return response.status < 300
    ? { status: response.status, entry: response.json }
    : { status: response.status, error: response.json.error };
}

function describeBatchOutcomes(name: string, newAccount: NewAccount): void {
  describe(`${name}: POST /sync/batch`, () => {
    it('answers every item exactly as its single PUT, in order; a later item sees an earlier one', async () => {
      const { api } = await newAccount('batch@example.com', { maxSites: 3, maxStorageBytes: 100 });
      await api.putSite('bt-saved', 'v1');
      await api.putSite('bt-same', 'same');
      const server = await api.putUpload('docs/conflict.txt', 'server');
      await api.putFolder('bt-folder');
      const other = await newAccount('batch-other@example.com');
      await other.api.putSite('bt-taken', 'theirs');
      const items: RawBatchItem[] = [
        { kind: 'site', name: 'bt-saved', content: 'v2', baseVersion: 1 },
        { kind: 'site', name: 'bt-new', content: 'new', xPath: 'Blog/BT-New.html' },
        { kind: 'site', name: 'bt-same', content: 'same', modifiedAt: 0 },
        { kind: 'upload', path: 'docs/conflict.txt', content: 'mine', modifiedAt: 0 },
        { kind: 'upload', path: 'bt-folder', content: 'x' },
        { kind: 'site', name: 'bt-taken', content: 'x' },
        { kind: 'site', name: 'bt-limit', content: 'x' },
        { kind: 'upload', path: 'big.bin', content: 'y'.repeat(100) },
        { kind: 'site', name: 'Bad Name!', content: 'x' },
        { kind: 'upload', path: 'bad/na:me.txt', content: 'x' },
        { kind: 'upload', path: 'ok/sha.txt', content: 'abc', sha256: sha256Hex('xyz') },
        { kind: 'upload', path: 'ok/base.txt', content: 'x', baseVersion: -1 },
        { kind: 'site', name: 'bt-saved', content: 'v3', baseVersion: 2 },
        { kind: 'upload', path: 'page.html', content: 'x' },
      ];
      const batch = await postBatch(api, items);
      expect(batch.status).toBe(200);
      const { results } = batch;
      expect(results.map((r) => [r.status, r.error?.code ?? null])).toEqual([
        [200, null],
        [201, null],
        [200, null],
        [409, 'conflict'],
        [409, 'path_conflict'],
        [409, 'name_taken'],
        [403, 'site_limit_reached'],
        [403, 'storage_limit_reached'],
        [400, 'invalid_name'],
        [400, 'invalid_path'],
        [400, 'bad_request'],
        [400, 'bad_request'],
        [200, null],
        [400, 'invalid_path'],
      ]);
      expect(results[0]!.entry).toMatchObject({ name: 'bt-saved', version: 2, sha256: sha256Hex('v2') });
      expect(results[1]!.entry).toMatchObject({ name: 'bt-new', path: 'Blog/bt-new.html', version: 1 });
      expect(results[2]!.entry).toMatchObject({ name: 'bt-same', version: 1 });
      expect(results[3]!.error).toMatchObject({ current: { path: 'docs/conflict.txt', version: 1 } });
      expect(results[3]!.error!.current).toEqual(server.json);
      expect(results[12]!.entry).toMatchObject({ name: 'bt-saved', version: 3, sha256: sha256Hex('v3') });
      // The refused items as single PUTs now (nothing they depend on changed): the very same status and body.
      const singles = [
        await api.putUpload('docs/conflict.txt', 'mine', { modifiedAt: 0 }),
        await api.putUpload('bt-folder', 'x'),
        await api.putSite('bt-taken', 'x'),
        await api.putSite('bt-limit', 'x'),
        await api.putUpload('big.bin', 'y'.repeat(100)),
        await api.putSite('Bad Name!', 'x'),
        await api.putUpload('bad/na:me.txt', 'x'),
        await api.putUpload('ok/sha.txt', 'abc', { sha256: sha256Hex('xyz') }),
        await api.putUpload('ok/base.txt', 'x', { baseVersion: -1 }),
        await api.putUpload('page.html', 'x'),
      ];
      expect(singles.map(asResult)).toEqual([...results.slice(3, 12), results[13]]);
      expect((await api.putSite('bt-same', 'same', { modifiedAt: 0 })).json).toEqual(results[2]!.entry);
      // What the batch saved is what the platform holds, with every replaced version kept.
      expect((await api.get('/sync/sites/bt-saved')).body.toString()).toBe('v3');
      const versions = (await api.get('/sync/sites/bt-saved/versions')).json.versions as Array<{ version: number }>;
      expect(versions.map((v) => v.version)).toEqual([1, 2]);
      expect((await api.get('/sync/sites/bt-new')).body.toString()).toBe('new');
      expect((await other.api.get('/sync/sites/bt-taken')).body.toString()).toBe('theirs');
    });

    it('refuses a malformed batch, over 1,000 items or over 20 MiB of content as a whole, committing nothing', async () => {
      const { api } = await newAccount('batch-limits@example.com');
      const head = (await drainFeed(api, '0')).cursor;
      const one = (path: string, content: string | Buffer = 'x'): RawBatchItem => ({ kind: 'upload', path, content });
      const many = Array.from({ length: 1001 }, (_, i) => one(`many/${i}.txt`));
      const tooMany = await postBatch(api, many);
      expect([tooMany.status, errorCode(tooMany.json)]).toEqual([400, 'bad_request']);
      const half = Buffer.alloc(10 * 1024 * 1024, 1);
      const over = await postBatch(api, [
        one('big/a.bin', half),
        one('big/b.bin', Buffer.concat([half, Buffer.alloc(1)])),
      ]);
      expect([over.status, errorCode(over.json)]).toEqual([413, 'too_large']);
      const short = batchBody([one('cut/a.txt'), one('cut/b.txt')], 1);
      const fewer = await api.request('POST', '/sync/batch', {
        body: short.body,
        headers: { 'content-type': short.type },
      });
      expect([fewer.status, errorCode(fewer.json)]).toEqual([400, 'bad_request']);
      const whole = batchBody([one('cut/a.txt'), one('cut/b.txt')]);
      const cutBody = whole.body.subarray(0, whole.body.length - 10);
      const cut = await api.request('POST', '/sync/batch', { body: cutBody, headers: { 'content-type': whole.type } });
      expect([cut.status, errorCode(cut.json)]).toEqual([400, 'bad_request']);
      const json = await api.request('POST', '/sync/batch', {
        body: '{}',
        headers: { 'content-type': 'application/json' },
      });
      expect([json.status, errorCode(json.json)]).toEqual([400, 'bad_request']);
      const notJson = batchBody([one('nj.txt')]);
      const broken = Buffer.from(notJson.body.toString('latin1').replace('{"items"', '{items'), 'latin1');
      const badManifest = await api.request('POST', '/sync/batch', {
        body: broken,
        headers: { 'content-type': notJson.type },
      });
      expect([badManifest.status, errorCode(badManifest.json)]).toEqual([400, 'bad_request']);
      expect((await drainFeed(api, head)).entries).toEqual([]);
      expect((await postBatch(api, [])).results).toEqual([]);
    });
  });
}

function describeFetch(name: string, platform: () => PlatformUnderTest, newAccount: NewAccount): void {
  describe(`${name}: POST /sync/fetch`, () => {
    it('sends each found file after the manifest in order, an older version by number, and each error in place', async () => {
      const { api } = await newAccount('fetch@example.com');
      await api.putSite('ft-one', 'one');
      await api.putSite('ft-one', 'two', { baseVersion: 1 });
      const bytes = Buffer.from([0, 1, 2, 13, 10, 45, 45, 255]);
      await api.putUpload('f/a.bin', bytes);
      const other = await newAccount('fetch-other@example.com');
      await other.api.putUpload('f/theirs.bin', 'not yours');
      const answer = await postFetch(api, [
        { kind: 'site', name: 'ft-one' },
        { kind: 'upload', path: 'f/a.bin' },
        { kind: 'upload', path: 'f/missing.bin' },
        { kind: 'site', name: 'Bad!' },
        { kind: 'site', name: 'ft-one', version: 1 },
        { kind: 'site', name: 'ft-one', version: 9 },
        { kind: 'folder', path: 'f' },
        { kind: 'upload', path: 'f/theirs.bin' },
      ]);
      expect(answer.status).toBe(200);
      const codes = answer.items.map((item) => ('error' in item ? item.error.code : (item as Entry).version));
      expect(codes).toEqual([2, 1, 'not_found', 'invalid_name', 1, 'not_found', 'bad_request', 'not_found']);
      const listed = (await drainFeed(api, '0')).entries;
      expect(answer.items[0]).toEqual(listed.find((entry) => entry.name === 'ft-one'));
      expect(answer.items[1]).toEqual(listed.find((entry) => entry.path === 'f/a.bin'));
      expect(answer.items[4]).toMatchObject({ name: 'ft-one', path: 'ft-one.html', sha256: sha256Hex('one'), size: 3 });
      expect(answer.contents.map((c) => c.toString('latin1'))).toEqual(['two', bytes.toString('latin1'), 'one']);
    });

    it('a fetch whose files hold more than 64 MiB is 413 too_large', async () => {
      const { id, api } = await newAccount('fetch-big@example.com');
      // One 16.5 MiB file asked for four times holds 66 MiB: the limit counts what would be sent.
      const content = Buffer.alloc(16.5 * 1024 * 1024, 7);
      await platform().storage.writeFile({
        accountId: id,
        kind: 'upload',
        key: 'big.bin',
        path: 'big.bin',
        content,
        sha256: sha256Hex(content),
        baseVersion: 0,
        modifiedAtMs: Date.now(),
        limits: { maxSites: null, maxStorageBytes: null },
      });
      const item = { kind: 'upload', path: 'big.bin' };
      const over = await postFetch(api, [item, item, item, item]);
      expect([over.status, errorCode(over.json)]).toEqual([413, 'too_large']);
      const under = await postFetch(api, [item, item]);
      expect(under.status).toBe(200);
      expect(under.contents.map((c) => c.equals(content))).toEqual([true, true]);
    }, 90_000);
  });
}

/** Sends the head of a request and `first` bytes of its body, then nothing more; resolves with the answer. */
function stallingRequest(
  url: string,
  path: string,
  headers: Record<string, string>,
  first: Buffer,
): Promise<{ status: number; body: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}${path}`, { method: path.includes('batch') ? 'POST' : 'PUT', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), ms: Date.now() - started });
      });
    });
    req.on('error', reject);
    req.write(first);
  });
}

function describeStalls(name: string, platform: () => PlatformUnderTest, newAccount: NewAccount): void {
  describe(`${name}: request bodies that stop arriving`, () => {
    it('a PUT or a batch whose body stalls after its first bytes is dropped with 400 and writes nothing', async () => {
      const { api, token } = await newAccount('stall@example.com');
      const head = (await drainFeed(api, '0')).cursor;
      const auth = { authorization: `Bearer ${token}` };
      const put = await stallingRequest(
        platform().url,
        '/sync/uploads/stall/put.bin',
        {
          ...auth,
          'content-length': '100000',
          'x-base-version': '0',
          'x-modified-at': new Date().toISOString(),
          'content-sha256': sha256Hex('whatever'),
        },
        Buffer.alloc(1000, 1),
      );
      expect([put.status, JSON.parse(put.body).error.code]).toEqual([400, 'bad_request']);
      expect(JSON.parse(put.body).error.message).toMatch(/stopped arriving/);
      const { body, type } = batchBody([{ kind: 'upload', path: 'stall/batch.bin', content: Buffer.alloc(5000, 2) }]);
      const batch = await stallingRequest(
        platform().url,
        '/sync/batch',
        { ...auth, 'content-type': type, 'content-length': String(body.length) },
        body.subarray(0, body.length - 2000),
      );
      expect([batch.status, JSON.parse(batch.body).error.code]).toEqual([400, 'bad_request']);
      expect((await drainFeed(api, head)).entries).toEqual([]);
    });
  });
}

interface Ack {
  kind: 'site' | 'upload';
  key: string;
  version: number;
  sha256: string;
  seq: number;
}

function describeGroupCommit(name: string, platform: () => PlatformUnderTest, newAccount: NewAccount): void {
  describe(`${name}: concurrent writers (group commit)`, () => {
    it('single PUTs and batches at once: every acknowledged version is kept and the feed has no gap', async () => {
      const { id, api } = await newAccount('group@example.com');
      const start = (await drainFeed(api, '0')).cursor;
      const acks: Ack[] = [];
      const single = async (w: number): Promise<void> => {
        const versions = new Map<string, number>();
        for (let i = 0; i < 12; i++) {
          const site = i % 2 === 0;
          const key = site ? `gc-w${w}-${i % 3}` : `gc/w${w}/${i % 3}.bin`;
          const content = `writer ${w} write ${i}`;
          const options = { baseVersion: versions.get(key) ?? 0 };
          const put = site ? await api.putSite(key, content, options) : await api.putUpload(key, content, options);
          expect([key, put.status]).toEqual([key, versions.has(key) ? 200 : 201]);
          const entry = put.json as unknown as Entry;
          versions.set(key, entry.version!);
          acks.push({
            kind: site ? 'site' : 'upload',
            key,
            version: entry.version!,
            sha256: sha256Hex(content),
            seq: entry.seq,
          });
        }
      };
      const batches = async (w: number): Promise<void> => {
        for (let b = 0; b < 4; b++) {
          const items: RawBatchItem[] = Array.from({ length: 6 }, (_, i) => ({
            kind: 'upload',
            path: `gc/batch${w}/${b}-${i}.bin`,
            content: `batch ${w} ${b} ${i}`,
          }));
          const answer = await postBatch(api, items);
          expect(answer.results.map((r) => r.status)).toEqual(items.map(() => 201));
          answer.results.forEach((r, i) => {
            acks.push({
              kind: 'upload',
              key: items[i]!.path!,
              version: 1,
              sha256: sha256Hex(items[i]!.content),
              seq: r.entry!.seq,
            });
          });
        }
      };
      await Promise.all([...[0, 1, 2, 3, 4, 5].map(single), ...[0, 1].map(batches)]);
      // Every write was saved, so the acknowledged seqs are exactly 1..N: none skipped, none given twice.
      const seqs = acks.map((ack) => ack.seq).sort((a, b) => a - b);
      expect(seqs).toEqual(Array.from({ length: acks.length }, (_, i) => i + 1));
      for (const ack of acks) {
        const content = await platform().storage.readVersion(id, { kind: ack.kind, key: ack.key }, ack.version);
        expect([ack.key, ack.version, content && sha256Hex(content)]).toEqual([ack.key, ack.version, ack.sha256]);
      }
      const feed = (await drainFeed(api, start, 7)).entries;
      const feedSeqs = feed.map((entry) => entry.seq);
      expect([...feedSeqs].sort((a, b) => a - b)).toEqual(feedSeqs);
      expect(new Set(feedSeqs).size).toBe(feedSeqs.length);
      const lastAck = new Map<string, number>();
      for (const ack of acks)
        lastAck.set(`${ack.kind}:${ack.key}`, Math.max(lastAck.get(`${ack.kind}:${ack.key}`) ?? 0, ack.seq));
      const inFeed = new Map(feed.map((e) => [`${e.kind}:${e.kind === 'site' ? e.name : e.path}`, e.seq]));
      expect(inFeed).toEqual(lastAck);
    });
  });
}
