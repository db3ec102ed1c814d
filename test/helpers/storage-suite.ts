// One behaviour suite for every SyncStorage + AuthStore pair: the storage's own calls (outcomes, backups, paths,
// limits, the feed and its horizon, reopening), then the same storage behind the real HTTP endpoints
// (storage-suite-http.ts).

import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { discardStaged, stageChunks, stagingOf } from '../../server-endpoints/http.js';
import type { Account, AuthStore, FileKind, SyncStorage, WriteFileRequest } from '../../server-endpoints/types.js';
import { describeThroughHttp } from './storage-suite-http.js';
import { describeSearch } from './storage-suite-search.js';

/** A storage as the suite drives it (the embedded storage purges synchronously, PostgreSQL asynchronously). */
export type StorageUnderTest = SyncStorage & { purgeTombstones(): number | Promise<number> };

export interface OpenedStorage {
  storage: StorageUnderTest;
  /** Where its data lives (a folder, a database); open it again there to reopen the same data. */
  place: string;
  /** Its store loses the content of `sha256`, as a disk or a bucket can. */
  loseContent(sha256: string): Promise<void>;
}

/** The endpoints over one storage of the kind under test, plus the means to open more of that kind. */
export interface PlatformUnderTest {
  url: string;
  storage: StorageUnderTest;
  authStore: AuthStore;
  addAccount(spec: { email: string; maxSites?: number; maxStorageBytes?: number }): Account;
  tokenFor(account: Account): Promise<string>;
  /** The platform's store loses the content of `sha256`. */
  loseContent(sha256: string): Promise<void>;
  /** Whether the platform's store holds the content of `sha256` where this kind of storage keeps it. */
  holdsContent(sha256: string): Promise<boolean>;
  /** Another storage of this kind with no timer purges: over a new empty store, or over `place` (reopening). */
  openStorage(options: { now?: () => number; tombstoneHorizonMs?: number; place?: string }): Promise<OpenedStorage>;
  close(): Promise<void>;
}

export interface PlatformOptions {
  /** The server's clock for the endpoints, the storage and the auth store. */
  now: () => number;
  tombstoneHorizonMs: number;
  minClientVersion: string;
  /** A request body that sends nothing for this long is dropped. */
  bodyIdleMs: number;
}

/** Registers the whole suite for one kind of storage; `start` runs once before it, its `close` once after. */
export function describeStorageBehaviour(
  name: string,
  start: (options: PlatformOptions) => Promise<PlatformUnderTest>,
): void {
  const world = { clock: Date.now(), platform: undefined as PlatformUnderTest | undefined };
  const opened: OpenedStorage[] = [];
  beforeAll(async () => {
    world.platform = await start({
      now: () => world.clock,
      tombstoneHorizonMs: 60_000,
      minClientVersion: '1.0.0',
      bodyIdleMs: 500,
    });
  });
  afterEach(async () => {
    for (const { storage } of opened.splice(0)) await storage.close();
  });
  afterAll(() => world.platform?.close());

  const platform = (): PlatformUnderTest => world.platform!;
  const fresh = async (options: { now?: () => number; tombstoneHorizonMs?: number; place?: string } = {}) => {
    const one = await platform().openStorage(options);
    opened.push(one);
    return one;
  };
  const closeNow = async (one: OpenedStorage): Promise<void> => {
    opened.splice(opened.indexOf(one), 1);
    await one.storage.close();
  };

  describeWrites(name, fresh);
  describePathsAndLimits(name, fresh);
  describeFeed(name, fresh, closeNow);
  describeThroughHttp(name, platform, world);
  describeSearch(name, fresh, platform);
}

const sha = (text: string | Buffer): string => createHash('sha256').update(text).digest('hex');
const NO_LIMITS = { maxSites: null, maxStorageBytes: null };

