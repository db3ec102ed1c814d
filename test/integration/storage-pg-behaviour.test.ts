// The storage behaviour suite against PostgreSQL + S3 (a throwaway cluster and the S3 double), and what only this
// storage has: the object store failing under a write, and the S3 BlobStore itself.

import { describe, expect, it } from 'vitest';
import { openPostgresStorage } from '../../server-endpoints/storage/postgres.js';
import { openS3BlobStore, s3OptionsFromUrl } from '../../server-endpoints/storage/s3.js';
import { changesPage, drainFeed } from '../helpers/feed.js';
import { type SyncApi, sha256Hex, syncApi } from '../helpers/platform.js';
import { type PgPlatform, startPgPlatform } from '../helpers/postgres.js';
import { describeStorageBehaviour, type PlatformUnderTest } from '../helpers/storage-suite.js';

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
    holdsContent: async (sha256) => platform.s3.keys().includes(blobKey('', sha256)),
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

describe('PUT outcomes on PostgreSQL + S3', () => {
  it('the object store down: the write fails (500) before any metadata, and succeeds once it is back', async () => {
    const { api } = await newAccount('s3down@example.com');
    const head = (await drainFeed(api, '0')).cursor;
    pg.s3.failWith(503);
    try {
      const put = await api.putSite('pg-s3-down', 'content');
      expect(put.status).toBe(500);
    } finally {
      pg.s3.failWith(null);
    }
    expect((await api.get('/sync/sites/pg-s3-down')).status).toBe(404);
    expect(await pg.storage.siteOwner('pg-s3-down')).toBeNull();
    expect((await changesPage(api, head)).entries).toEqual([]);
    expect((await api.putSite('pg-s3-down', 'content')).status).toBe(201);
  });
});

describe('the S3 BlobStore (real AWS SDK against the S3 double)', () => {
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
      expect(pg.s3.keys()).toContain(`direct/blobs/${sha.slice(0, 2)}/${sha}`);
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
    pg.s3.stall(true);
    try {
      await expect(blobs.head(sha256Hex('anything'))).rejects.toThrow();
    } finally {
      pg.s3.stall(false);
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

  it('the double refuses an unsigned request with an S3 XML error', async () => {
    const response = await fetch(`${pg.s3.endpoint}/${pg.s3.bucket}/anything`);
    expect(response.status).toBe(403);
    expect(await response.text()).toContain('<Code>AccessDenied</Code>');
  });
});
