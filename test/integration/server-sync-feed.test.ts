// PROTOCOL.md "Session and changes": listings in pages, the coalesced feed, tombstones, cursors and 410s.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Entry } from '../../protocol/index.js';
import { changesPage, drainFeed, entryIdentity } from '../helpers/feed.js';
import { type SyncApi, startTestPlatform, syncApi, type TestPlatform } from '../helpers/platform.js';

let clock = Date.now();
let platform: TestPlatform;

beforeAll(async () => {
  platform = await startTestPlatform({ now: () => clock, tombstoneHorizonMs: 60_000 });
});
afterAll(() => platform.close());

async function newAccount(email: string): Promise<{ id: string; api: SyncApi }> {
  const account = platform.addAccount({ email });
  return { id: account.id, api: syncApi(platform.url, await platform.tokenFor(account)) };
}

/** Lists everything from cursor 0, all pages; returns the entries and the cursor to poll from. */
const listAll = (api: SyncApi, limit?: number) => drainFeed(api, '0', limit);

describe('listing (cursor 0)', () => {
  it('pages a listing larger than one default page (1000) and ends at the head', async () => {
    const { id, api } = await newAccount('big@example.com');
    for (let i = 0; i < 1004; i++) await platform.storage.createFolder(id, `f${String(i).padStart(4, '0')}`);
    const listed = await listAll(api);
    expect(listed.pages).toBe(2);
    expect(new Set(listed.entries.map((e) => e.path)).size).toBe(1004);
    expect(await changesPage(api, listed.cursor)).toMatchObject({ entries: [], hasMore: false, cursor: listed.cursor });
  });

  it('is complete without tombstones, and changes made during it come in the next poll', async () => {
    const { id, api } = await newAccount('during@example.com');
    for (let i = 0; i < 20; i++) await api.putUpload(`d/${String(i).padStart(2, '0')}.txt`, `c${i}`);
    await platform.storage.deleteEntry(id, 'upload', 'd/00.txt');
    const first = await changesPage(api, '0', { limit: 5 });
    expect(first.hasMore).toBe(true);
    // During the listing: an entry already passed changes, one not yet reached is deleted, a new one appears.
    await api.putUpload('d/01.txt', 'changed', { baseVersion: 1 });
    await platform.storage.deleteEntry(id, 'upload', 'd/19.txt');
    await api.putUpload('d/00a.txt', 'new');
    let cursor = first.cursor;
    const listed = [...first.entries];
    for (;;) {
      const next = await changesPage(api, cursor, { limit: 5 });
      listed.push(...next.entries);
      cursor = next.cursor;
      if (!next.hasMore) break;
    }
    expect(listed.some((e) => e.deleted)).toBe(false);
    expect(listed.map((e) => e.path)).not.toContain('d/00.txt');
    const after = await drainFeed(api, cursor);
    const byPath = new Map(after.entries.map((e) => [e.path, e]));
    expect(byPath.get('d/01.txt')).toMatchObject({ version: 2 });
    expect(byPath.get('d/19.txt')).toMatchObject({ deleted: true });
    expect(byPath.get('d/00a.txt')).toMatchObject({ version: 1 });
  });

  it('listing while another writer writes: applying pages then the feed gives exactly the final state', async () => {
    const { id, api } = await newAccount('concurrent@example.com');
    for (let i = 0; i < 40; i++) await api.putUpload(`c/${String(i).padStart(2, '0')}.txt`, `v0-${i}`);
    let writing = true;
    let writes = 0;
    const writer = (async () => {
      while (writing) {
        const n = writes;
        const i = n % 40;
        const path = `c/${String(i).padStart(2, '0')}.txt`;
        if (n % 7 === 3) await platform.storage.deleteEntry(id, 'upload', path);
        else await api.putUpload(path, `v${n}-${i}`, { modifiedAt: Date.now() + n });
        if (n % 11 === 5) await api.putUpload(`c/new-${n}.txt`, `new ${n}`);
        writes++;
      }
    })();
    /** Lets the writer land at least one more write before the reader's next request. */
    const afterAWrite = async () => {
      const seen = writes;
      while (writes === seen) await new Promise((resolve) => setTimeout(resolve, 1));
    };
    const known = new Map<string, Entry>();
    const apply = (entries: Entry[]) => {
      for (const entry of entries) {
        if (entry.deleted) known.delete(entryIdentity(entry));
        else known.set(entryIdentity(entry), entry);
      }
    };
    let cursor = '0';
    let pages = 0;
    for (let listing = true; listing || pages < 60; pages++) {
      const next = await changesPage(api, cursor, { limit: 3 });
      apply(next.entries);
      cursor = next.cursor;
      if (!next.hasMore) listing = false;
      await afterAWrite();
    }
    writing = false;
    await writer;
    expect(writes).toBeGreaterThanOrEqual(60);
    apply((await drainFeed(api, cursor, 4)).entries);
    const truth = await listAll(api);
    const summary = (entries: Iterable<Entry>) => [...entries].map((e) => `${entryIdentity(e)}@${e.version}`).sort();
    expect(summary(known.values())).toEqual(summary(truth.entries));
  });
});