/** A sync write of `text` by account acct-a, new by default (exported for storage-specific tests). */
export function write(
  kind: FileKind,
  key: string,
  text: string,
  more: Partial<WriteFileRequest> = {},
): WriteFileRequest {
  return {
    accountId: 'acct-a',
    kind,
    key,
    path: kind === 'site' ? `${key}.html` : key,
    content: Buffer.from(text),
    sha256: sha(text),
    baseVersion: 0,
    modifiedAtMs: Date.now(),
    limits: NO_LIMITS,
    ...more,
  };
}

type Fresh = (options?: { now?: () => number; tombstoneHorizonMs?: number; place?: string }) => Promise<OpenedStorage>;

function describeWrites(name: string, fresh: Fresh): void {
  describe(`${name}: writes`, () => {
    it('creates, saves, keeps every replaced version as a backup, and no-ops same content', async () => {
      const s = (await fresh()).storage;
      const created = await s.writeFile(write('site', 'hello', 'v1', { path: 'blog/hello.html' }));
      expect(created).toMatchObject({
        outcome: 'created',
        entry: { kind: 'site', name: 'hello', path: 'blog/hello.html', version: 1 },
      });
      const saved = await s.writeFile(write('site', 'hello', 'v2', { baseVersion: 1, path: 'elsewhere/hello.html' }));
      expect(saved).toMatchObject({ outcome: 'saved', entry: { version: 2, path: 'blog/hello.html', size: 2 } });
      const same = await s.writeFile(write('site', 'hello', 'v2', { baseVersion: 1 }));
      expect(same).toMatchObject({ outcome: 'unchanged', entry: { version: 2 } });
      expect((await s.versions('acct-a', { kind: 'site', key: 'hello' }))?.map((v) => v.version)).toEqual([1]);
      expect((await s.readVersion('acct-a', { kind: 'site', key: 'hello' }, 1))?.toString()).toBe('v1');
      expect((await s.readFile('acct-a', { kind: 'site', key: 'hello' }))?.content.toString()).toBe('v2');
    });

    it('a stale base version with an older stamp is a conflict carrying the current entry', async () => {
      const s = (await fresh()).storage;
      await s.writeFile(write('upload', 'img/a.png', 'one', { modifiedAtMs: Date.now() - 1000 }));
      await s.writeFile(write('upload', 'img/a.png', 'two', { baseVersion: 1 }));
      const lost = await s.writeFile(write('upload', 'img/a.png', 'three', { baseVersion: 1, modifiedAtMs: 0 }));
      expect(lost).toMatchObject({ outcome: 'conflict', current: { version: 2, sha256: sha('two') } });
      expect((await s.readFile('acct-a', { kind: 'upload', key: 'img/a.png' }))?.content.toString()).toBe('two');
    });

    it('a failed backup fails the write and changes nothing', async () => {
      const { storage: s, loseContent } = await fresh();
      await s.writeFile(write('site', 'keep', 'old content'));
      const head = (await s.changesSince('acct-a', 0, 10))!.head;
      await loseContent(sha('old content'));
      await expect(s.writeFile(write('site', 'keep', 'new content', { baseVersion: 1 }))).rejects.toMatchObject({
        code: 'backup_failed',
      });
      const after = await s.changesSince('acct-a', 0, 10);
      expect(after?.head).toBe(head);
      expect(after?.entries[0]).toMatchObject({ version: 1, sha256: sha('old content') });
      expect(await s.versions('acct-a', { kind: 'site', key: 'keep' })).toEqual([]);
    });

    it('refuses content that does not match its sha256', async () => {
      const s = (await fresh()).storage;
      await expect(s.writeFile(write('site', 'x', 'body', { sha256: sha('other') }))).rejects.toMatchObject({
        code: 'bad_write',
      });
    });

    it('takes content staged in a file (a request body) and keeps it after the stager removes its file', async () => {
      const s = (await fresh()).storage;
      const bytes = Buffer.alloc(300_000, 9);
      const staged = await stageChunks([bytes], stagingOf(s), bytes.length);
      const created = await s.writeFile({ ...write('upload', 'staged.bin', ''), content: staged, sha256: sha(bytes) });
      expect(created).toMatchObject({ outcome: 'created', entry: { size: bytes.length, sha256: sha(bytes) } });
      await discardStaged(staged);
      expect((await s.readFile('acct-a', { kind: 'upload', key: 'staged.bin' }))?.content.equals(bytes)).toBe(true);
      const lying = await stageChunks([Buffer.from('real')], stagingOf(s), 100);
      const refused = s.writeFile({ ...write('upload', 'lie.bin', ''), content: lying, sha256: sha('claimed') });
      await expect(refused).rejects.toMatchObject({ code: 'bad_write' });
      await discardStaged(lying);
    });

    it('a group of writes decides in order as if one after another; a write that fails fails alone', async () => {
      const { storage: s, loseContent } = await fresh();
      await s.writeFile(write('site', 'grp-lost', 'old content'));
      await loseContent(sha('old content'));
      const outcomes = await s.writeFiles([
        write('site', 'grp-lost', 'new content', { baseVersion: 1 }),
        write('site', 'grp-a', 'a'),
        write('site', 'grp-a', 'a'),
        write('upload', 'g/x.txt', 'one'),
        write('upload', 'g/x.txt', 'two', { baseVersion: 1 }),
        write('upload', 'g/x.txt', 'late', { baseVersion: 1, modifiedAtMs: 0 }),
        write('upload', 'g/bad.txt', 'body', { sha256: sha('other') }),
        write('upload', 'g', 'a file where a folder now is'),
      ]);
      const summary = outcomes.map((o) =>
        o.ok
          ? [o.result.outcome, 'entry' in o.result ? o.result.entry.version : null]
          : ['error', (o.error as { code?: string }).code],
      );
      expect(summary).toEqual([
        ['error', 'backup_failed'],
        ['created', 1],
        ['unchanged', 1],
        ['created', 1],
        ['saved', 2],
        ['conflict', null],
        ['error', 'bad_write'],
        ['path_conflict', null],
      ]);
      const feed = (await s.changesSince('acct-a', 0, 100))!;
      expect(feed.entries.map((e) => [e.name ?? e.path, e.version, e.seq])).toEqual([
        ['grp-lost', 1, 1],
        ['grp-a', 1, 2],
        ['g/x.txt', 2, 4],
      ]);
      expect((await s.readFile('acct-a', { kind: 'upload', key: 'g/x.txt' }))?.content.toString()).toBe('two');
      expect(await s.readVersion('acct-a', { kind: 'upload', key: 'g/x.txt' }, 1)).toEqual(Buffer.from('one'));
    });
  });
}

