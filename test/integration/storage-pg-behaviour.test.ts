// The storage behaviour suite against PostgreSQL + S3 (a throwaway cluster and a real S3-compatible server), and
// what only this storage has: the object store failing under a write, and the S3 BlobStore itself.

import { describe, expect, it } from 'vitest';
import { type BlobStore, openPostgresStorage } from '../../server-endpoints/storage/postgres.js';
import { openS3BlobStore, s3OptionsFromUrl } from '../../server-endpoints/storage/s3.js';
import { isStorageUnavailable } from '../../server-endpoints/storage/unavailable.js';
import { changesPage, drainFeed } from '../helpers/feed.js';
import { type SyncApi, sha256Hex, syncApi } from '../helpers/platform.js';
import { type PgPlatform, startPgPlatform } from '../helpers/postgres.js';
import { describeStorageBehaviour, type PlatformUnderTest, write } from '../helpers/storage-suite.js';

/** Where the S3 BlobStore with `prefix` keeps the content of `sha256`. */
const blobKey = (prefix: string, sha256: string): string => `${prefix}blobs/${sha256.slice(0, 2)}/${sha256}`;

let pg: PgPlatform;

describeStorageBehaviour('PostgreSQL + S3', async (options) => {
  pg = await startPgPlatform(options);
  return underTest(pg);
});

/** Each storage the suite opens gets its own database and its own prefix in the bucket. */
function underTest(platform: PgPlatform): PlatformUnderTest {
  const databases = new Map<string, string>();
  return {
    url: platform.url,
    storage: platform.storage,
    authStore: platform.nodes[0]!.authStore,
    addAccount: (spec) => platform.addAccount(spec),
    tokenFor: (account) => platform.tokenFor(account),
    loseContent: async (sha256) => platform.s3.removeObject(blobKey('', sha256)),
    holdsContent: async (sha256) => (await platform.s3.keys()).includes(blobKey('', sha256)),
    async openStorage({ place, ...options }) {
      const name = place ?? `store_${databases.size + 1}`;
      const connectionString = databases.get(name) ?? (await platform.postgres.createDatabase(name));
      databases.set(name, connectionString);
      const { endpoint, bucket, credentials } = platform.s3;
      const prefix = `${name}/`;
      const storage = await openPostgresStorage({
        ...options,
        connectionString,
        blobs: openS3BlobStore({ endpoint, bucket, credentials, prefix }),
        purgeEveryMs: 0,
      });
      return {
        storage,
        place: name,
        loseContent: async (sha256) => platform.s3.removeObject(blobKey(prefix, sha256)),
      };
    },
    close: () => platform.close(),
  };
}

async function newAccount(email: string): Promise<{ id: string; api: SyncApi }> {
  const account = pg.addAccount({ email });
  return { id: account.id, api: syncApi(pg.url, await pg.tokenFor(account)) };
}

describe('PostgreSQL or the object store going away', () => {
  it('the object store down: writes answer 503 before any metadata; once it is back they succeed and old content is served', async () => {
    const { api } = await newAccount('s3down@example.com');
    expect((await api.putSite('pg-s3-before', 'stored before')).status).toBe(201);
    const head = (await drainFeed(api, '0')).cursor;
    await pg.s3.stop();
    try {
      const put = await api.putSite('pg-s3-down', 'content');
      expect([put.status, put.json.error]).toEqual([503, expect.objectContaining({ code: 'unavailable' })]);
      expect(put.headers.get('retry-after')).toBe('1');
    } finally {
      await pg.s3.start();
    }
    expect((await api.get('/sync/sites/pg-s3-down')).status).toBe(404);
    expect(await pg.storage.siteOwner('pg-s3-down')).toBeNull();
    expect((await changesPage(api, head)).entries).toEqual([]);
    expect((await api.putSite('pg-s3-down', 'content')).status).toBe(201);
    const before = await api.get('/sync/sites/pg-s3-before');
    expect([before.status, before.body.toString()]).toEqual([200, 'stored before']);
  });

  it('PostgreSQL shut down: writes and polls answer 503; once it is back the same processes resume, nothing lost, long-polls woken again', async () => {
    const { api } = await newAccount('pgdown@example.com');
    const first = await api.putSite('pg-down-first', 'first');
    expect(first.status).toBe(201);
    await pg.postgres.halt('fast');
    try {
      const put = await api.putSite('pg-down-second', 'second');
      expect([put.status, put.json.error]).toEqual([503, expect.objectContaining({ code: 'unavailable' })]);
      const poll = await api.changes('0');
      expect(poll.status).toBe(503);
    } finally {
      await pg.postgres.resume();
    }
    const second = await api.putSite('pg-down-second', 'second');
    expect(second.status).toBe(201);
    const { entries, cursor } = await drainFeed(api, '0');
    expect(entries.map((e) => e.name).sort()).toEqual(['pg-down-first', 'pg-down-second']);
    // The change notifications listen again: a long-poll is answered by the next write, not by its timeout.
    const waiting = api.changes(cursor, { wait: 25 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await api.putSite('pg-down-third', 'third')).status).toBe(201);
    const woken = await waiting;
    expect(woken.json.entries).toMatchObject([{ name: 'pg-down-third', seq: (second.json.seq as number) + 1 }]);
  });
});