describe('the feed after a cursor', () => {
  it('coalesces to the latest state of each entry in seq order, tombstones included', async () => {
    const { id, api } = await newAccount('coalesce@example.com');
    const start = (await listAll(api)).cursor;
    await api.putSite('co-site', 'v1');
    await api.putUpload('co/file.bin', 'a');
    for (let v = 1; v < 5; v++) await api.putSite('co-site', `v${v + 1}`, { baseVersion: v });
    await api.putFolder('co/empty');
    await platform.storage.deleteEntry(id, 'upload', 'co/file.bin');
    const changes = await changesPage(api, start);
    expect(changes.hasMore).toBe(false);
    expect(changes.entries.map((e) => [entryIdentity(e), e.version ?? null, e.deleted ?? false])).toEqual([
      ['site:co-site', 5, false],
      ['folder:co', null, false],
      ['folder:co/empty', null, false],
      ['upload:co/file.bin', null, true],
    ]);
    const seqs = changes.entries.map((e) => e.seq);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    // A folder's tombstone means only the folder.
    await api.putUpload('co/empty/kept.txt', 'k');
    await platform.storage.deleteEntry(id, 'folder', 'co/empty');
    const after = await changesPage(api, changes.cursor);
    expect(after.entries.map((e) => [entryIdentity(e), e.deleted ?? false])).toEqual([
      ['upload:co/empty/kept.txt', false],
      ['folder:co/empty', true],
    ]);
    expect((await api.get('/sync/uploads/co/empty/kept.txt')).status).toBe(200);
  });

  it('reading consumes nothing: the same cursor gives the same answer, plus anything newer', async () => {
    const { api } = await newAccount('idempotent@example.com');
    const start = (await listAll(api)).cursor;
    await api.putSite('idem-one', 'x');
    const first = await changesPage(api, start);
    const again = await changesPage(api, start);
    expect(again).toEqual(first);
    await api.putSite('idem-two', 'y');
    const third = await changesPage(api, start);
    expect(third.entries.map(entryIdentity)).toEqual(['site:idem-one', 'site:idem-two']);
  });

  it('pages the feed with hasMore and a continuation cursor', async () => {
    const { api } = await newAccount('feedpages@example.com');
    const start = (await listAll(api)).cursor;
    for (let i = 0; i < 7; i++) await api.putFolder(`p${i}`);
    const one = await changesPage(api, start, { limit: 3 });
    expect(one).toMatchObject({ hasMore: true });
    const all = await drainFeed(api, start, 3);
    expect(all.entries.map((e) => e.path)).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6']);
  });

  it('long-poll (wait) returns as soon as a change arrives, and returns empty when nothing comes', async () => {
    const { api } = await newAccount('longpoll@example.com');
    const head = (await listAll(api)).cursor;
    const quiet = await changesPage(api, head, { wait: 0.2 });
    expect(quiet).toEqual({ entries: [], cursor: head, hasMore: false });
    const waiting = changesPage(api, head, { wait: 20 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await api.putSite('woken', 'hello');
    const woke = await waiting;
    expect(woke.entries.map(entryIdentity)).toEqual(['site:woken']);
  });

  it('an unknown session id is not an error', async () => {
    const { api } = await newAccount('session@example.com');
    const started = await api.session('box', '9.9.9');
    expect((await api.changes('0', { session: started.json.sessionId as string })).status).toBe(200);
    expect((await api.changes('0', { session: 'no-such-session' })).status).toBe(200);
  });
});

describe('410 cursor_reset', () => {
  it('for malformed and forged cursors', async () => {
    const { api } = await newAccount('malformed@example.com');
    await api.putFolder('m');
    const { cursor } = await listAll(api);
    expect(cursor).toMatch(/^f1\./);
    const forgedSeq = cursor.replace(/^f\d+/, 'f0');
    for (const bad of ['garbage', '1', '-1', 'f1', `${cursor}x`, forgedSeq, 'l.abc', '']) {
      const response = await api.changes(bad);
      expect([bad, response.status, (response.json.error as { code?: string } | undefined)?.code]).toEqual([
        bad,
        410,
        'cursor_reset',
      ]);
    }
  });

  it("for another account's cursor, listing continuation included", async () => {
    const a = await newAccount('cursor-a@example.com');
    const b = await newAccount('cursor-b@example.com');
    for (let i = 0; i < 3; i++) await a.api.putFolder(`a${i}`);
    const head = (await listAll(a.api)).cursor;
    const continuation = (await changesPage(a.api, '0', { limit: 1 })).cursor;
    expect((await b.api.changes(head)).status).toBe(410);
    expect((await b.api.changes(continuation)).status).toBe(410);
    expect((await a.api.changes(continuation)).status).toBe(200);
  });

  it('for a cursor from before the tombstone horizon; a later cursor still works', async () => {
    const { id, api } = await newAccount('horizon@example.com');
    await api.putUpload('h/old.txt', 'x');
    const before = (await listAll(api)).cursor;
    await platform.storage.deleteEntry(id, 'upload', 'h/old.txt');
    const after = (await drainFeed(api, before)).cursor;
    clock += 120_000;
    expect(platform.storage.purgeTombstones()).toBeGreaterThan(0);
    const stale = await api.changes(before);
    expect([stale.status, (stale.json.error as { code: string }).code]).toEqual([410, 'cursor_reset']);
    expect((await api.changes(after)).status).toBe(200);
    clock -= 120_000;
  });
});

describe('long-poll over a storage that cannot notify', () => {
  it('still returns the change, by looking at the feed again', async () => {
    const plain = await startTestPlatform({
      // Every method but subscribe, as a storage without change notifications would offer.
      wrapStorage: (storage) => {
        const { subscribe: _unused, ...rest } = storage;
        return rest;
      },
    });
    try {
      const account = plain.addAccount({ email: 'nonotify@example.com' });
      const api = syncApi(plain.url, await plain.tokenFor(account));
      const head = (await listAll(api)).cursor;
      const waiting = changesPage(api, head, { wait: 20 });
      await new Promise((resolve) => setTimeout(resolve, 100));
      await api.putFolder('arrived');
      expect((await waiting).entries.map(entryIdentity)).toEqual(['folder:arrived']);
    } finally {
      await plain.close();
    }
  });
});