function describePathsAndLimits(name: string, fresh: Fresh): void {
  describe(`${name}: paths, names and limits`, () => {
    it('path_conflict: a file where a folder is, a folder where a file is, and through parents', async () => {
      const s = (await fresh()).storage;
      expect(await s.createFolder('acct-a', 'docs/deep')).toMatchObject({ outcome: 'created' });
      expect(await s.createFolder('acct-a', 'docs')).toMatchObject({ outcome: 'exists' });
      expect(await s.writeFile(write('upload', 'docs', 'x'))).toEqual({ outcome: 'path_conflict' });
      expect(await s.writeFile(write('upload', 'docs/deep', 'x'))).toEqual({ outcome: 'path_conflict' });
      await s.writeFile(write('upload', 'a', 'file a'));
      expect(await s.writeFile(write('upload', 'a/b.png', 'x'))).toEqual({ outcome: 'path_conflict' });
      expect(await s.writeFile(write('site', 'page', 'x', { path: 'a/page.html' }))).toEqual({
        outcome: 'path_conflict',
      });
      expect(await s.createFolder('acct-a', 'a/sub')).toEqual({ outcome: 'path_conflict' });
      await s.writeFile(write('upload', 'loose/x.png', 'x'));
      expect(await s.writeFile(write('upload', 'loose', 'x'))).toEqual({ outcome: 'path_conflict' });
    });

    it('site names are unique across accounts; a deleted site frees its name', async () => {
      const s = (await fresh()).storage;
      await s.writeFile(write('site', 'taken', 'a'));
      expect(await s.writeFile(write('site', 'taken', 'b', { accountId: 'acct-b' }))).toEqual({
        outcome: 'name_taken',
      });
      expect(await s.siteOwner('taken')).toBe('acct-a');
      await s.deleteEntry('acct-a', 'site', 'taken');
      expect(await s.writeFile(write('site', 'taken', 'b', { accountId: 'acct-b' }))).toMatchObject({
        outcome: 'created',
      });
    });

    it('site limit on create only; storage quota over current content, backups not counted', async () => {
      const s = (await fresh()).storage;
      const limits = { maxSites: 1, maxStorageBytes: 10 };
      expect(await s.writeFile(write('site', 'one', '12345', { limits }))).toMatchObject({ outcome: 'created' });
      expect(await s.writeFile(write('site', 'two', '1', { limits }))).toEqual({ outcome: 'site_limit_reached' });
      expect(await s.writeFile(write('site', 'one', '1234567890', { limits, baseVersion: 1 }))).toMatchObject({
        outcome: 'saved',
      });
      expect(await s.usage('acct-a')).toEqual({ sites: 1, storageBytes: 10 });
      expect(await s.writeFile(write('upload', 'u.bin', 'x', { limits }))).toEqual({
        outcome: 'storage_limit_reached',
      });
      expect(await s.writeFile(write('site', 'one', 'abc', { limits, baseVersion: 2 }))).toMatchObject({
        outcome: 'saved',
      });
      expect(await s.usage('acct-a')).toEqual({ sites: 1, storageBytes: 3 });
    });
  });
}