/** The S3 BlobStore whose head() (the backup check, inside the write's transaction) waits while `held`. */
function heldBlobs(prefix: string) {
  const s3 = openS3BlobStore({
    endpoint: pg.s3.endpoint,
    bucket: pg.s3.bucket,
    credentials: pg.s3.credentials,
    prefix,
  });
  let release = () => {};
  let reached = () => {};
  const state = { held: false, reached: new Promise<void>((r) => (reached = r)) };
  const blobs: BlobStore = {
    put: (sha, content) => s3.put(sha, content),
    get: (sha) => s3.get(sha),
    delete: (sha) => s3.delete(sha),
    close: () => s3.close(),
    async head(sha) {
      if (state.held) {
        reached();
        await new Promise<void>((r) => (release = r));
      }
      return s3.head(sha);
    },
  };
  return { blobs, state, release: () => release() };
}

describe('PostgreSQL going away under a write', () => {
  it('while a write holds its transaction between statements: the write fails as unavailable, the process lives on, the next write works', async () => {
    const connectionString = await pg.postgres.createDatabase('held_transaction');
    const held = heldBlobs('held/');
    const storage = await openPostgresStorage({ connectionString, blobs: held.blobs, purgeEveryMs: 0 });
    try {
      expect((await storage.writeFile(write('site', 'held', 'v1'))).outcome).toBe('created');
      held.state.held = true;
      // A save replaces v1: its transaction takes the account's lock, then checks v1's object (held here).
      const saving = storage.writeFile(write('site', 'held', 'v2', { baseVersion: 1 })).then(
        () => null,
        (error: unknown) => error,
      );
      await held.state.reached;
      // Before the fix, the held connection's 'error' event had no listener and ended the test process.
      await pg.postgres.halt('fast');
      held.state.held = false;
      held.release();
      const failure = await saving;
      expect(isStorageUnavailable(failure)).toBe(true);
    } finally {
      await pg.postgres.resume();
    }
    const retried = await storage.writeFile(write('site', 'held', 'v2', { baseVersion: 1 }));
    expect([retried.outcome, retried.outcome === 'saved' && retried.entry.version]).toEqual(['saved', 2]);
    await storage.close();
  });
});

