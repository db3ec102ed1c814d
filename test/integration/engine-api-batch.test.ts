// The engine's batch calls against the real sync endpoints (startTestPlatform): putBatch with every outcome of a
// single PUT in one batch, fetchFiles into checked and fsynced files, the limits, a whole answer that is cut, a stop.

import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Account } from '../../server-endpoints/types.js';
import { type ApiClient, type BatchPutItem, createApiClient, type FetchFileItem } from '../../sync-engine/endpoints.js';
import {
  type ApiError,
  type ConflictError,
  EngineError,
  type TransferIntegrityError,
} from '../../sync-engine/errors.js';
import { sha256Hex, startTestPlatform, type TestPlatform } from '../helpers/platform.js';

const HOUR = 60 * 60 * 1000;
let platform: TestPlatform;
let folder: string;
const clients: ApiClient[] = [];

beforeAll(async () => {
  platform = await startTestPlatform();
  folder = await mkdtemp(join(tmpdir(), 'engine-api-batch-'));
});
afterAll(async () => {
  for (const client of clients) client.close();
  await platform.close();
  await rm(folder, { recursive: true, force: true });
});

async function clientFor(who: Account): Promise<ApiClient> {
  const token = await platform.tokenFor(who);
  const api = createApiClient({
    origin: platform.url,
    getToken: () => ({
      token,
      origin: platform.url,
      expiresAt: new Date(Date.now() + 10 * 24 * HOUR).toISOString(),
      obtainedAtMs: Date.now(),
    }),
    clientVersion: '0.1.0',
    timeoutMs: 5000,
    retryDelaysMs: [10, 10],
  });
  clients.push(api);
  return api;
}

/** A batch item of `text`, stamped now (or `ageMs` ago) in the platform's time. */
function item(
  api: ApiClient,
  kind: 'site' | 'upload',
  key: string,
  text: string | Buffer,
  more: Partial<BatchPutItem> & { ageMs?: number } = {},
): BatchPutItem {
  const content = Buffer.from(text);
  const { ageMs = 0, ...rest } = more;
  return {
    kind,
    key,
    size: content.length,
    sha256: sha256Hex(content),
    baseVersion: 0,
    modifiedAtIso: new Date(api.toServerTime(Date.now() - ageMs)).toISOString(),
    read: async () => content,
    ...rest,
  };
}

const single = (api: ApiClient, one: BatchPutItem) =>
  one.read().then((content) => api.putFile(one.kind, one.key, { ...one, content }));