function describeFeed(name: string, fresh: Fresh, closeNow: (one: OpenedStorage) => Promise<void>): void {
  describe(`${name}: the change feed`, () => {
    it('coalesces to the latest state in seq order, with tombstones, and reading consumes nothing', async () => {
      const s = (await fresh()).storage;
      await s.writeFile(write('site', 's1', 'a'));
      await s.writeFile(write('upload', 'u1', 'a'));
      await s.writeFile(write('site', 's1', 'b', { baseVersion: 1 }));
      await s.deleteEntry('acct-a', 'upload', 'u1');
      const page = (await s.changesSince('acct-a', 0, 100))!;
      expect(page.entries.map((e) => [e.kind, e.path, e.deleted ?? false, e.version ?? null])).toEqual([
        ['site', 's1.html', false, 2],
        ['upload', 'u1', true, null],
      ]);
      expect(page.head).toBe(4);
      expect(await s.changesSince('acct-a', 0, 100)).toEqual(page);
      expect((await s.changesSince('acct-a', 3, 100))!.entries.map((e) => e.path)).toEqual(['u1']);
      expect(await s.changesSince('acct-a', 5, 100)).toBeNull();
    });

    it('recreating a deleted file never reuses a version number', async () => {
      const s = (await fresh()).storage;
      await s.writeFile(write('site', 'again', 'a'));
      await s.writeFile(write('site', 'again', 'b', { baseVersion: 1 }));
      await s.deleteEntry('acct-a', 'site', 'again');
      const back = await s.writeFile(write('site', 'again', 'c'));
      expect(back).toMatchObject({ outcome: 'created', entry: { version: 3 } });
      expect((await s.versions('acct-a', { kind: 'site', key: 'again' }))!.map((v) => v.version)).toEqual([1, 2]);
    });

    it('lists the deleted sites, latest first, with their paths; not uploads, live sites or other accounts', async () => {
      let clock = Date.parse('2026-01-01T00:00:00.000Z');
      const s = (await fresh({ now: () => clock })).storage;
      await s.writeFile(write('site', 'first', 'a', { path: 'blog/first.html' }));
      await s.writeFile(write('site', 'second', 'b'));
      await s.writeFile(write('site', 'back', 'c'));
      await s.writeFile(write('site', 'kept', 'd'));
      await s.writeFile(write('upload', 'gone.txt', 'e'));
      await s.writeFile(write('site', 'theirs', 'f', { accountId: 'acct-b' }));
      for (const [kind, key, account] of [
        ['site', 'first', 'acct-a'],
        ['site', 'second', 'acct-a'],
        ['site', 'back', 'acct-a'],
        ['upload', 'gone.txt', 'acct-a'],
        ['site', 'theirs', 'acct-b'],
      ] as const) {
        clock += 1000;
        await s.deleteEntry(account, kind, key);
      }
      await s.writeFile(write('site', 'back', 'c again'));
      const deleted = await s.deletedSites('acct-a', 10);
      expect(deleted.map((e) => [e.name, e.path, e.deleted, e.updatedAt])).toEqual([
        ['second', 'second.html', true, '2026-01-01T00:00:02.000Z'],
        ['first', 'blog/first.html', true, '2026-01-01T00:00:01.000Z'],
      ]);
      expect(await s.deletedSites('acct-a', 1)).toHaveLength(1);
      expect((await s.deletedSites('acct-b', 10)).map((e) => e.name)).toEqual(['theirs']);
      expect(await s.deletedSites('acct-c', 10)).toEqual([]);
    });

    it('purges tombstones past the horizon; a cursor before them is refused (null), later ones still work', async () => {
      let clock = Date.parse('2026-01-01T00:00:00.000Z');
      const s = (await fresh({ now: () => clock, tombstoneHorizonMs: 1000 })).storage;
      await s.writeFile(write('upload', 'gone', 'x'));
      await s.writeFile(write('upload', 'stays', 'y'));
      await s.deleteEntry('acct-a', 'upload', 'gone');
      clock += 5000;
      expect(await s.purgeTombstones()).toBe(1);
      expect(await s.changesSince('acct-a', 2, 10)).toBeNull();
      expect(await s.changesSince('acct-a', 3, 10)).toEqual({ entries: [], head: 3 });
    });

    it('lists the complete current state in pages from a noted head', async () => {
      const s = (await fresh()).storage;
      for (let i = 0; i < 25; i++) await s.writeFile(write('upload', `f/${String(i).padStart(2, '0')}.txt`, `c${i}`));
      await s.deleteEntry('acct-a', 'upload', 'f/03.txt');
      const seen: string[] = [];
      let page = (await s.listing('acct-a', null, 10))!;
      const head = page.head;
      seen.push(...page.entries.map((e) => e.path));
      await s.writeFile(write('upload', 'a-new-one.txt', 'during'));
      while (page.next) {
        page = (await s.listing('acct-a', page.next, 10))!;
        expect(page.head).toBe(head);
        seen.push(...page.entries.map((e) => e.path));
      }
      expect(seen).toHaveLength(24);
      expect(seen).not.toContain('f/03.txt');
      expect((await s.changesSince('acct-a', head, 10))!.entries.map((e) => e.path)).toEqual(['a-new-one.txt']);
      expect(await s.listing('acct-a', 'garbage', 10)).toBeNull();
    });

    it('two instances on two stores are independent; data survives reopening', async () => {
      const one = await fresh();
      const two = await fresh();
      await one.storage.writeFile(write('site', 'mine', 'x'));
      expect(await two.storage.siteOwner('mine')).toBeNull();
      await closeNow(one);
      const reopened = (await fresh({ place: one.place })).storage;
      expect((await reopened.readFile('acct-a', { kind: 'site', key: 'mine' }))?.content.toString()).toBe('x');
    });
  });
}