describe('PostgreSQL: the search index of a database from before it (schema 1)', () => {
  it('is built on open for the files stored before it, once; they are found afterwards', {
    timeout: 180_000,
  }, async () => {
    const connectionString = await pg.postgres.createDatabase('search_upgrade');
    const { endpoint, bucket, credentials } = pg.s3;
    const open = (log?: (line: string) => void) =>
      openPostgresStorage({
        connectionString,
        blobs: openS3BlobStore({ endpoint, bucket, credentials, prefix: 'search_upgrade/' }),
        purgeEveryMs: 0,
        ...(log ? { log } : {}),
      });
    const first = await open();
    expect(await first.searchIndexBuilt).toBe(0);
    const old = Array.from({ length: 250 }, (_, i) => write('upload', `old/${i}.md`, `ancient note number${i}`));
    expect((await first.writeFiles(old)).every((outcome) => outcome.ok)).toBe(true);
    await first.writeFile(write('upload', 'old/photo.png', 'ancient pixels'));
    // As a schema-1 database: no search rows, the build not done.
    await first.pool.query('DELETE FROM sync_search; DELETE FROM sync_search_built');
    await first.close();
    const lines: string[] = [];
    const reopened = await open((line) => lines.push(line));
    expect(await reopened.searchIndexBuilt).toBe(250);
    expect(lines.filter((line) => line.startsWith('search index:'))).toEqual([
      expect.stringMatching(/^search index: built for 250 files stored before it, in \d+ ms$/),
    ]);
    expect((await reopened.search('acct-a', 'number249', 10)).map((r) => r.entry.path)).toEqual(['old/249.md']);
    expect(await reopened.search('acct-a', 'pixels', 10)).toEqual([]);
    await reopened.close();
    const again = await open();
    expect(await again.searchIndexBuilt).toBe(0);
    await again.close();
  });
});

describe('the S3 BlobStore (real AWS SDK against a real S3-compatible server)', () => {
  it('puts, heads, gets and deletes by sha256; missing is null; content under a wrong sha256 is refused', async () => {
    const blobs = openS3BlobStore({
      endpoint: pg.s3.endpoint,
      bucket: pg.s3.bucket,
      credentials: pg.s3.credentials,
      prefix: 'direct/',
    });
    try {
      const content = Buffer.from('blob store round trip');
      const sha = sha256Hex(content);
      expect(await blobs.head(sha)).toBeNull();
      expect(await blobs.get(sha)).toBeNull();
      await blobs.put(sha, content);
      expect(await pg.s3.keys('direct/')).toEqual([`direct/blobs/${sha.slice(0, 2)}/${sha}`]);
      expect(await blobs.head(sha)).toEqual({ size: content.length });
      expect((await blobs.get(sha))?.toString()).toBe('blob store round trip');
      await expect(blobs.put(sha256Hex('other'), content)).rejects.toMatchObject({ code: 'bad_blob' });
      await blobs.delete(sha);
      expect(await blobs.head(sha)).toBeNull();
    } finally {
      await blobs.close();
    }
  });

  it('a store that stops answering fails the call after the request timeout instead of hanging', async () => {
    const blobs = openS3BlobStore({
      endpoint: pg.s3.endpoint,
      bucket: pg.s3.bucket,
      credentials: pg.s3.credentials,
      requestTimeoutMs: 200,
    });
    pg.s3.freeze(true);
    try {
      await expect(blobs.head(sha256Hex('anything'))).rejects.toThrow();
    } finally {
      pg.s3.freeze(false);
      await blobs.close();
    }
  });

  it('wrong credentials: the store refuses the upload and nothing is stored', async () => {
    const blobs = openS3BlobStore({
      endpoint: pg.s3.endpoint,
      bucket: pg.s3.bucket,
      credentials: { accessKeyId: pg.s3.credentials.accessKeyId, secretAccessKey: 'not-the-secret' },
      prefix: 'refused/',
    });
    try {
      const content = Buffer.from('never stored');
      await expect(blobs.put(sha256Hex(content), content)).rejects.toMatchObject({ name: 'SignatureDoesNotMatch' });
      expect(await pg.s3.keys('refused/')).toEqual([]);
    } finally {
      await blobs.close();
    }
  });

  it('s3OptionsFromUrl reads endpoint, bucket, prefix and credentials; refuses a URL without a bucket', () => {
    expect(s3OptionsFromUrl('http://key:se%2Fcret@127.0.0.1:9000/bucket-one/some/prefix')).toEqual({
      endpoint: 'http://127.0.0.1:9000',
      bucket: 'bucket-one',
      forcePathStyle: true,
      prefix: 'some/prefix/',
      credentials: { accessKeyId: 'key', secretAccessKey: 'se/cret' },
    });
    expect(() => s3OptionsFromUrl('http://127.0.0.1:9000/')).toThrow(/bucket/);
    expect(() => s3OptionsFromUrl('ftp://127.0.0.1/bucket')).toThrow(/http/);
  });
});
