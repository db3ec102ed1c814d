// PROTOCOL.md: every lookup is scoped to the token's account. Account A's token against everything of B's.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiResponse, type SyncApi, startTestPlatform, syncApi, type TestPlatform } from '../helpers/platform.js';

const SECRET = 'B-ONLY-SECRET-CONTENT';
let platform: TestPlatform;
let a: SyncApi;
let b: SyncApi;
let bFeedCursor: string;
let bListingCursor: string;

beforeAll(async () => {
  platform = await startTestPlatform();
  const accountA = platform.addAccount({ email: 'a@example.com' });
  const accountB = platform.addAccount({ email: 'b@example.com' });
  a = syncApi(platform.url, await platform.tokenFor(accountA));
  b = syncApi(platform.url, await platform.tokenFor(accountB));
  await b.putSite('b-site', `<p>${SECRET} v1</p>`, { path: 'b-folder/b-site.html' });
  await b.putSite('b-site', `<p>${SECRET} v2</p>`, { baseVersion: 1 });
  await b.putUpload('b-folder/secret.txt', SECRET);
  await b.putFolder('b-only/empty');
  await a.putSite('a-site', 'mine');
  const bListing = await b.changes('0', { limit: 1 });
  bListingCursor = bListing.json.cursor as string;
  let cursor = bListingCursor;
  for (;;) {
    const next = await b.changes(cursor);
    cursor = next.json.cursor as string;
    if (!next.json.hasMore) break;
  }
  bFeedCursor = cursor;
});
afterAll(() => platform.close());

function expectNoLeak(response: ApiResponse): void {
  expect(response.body.toString('utf8')).not.toContain(SECRET);
  expect(response.headers.get('etag')).toBeNull();
}

describe("A's token against B's entries", () => {
  it("reads: B's site, upload and versions are 404", async () => {
    for (const route of ['/sync/sites/b-site', '/sync/uploads/b-folder/secret.txt', '/sync/sites/b-site/versions']) {
      const response = await a.get(route);
      expect([route, response.status]).toEqual([route, 404]);
      expectNoLeak(response);
    }
  });

  it("cursors: B's feed cursor and listing continuation are 410", async () => {
    for (const cursor of [bFeedCursor, bListingCursor]) {
      const response = await a.changes(cursor);
      expect(response.status).toBe(410);
      expectNoLeak(response);
    }
  });

  it("listings and the feed of A never hold B's entries", async () => {
    const listing = await a.changes('0');
    expect((listing.json.entries as { path: string }[]).map((e) => e.path)).toEqual(['a-site.html']);
    expectNoLeak(listing);
    const head = listing.json.cursor as string;
    await b.putUpload('b-folder/later.txt', `${SECRET} later`);
    const feed = await a.changes(head);
    expect(feed.json.entries).toEqual([]);
  });

  it("writes: B's site name is name_taken (B's content untouched); paths are per account", async () => {
    const site = await a.putSite('b-site', 'overwrite attempt', { baseVersion: 2 });
    expect([site.status, (site.json.error as { code: string }).code]).toEqual([409, 'name_taken']);
    expectNoLeak(site);
    const upload = await a.putUpload('b-folder/secret.txt', 'my own file', { baseVersion: 1 });
    expect(upload.status).toBe(201);
    expect(upload.json).toMatchObject({ version: 1, path: 'b-folder/secret.txt' });
    const folder = await a.putFolder('b-only/empty');
    expect(folder.status).toBe(201);
    expect((await b.get('/sync/uploads/b-folder/secret.txt')).body.toString()).toBe(SECRET);
    expect((await b.get('/sync/sites/b-site')).body.toString()).toBe(`<p>${SECRET} v2</p>`);
    expect((await a.get('/sync/uploads/b-folder/secret.txt')).body.toString()).toBe('my own file');
  });

  it("me: A's usage counts only A's entries", async () => {
    const me = await a.get('/sync/me');
    expect(me.json).toMatchObject({ user: { email: 'a@example.com' }, usage: { sites: 1 } });
  });

  it("and B's token against A's: the same refusals", async () => {
    expect((await b.get('/sync/sites/a-site')).status).toBe(404);
    expect((await b.get('/sync/sites/a-site/versions')).status).toBe(404);
    const aHead = (await a.changes('0')).json.cursor as string;
    expect((await b.changes(aHead)).status).toBe(410);
  });
});