describe('putBatch against the real platform', () => {
  it("gives each item the outcome its putFile would have, in one request; local failures stay the item's own", async () => {
    const ada = platform.addAccount({ email: 'ada@example.com', maxSites: 3, maxStorageBytes: 1000 });
    const api = await clientFor(ada);
    await single(api, item(api, 'site', 'pb-saved', 'v1'));
    await single(api, item(api, 'site', 'pb-same', 'same'));
    await single(api, item(api, 'upload', 'pb/conflict.txt', 'server copy'));
    await api.putFolder('pb/folder');
    const bob = await clientFor(platform.addAccount({ email: 'bob@example.com' }));
    await single(bob, item(bob, 'site', 'pb-bobs', 'bob'));
    const outcomes = await api.putBatch([
      item(api, 'site', 'pb-saved', 'v2', { baseVersion: 1 }),
      item(api, 'site', 'pb-new', 'new', { localPath: 'blog/pb-new.html' }),
      item(api, 'site', 'pb-same', 'same', { baseVersion: 1 }),
      item(api, 'upload', 'pb/conflict.txt', 'stale edit', { ageMs: HOUR }),
      item(api, 'upload', 'pb/folder', 'a file over a folder'),
      item(api, 'site', 'pb-bobs', 'mine'),
      item(api, 'site', 'pb-fourth', 'one site too many'),
      item(api, 'upload', 'pb/huge.bin', 'x'.repeat(1001)),
      item(api, 'site', 'Not A Name', 'x'),
      item(api, 'upload', 'pb/bad:name.txt', 'x'),
      item(api, 'upload', 'pb/unreadable.txt', 'x', {
        read: () => Promise.reject(new Error('EACCES: permission denied')),
      }),
      item(api, 'upload', 'pb/changed.txt', 'as hashed', { read: async () => Buffer.from('edited since') }),
      item(api, 'upload', 'pb/fine.txt', 'fine'),
    ]);
    const summary = outcomes.map((o) =>
      o.ok ? [o.value.status, o.value.entry.version] : [o.error.constructor.name, (o.error as EngineError).code],
    );
    expect(summary).toEqual([
      ['saved', 2],
      ['created', 1],
      ['unchanged', 1],
      ['ConflictError', 'conflict'],
      ['ApiError', 'path_conflict'],
      ['ApiError', 'name_taken'],
      ['ApiError', 'site_limit_reached'],
      ['ApiError', 'storage_limit_reached'],
      ['EngineError', 'invalid_name'],
      ['EngineError', 'invalid_path'],
      ['Error', undefined],
      ['EngineError', 'changed_locally'],
      ['created', 1],
    ]);
    const conflict = outcomes[3]!;
    expect(!conflict.ok && (conflict.error as ConflictError).current).toMatchObject({
      path: 'pb/conflict.txt',
      version: 1,
    });
    expect(!outcomes[10]!.ok && outcomes[10]!.error.message).toMatch(/EACCES/);
    expect(!outcomes[7]!.ok && (outcomes[7]!.error as ApiError).status).toBe(403);
    expect(outcomes[1]!.ok && outcomes[1]!.value.entry.path).toBe('blog/pb-new.html');
    // Nothing of the items that failed reached the platform; the rest did.
    const listing = await api.changes({ session: 's', cursor: '0' });
    const paths = listing.entries.map((entry) => entry.path).sort();
    expect(paths).toEqual([
      'blog/pb-new.html',
      'pb',
      'pb-same.html',
      'pb-saved.html',
      'pb/conflict.txt',
      'pb/fine.txt',
      'pb/folder',
    ]);
  });

  it('refuses more than 1,000 items or 20 MiB before sending anything', async () => {
    const api = await clientFor(platform.addAccount({ email: 'limits@example.com' }));
    const many = Array.from({ length: 1001 }, (_, i) => item(api, 'upload', `m/${i}.txt`, 'x'));
    await expect(api.putBatch(many)).rejects.toBeInstanceOf(RangeError);
    const big = Buffer.alloc(10 * 1024 * 1024 + 1);
    await expect(api.putBatch([item(api, 'upload', 'a.bin', big), item(api, 'upload', 'b.bin', big)])).rejects.toThrow(
      /at most 20971520 bytes/,
    );
    const wanted: FetchFileItem[] = [{ kind: 'upload', key: 'a.bin', expect: { size: 21 * 1024 * 1024 } }];
    await expect(api.fetchFiles(wanted, [join(folder, 'x')])).rejects.toBeInstanceOf(RangeError);
    expect((await api.changes({ session: 's', cursor: '0' })).entries).toEqual([]);
  });

  it("a stopped engine's batch is aborted at once", async () => {
    const api = (await clientFor(platform.addAccount({ email: 'stop@example.com' }))).scoped();
    let reading: () => void = () => {};
    const started = new Promise<void>((resolve) => {
      reading = resolve;
    });
    const stuck = item(api, 'upload', 'stuck.txt', 'x', {
      read: () => {
        reading();
        return new Promise<Buffer>(() => {});
      },
    });
    const batch = api.putBatch([item(api, 'upload', 'first.txt', 'x'), stuck]);
    await started;
    api.close();
    await expect(batch).rejects.toMatchObject({ code: 'client_closed' });
  });
});

describe('fetchFiles against the real platform', () => {
  it('writes each found file checked and complete, an older version by number, and each failure in place', async () => {
    const api = await clientFor(platform.addAccount({ email: 'fetch@example.com' }));
    const saved = await api.putBatch([
      item(api, 'site', 'fb-page', '<p>one</p>'),
      item(api, 'upload', 'fb/data.bin', Buffer.from([0, 13, 10, 45, 45, 255])),
      item(api, 'upload', 'fb/empty.txt', ''),
    ]);
    const [page, data, empty] = saved.map((o) => (o.ok ? o.value.entry : null));
    await single(api, item(api, 'site', 'fb-page', '<p>two</p>', { baseVersion: 1 }));
    const out = join(folder, 'fetch');
    await rm(out, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(out));
    const wanted: FetchFileItem[] = [
      { kind: 'site', key: 'fb-page', expect: { size: 10 } },
      { kind: 'upload', key: 'fb/data.bin', expect: { size: data!.size!, sha256: data!.sha256! } },
      { kind: 'site', key: 'fb-page', version: 1, expect: { size: page!.size!, sha256: page!.sha256!, version: 1 } },
      { kind: 'upload', key: 'fb/missing.bin', expect: { size: 3 } },
      { kind: 'site', key: 'fb-page', expect: { size: page!.size!, sha256: page!.sha256! } },
      { kind: 'upload', key: 'fb/data.bin', expect: { size: 99 } },
      { kind: 'upload', key: 'fb/empty.txt', expect: { size: 0, sha256: empty!.sha256! } },
      { kind: 'site', key: 'Bad Name', expect: { size: 1 } },
    ];
    const files = wanted.map((_, i) => join(out, `.item-${i}.tmp`));
    const outcomes = await api.fetchFiles(wanted, files);
    const summary = outcomes.map((o) =>
      o.ok
        ? ['ok', o.value.version, o.value.size]
        : [o.error.constructor.name, (o.error as TransferIntegrityError).reason ?? (o.error as EngineError).code],
    );
    expect(summary).toEqual([
      ['ok', 2, 10],
      ['ok', 1, 6],
      ['ok', 1, 10],
      ['ApiError', 'not_found'],
      ['TransferIntegrityError', 'changed'],
      ['TransferIntegrityError', 'size'],
      ['ok', 1, 0],
      ['EngineError', 'invalid_name'],
    ]);
    expect(outcomes[0]!.ok && outcomes[0]!.value).toMatchObject({
      kind: 'site',
      name: 'fb-page',
      path: 'fb-page.html',
    });
    expect((await readFile(files[0]!)).toString()).toBe('<p>two</p>');
    expect([...(await readFile(files[1]!))]).toEqual([0, 13, 10, 45, 45, 255]);
    expect((await readFile(files[2]!)).toString()).toBe('<p>one</p>');
    expect((await readFile(files[6]!)).length).toBe(0);
    expect((await readdir(out)).sort()).toEqual(['.item-0.tmp', '.item-1.tmp', '.item-2.tmp', '.item-6.tmp']);
  });

  it('an answer cut in the middle is a failure of the whole fetch: thrown, and no file of it is left', async () => {
    const owner = platform.addAccount({ email: 'cut@example.com' });
    const api = await clientFor(owner);
    await api.putBatch([item(api, 'upload', 'cut/a.txt', 'first'), item(api, 'upload', 'cut/b.txt', 'second')]);
    // The second file's content is gone from the platform's disk: the answer breaks off after the first.
    const blob = join(platform.dir, 'sync', 'blobs', sha256Hex('second').slice(0, 2), sha256Hex('second'));
    await rm(blob);
    const out = await mkdtemp(join(folder, 'cut-'));
    const wanted: FetchFileItem[] = [
      { kind: 'upload', key: 'cut/a.txt', expect: { size: 5 } },
      { kind: 'upload', key: 'cut/b.txt', expect: { size: 6 } },
    ];
    const error = await api.fetchFiles(wanted, [join(out, 'a'), join(out, 'b')]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineError);
    expect(await readdir(out)).toEqual([]);
  });
});
