// The storage behaviour suite through the real HTTP endpoints: every PUT outcome, backups, batches and fetches
// (storage-suite-batch.ts), the feed (pages, coalescing, tombstones, 410), long-polls, account isolation, and the
// AuthStore beside the storage.

import { describe, expect, it } from 'vitest';
import { changesPage, drainFeed, entryIdentity, errorCode } from './feed.js';
import { type SyncApi, sha256Hex, syncApi } from './platform.js';
import type { PlatformUnderTest } from './storage-suite.js';
import { describeBatches } from './storage-suite-batch.js';

type NewAccount = (
  email: string,
  limits?: { maxSites?: number; maxStorageBytes?: number },
) => Promise<{ id: string; api: SyncApi }>;

/** Registers the HTTP half of the storage behaviour suite; `world.clock` is the platform's clock. */
export function describeThroughHttp(name: string, platform: () => PlatformUnderTest, world: { clock: number }): void {
  async function newAccount(
    email: string,
    limits: { maxSites?: number; maxStorageBytes?: number } = {},
  ): Promise<{ id: string; api: SyncApi }> {
    const account = platform().addAccount({ email, ...limits });
    return { id: account.id, api: syncApi(platform().url, await platform().tokenFor(account)) };
  }

  describePutOutcomes(name, platform, world, newAccount);
  describeBatches(name, platform, async (email, limits = {}) => {
    const account = platform().addAccount({ email, ...limits });
    const token = await platform().tokenFor(account);
    return { id: account.id, api: syncApi(platform().url, token), token };
  });
  describeFeedThroughHttp(name, platform, world, newAccount);
  describeIsolation(name, platform, newAccount);
  describeAuthStore(name, platform, world);
}

function describePutOutcomes(
  name: string,
  platform: () => PlatformUnderTest,
  world: { clock: number },
  newAccount: NewAccount,
): void {
  describe(`${name}: PUT outcomes through the endpoints`, () => {
    it('creates a site at its X-Path folder (201); GET returns the bytes from the store with its headers', async () => {
      const { api } = await newAccount('create@example.com');
      const created = await api.putSite('st-new', '<h1>v1</h1>', { path: 'My Blog/ST-New.html' });
      expect(created.status).toBe(201);
      expect(created.json).toMatchObject({ kind: 'site', name: 'st-new', path: 'My Blog/st-new.html', version: 1 });
      const got = await api.get('/sync/sites/st-new');
      expect(got.status).toBe(200);
      expect(got.body.toString()).toBe('<h1>v1</h1>');
      expect(got.headers.get('etag')).toBe(`"${sha256Hex('<h1>v1</h1>')}"`);
      expect(got.headers.get('x-version')).toBe('1');
      expect(got.headers.get('x-path')).toBe('My%20Blog/st-new.html');
      expect(got.headers.get('x-updated-at')).toBe(created.json.updatedAt);
      expect(await platform().holdsContent(sha256Hex('<h1>v1</h1>'))).toBe(true);
    });

    it('same sha256 is 200 with the current entry and no new version; base version saves and keeps a backup', async () => {
      const { id, api } = await newAccount('outcomes@example.com');
      await api.putSite('st-same', 'one');
      const again = await api.putSite('st-same', 'one', { baseVersion: 0, modifiedAt: 0 });
      expect([again.status, again.json.version]).toEqual([200, 1]);
      expect((await api.get('/sync/sites/st-same/versions')).json).toEqual({ versions: [] });
      const saved = await api.putSite('st-same', 'two', { baseVersion: 1, modifiedAt: Date.now() - 86_400_000 });
      expect(saved.status).toBe(200);
      expect(saved.json).toMatchObject({ version: 2, sha256: sha256Hex('two') });
      const versions = await api.get('/sync/sites/st-same/versions');
      expect(versions.json).toMatchObject({ versions: [{ version: 1, size: 3, sha256: sha256Hex('one') }] });
      const kept = await platform().storage.readVersion(id, { kind: 'site', key: 'st-same' }, 1);
      expect(kept?.toString()).toBe('one');
    });

    it('last write wins: later X-Modified-At saves; equal or earlier is 409 conflict with current; future is now', async () => {
      const { api } = await newAccount('lww@example.com');
      const first = await api.putSite('st-lww', 'server copy');
      const updatedAt = Date.parse(first.json.updatedAt as string);
      const equal = await api.putSite('st-lww', 'stale edit', { baseVersion: 0, modifiedAt: updatedAt });
      expect(equal.status).toBe(409);
      expect(equal.json.error).toMatchObject({
        code: 'conflict',
        current: { version: 1, sha256: sha256Hex('server copy') },
      });
      const later = await api.putSite('st-lww', 'newer edit', { baseVersion: 0, modifiedAt: updatedAt + 1 });
      expect([later.status, later.json.version]).toEqual([200, 2]);
      expect((await api.get('/sync/sites/st-lww')).body.toString()).toBe('newer edit');
      const future = await api.putSite('st-future', 'x', { modifiedAt: world.clock + 3_600_000 });
      expect(Date.parse(future.json.updatedAt as string)).toBeLessThanOrEqual(world.clock);
    });

    it('an existing site never moves; uploads are case-sensitive, NFC-keyed and byte-exact; folders 201 then 200', async () => {
      const { api } = await newAccount('paths@example.com');
      await api.putSite('st-stay', 'a', { path: 'here/st-stay.html' });
      const moved = await api.putSite('st-stay', 'b', { baseVersion: 1, path: 'there/st-stay.html' });
      expect(moved.json).toMatchObject({ path: 'here/st-stay.html', version: 2 });
      const bytes = Uint8Array.from([0, 1, 2, 255, 254]);
      expect((await api.putUpload('images/Ünï #1.png', bytes)).status).toBe(201);
      expect((await api.putUpload('images/ünï #1.png', 'other')).status).toBe(201);
      const got = await api.get('/sync/uploads/images/%C3%9Cn%C3%AF%20%231.png');
      expect([...got.body]).toEqual([...bytes]);
      await api.putUpload('nfc/caf\u00e9.txt', 'one');
      const nfd = await api.putUpload('nfc/cafe\u0301.txt', 'two', { baseVersion: 1 });
      expect(nfd.json).toMatchObject({ path: 'nfc/caf\u00e9.txt', version: 2 });
      expect((await api.putFolder('deep/er/folder')).status).toBe(201);
      expect((await api.putFolder('deep/er')).status).toBe(200);
    });

    it('409 path_conflict both ways and inside a file; 409 name_taken across accounts', async () => {
      const { api } = await newAccount('conflicts@example.com');
      await api.putFolder('pc/dir');
      expect(errorCode((await api.putUpload('pc/dir', 'x')).json)).toBe('path_conflict');
      await api.putUpload('pc/file', 'x');
      expect(errorCode((await api.putFolder('pc/file')).json)).toBe('path_conflict');
      expect(errorCode((await api.putSite('pc-inside', 'x', { path: 'pc/file/pc-inside.html' })).json)).toBe(
        'path_conflict',
      );
      expect(errorCode((await api.putFolder('pc/file/sub')).json)).toBe('path_conflict');
      // A sibling whose name sorts right after the folder's is not "inside" it.
      expect((await api.putUpload('pc/dir0', 'x')).status).toBe(201);
      const other = await newAccount('other@example.com');
      expect((await other.api.putSite('st-claimed', 'theirs')).status).toBe(201);
      const mine = await api.putSite('st-claimed', 'mine');
      expect([mine.status, errorCode(mine.json)]).toEqual([409, 'name_taken']);
      expect((await other.api.get('/sync/sites/st-claimed')).body.toString()).toBe('theirs');
    });

    it('403 site_limit_reached and storage_limit_reached (backups do not count); /sync/me reports usage', async () => {
      const { api } = await newAccount('small@example.com', { maxSites: 1, maxStorageBytes: 100 });
      expect((await api.putSite('st-limit-one', 'x'.repeat(60))).status).toBe(201);
      const second = await api.putSite('st-limit-two', 'x');
      expect([second.status, errorCode(second.json)]).toEqual([403, 'site_limit_reached']);
      const over = await api.putUpload('big.bin', 'y'.repeat(41));
      expect([over.status, errorCode(over.json)]).toEqual([403, 'storage_limit_reached']);
      expect((await api.putSite('st-limit-one', 'z'.repeat(100), { baseVersion: 1 })).status).toBe(200);
      expect((await api.get('/sync/me')).json).toMatchObject({ usage: { sites: 1, storageBytes: 100 } });
    });

    it('a replaced version whose content is gone from the store: 500, and nothing changes', async () => {
      const { id, api } = await newAccount('nobackup@example.com');
      await api.putSite('st-precious', 'precious');
      await platform().loseContent(sha256Hex('precious'));
      const put = await api.putSite('st-precious', 'replacement', { baseVersion: 1 });
      expect([put.status, errorCode(put.json)]).toEqual([500, 'internal']);
      expect((await api.get('/sync/sites/st-precious/versions')).json).toEqual({ versions: [] });
      expect(
        await platform()
          .storage.deleteEntry(id, 'site', 'st-precious')
          .catch((e: { code: string }) => e.code),
      ).toBe('backup_failed');
      expect((await drainFeed(api, '0')).entries.map((e) => [e.path, e.version])).toEqual([['st-precious.html', 1]]);
    });
  });
}

function describeFeedThroughHttp(
  name: string,
  platform: () => PlatformUnderTest,
  world: { clock: number },
  newAccount: NewAccount,
): void {
  describe(`${name}: the change feed through the endpoints`, () => {
    it('lists in pages without tombstones, ends at the head, and changes during the listing come next', async () => {
      const { id, api } = await newAccount('listing@example.com');
      for (let i = 0; i < 20; i++) await api.putUpload(`d/${String(i).padStart(2, '0')}.txt`, `c${i}`);
      await platform().storage.deleteEntry(id, 'upload', 'd/00.txt');
      const first = await changesPage(api, '0', { limit: 5 });
      expect(first.hasMore).toBe(true);
      await api.putUpload('d/01.txt', 'changed', { baseVersion: 1 });
      await platform().storage.deleteEntry(id, 'upload', 'd/19.txt');
      await api.putUpload('d/00a.txt', 'new');
      const rest = await drainFeed(api, first.cursor, 5);
      const listed = [...first.entries, ...rest.entries];
      expect(listed.some((e) => e.deleted)).toBe(false);
      expect(listed.map((e) => e.path)).not.toContain('d/00.txt');
      expect(rest.pages).toBeGreaterThanOrEqual(3);
      const after = await drainFeed(api, rest.cursor);
      const byPath = new Map(after.entries.map((e) => [e.path, e]));
      expect(byPath.get('d/01.txt')).toMatchObject({ version: 2 });
      expect(byPath.get('d/19.txt')).toMatchObject({ deleted: true });
      expect(byPath.get('d/00a.txt')).toMatchObject({ version: 1 });
    });

    it('a listing over 1000 entries takes two default pages', async () => {
      const { id, api } = await newAccount('big@example.com');
      await Promise.all(
        Array.from({ length: 4 }, async (_, w) => {
          for (let i = w; i < 1004; i += 4) await platform().storage.createFolder(id, `f${String(i).padStart(4, '0')}`);
        }),
      );
      const listed = await drainFeed(api, '0');
      expect(listed.pages).toBe(2);
      expect(new Set(listed.entries.map((e) => e.path)).size).toBe(1004);
      expect(listed.cursor).toMatch(/^f1004\./);
    });

    it('coalesces to the latest state in seq order, tombstones included; a folder tombstone is only the folder', async () => {
      const { id, api } = await newAccount('coalesce@example.com');
      const start = (await drainFeed(api, '0')).cursor;
      await api.putSite('st-co-site', 'v1');
      await api.putUpload('co/file.bin', 'a');
      for (let v = 1; v < 5; v++) await api.putSite('st-co-site', `v${v + 1}`, { baseVersion: v });
      await api.putFolder('co/empty');
      await platform().storage.deleteEntry(id, 'upload', 'co/file.bin');
      const changes = await changesPage(api, start);
      expect(changes.entries.map((e) => [entryIdentity(e), e.version ?? null, e.deleted ?? false])).toEqual([
        ['site:st-co-site', 5, false],
        ['folder:co', null, false],
        ['folder:co/empty', null, false],
        ['upload:co/file.bin', null, true],
      ]);
      expect((await changesPage(api, start)).entries).toEqual(changes.entries); // reading consumes nothing
      await api.putUpload('co/empty/kept.txt', 'k');
      await platform().storage.deleteEntry(id, 'folder', 'co/empty');
      const after = await changesPage(api, changes.cursor);
      expect(after.entries.map((e) => [entryIdentity(e), e.deleted ?? false])).toEqual([
        ['upload:co/empty/kept.txt', false],
        ['folder:co/empty', true],
      ]);
      // The deleted upload's content stays as a version; re-creating it continues the version numbers.
      const recreated = await api.putUpload('co/file.bin', 'b');
      expect([recreated.status, recreated.json.version]).toEqual([201, 2]);
    });

    it('pages the feed with hasMore; a long-poll wakes on a change and returns empty when nothing comes', async () => {
      const { api } = await newAccount('feedpages@example.com');
      const start = (await drainFeed(api, '0')).cursor;
      for (let i = 0; i < 7; i++) await api.putFolder(`p${i}`);
      expect(await changesPage(api, start, { limit: 3 })).toMatchObject({ hasMore: true });
      const all = await drainFeed(api, start, 3);
      expect(all.entries.map((e) => e.path)).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6']);
      const quiet = await changesPage(api, all.cursor, { wait: 0.2 });
      expect(quiet).toEqual({ entries: [], cursor: all.cursor, hasMore: false });
      const waiting = changesPage(api, all.cursor, { wait: 20 });
      await new Promise((resolve) => setTimeout(resolve, 100));
      await api.putSite('st-woken', 'hello');
      expect((await waiting).entries.map(entryIdentity)).toEqual(['site:st-woken']);
    });

    it('410 cursor_reset for malformed, forged and foreign cursors, and from before the tombstone horizon', async () => {
      const a = await newAccount('cursor-a@example.com');
      const b = await newAccount('cursor-b@example.com');
      await a.api.putUpload('h/old.txt', 'x');
      const before = (await drainFeed(a.api, '0')).cursor;
      const continuation = (await changesPage(a.api, '0', { limit: 1 })).cursor;
      for (const bad of ['garbage', 'f1', `${before}x`, before.replace(/^f\d+/, 'f0'), '']) {
        expect([bad, (await a.api.changes(bad)).status]).toEqual([bad, 410]);
      }
      expect((await b.api.changes(before)).status).toBe(410);
      expect((await b.api.changes(continuation)).status).toBe(410);
      await platform().storage.deleteEntry(a.id, 'upload', 'h/old.txt');
      const after = (await drainFeed(a.api, before)).cursor;
      world.clock += 120_000;
      try {
        expect(await platform().storage.purgeTombstones()).toBeGreaterThan(0);
        const stale = await a.api.changes(before);
        expect([stale.status, errorCode(stale.json)]).toEqual([410, 'cursor_reset']);
        expect((await a.api.changes(after)).status).toBe(200);
      } finally {
        world.clock -= 120_000;
      }
    });
  });
}

function describeIsolation(name: string, platform: () => PlatformUnderTest, newAccount: NewAccount): void {
  describe(`${name}: isolation`, () => {
    it("A's token never reads, lists or overwrites B's entries", async () => {
      const secret = 'B-ONLY-SECRET';
      const a = await newAccount('iso-a@example.com');
      const b = await newAccount('iso-b@example.com');
      await b.api.putSite('st-b-site', `<p>${secret}</p>`, { path: 'b-folder/st-b-site.html' });
      await b.api.putUpload('b-folder/secret.txt', secret);
      await a.api.putSite('st-a-site', 'mine');
      for (const route of [
        '/sync/sites/st-b-site',
        '/sync/uploads/b-folder/secret.txt',
        '/sync/sites/st-b-site/versions',
      ]) {
        const response = await a.api.get(route);
        expect([route, response.status]).toEqual([route, 404]);
        expect(response.body.toString()).not.toContain(secret);
      }
      const listing = await drainFeed(a.api, '0');
      expect(listing.entries.map((e) => e.path)).toEqual(['st-a-site.html']);
      await b.api.putUpload('b-folder/later.txt', secret);
      expect((await changesPage(a.api, listing.cursor)).entries).toEqual([]);
      expect(errorCode((await a.api.putSite('st-b-site', 'overwrite', { baseVersion: 1 })).json)).toBe('name_taken');
      expect((await a.api.putUpload('b-folder/secret.txt', 'my own', { baseVersion: 1 })).status).toBe(201);
      expect((await b.api.get('/sync/uploads/b-folder/secret.txt')).body.toString()).toBe(secret);
      expect((await a.api.get('/sync/me')).json).toMatchObject({ usage: { sites: 1 } });
      expect(await platform().storage.readVersion(a.id, { kind: 'site', key: 'st-b-site' }, 1)).toBeNull();
    });
  });
}

function describeAuthStore(name: string, platform: () => PlatformUnderTest, world: { clock: number }): void {
  describe(`${name}: the AuthStore`, () => {
    it('a sign-in code is single use even when two exchanges race; expired codes are pruned', async () => {
      const auth = platform().authStore;
      const record = {
        accountId: 'acct-auth',
        redirectUri: 'http://127.0.0.1:5000/callback',
        codeChallenge: 'c'.repeat(43),
        deviceName: 'laptop',
        expiresAtMs: world.clock + 300_000,
      };
      await auth.saveCode('hash-one', record);
      const taken = await Promise.all([
        auth.takeCode('hash-one'),
        auth.takeCode('hash-one'),
        auth.takeCode('hash-one'),
      ]);
      expect(taken.filter((r) => r !== null)).toEqual([record]);
      await auth.saveCode('hash-old', { ...record, expiresAtMs: world.clock - 1 });
      await auth.saveCode('hash-two', record);
      expect(await auth.takeCode('hash-old')).toBeNull();
      expect(await auth.takeCode('hash-two')).toEqual(record);
    });

    it('a device sign-in: one live user code, decided once, taken by one of racing polls; slow_down; expiry', async () => {
      const auth = platform().authStore;
      const tag = `${world.clock}-${Math.random()}`;
      const now = world.clock;
      const record = {
        deviceCodeHash: `dev-${tag}`,
        userCodeHash: `user-${tag}`,
        deviceName: 'Server <1>',
        expiresAtMs: now + 600_000,
      };
      expect(await auth.saveDeviceCode(record)).toBe(true);
      // The same user code cannot be live twice.
      expect(await auth.saveDeviceCode({ ...record, deviceCodeHash: `dev-b-${tag}` })).toBe(false);
      expect(await auth.pendingDeviceCode(record.userCodeHash, now)).toEqual({ deviceName: 'Server <1>' });
      expect(await auth.pollDeviceCode(record.deviceCodeHash, now, 4000)).toEqual({ state: 'pending' });
      expect(await auth.pollDeviceCode(record.deviceCodeHash, now + 1000, 4000)).toEqual({ state: 'slow_down' });
      expect(await auth.pollDeviceCode(record.deviceCodeHash, now + 6000, 4000)).toEqual({ state: 'pending' });
      expect(await auth.decideDeviceCode(record.userCodeHash, now, 'acct-dev')).toBe(true);
      expect(await auth.decideDeviceCode(record.userCodeHash, now, null)).toBe(false);
      expect(await auth.pendingDeviceCode(record.userCodeHash, now)).toBeNull();
      const polls = await Promise.all(
        [1, 2, 3].map(() => auth.pollDeviceCode(record.deviceCodeHash, now + 20_000, 4000)),
      );
      expect(polls.filter((p) => p.state === 'allowed')).toEqual([
        { state: 'allowed', accountId: 'acct-dev', deviceName: 'Server <1>' },
      ]);
      expect(polls.filter((p) => p.state !== 'allowed')).toEqual([{ state: 'unknown' }, { state: 'unknown' }]);

      const denied = { ...record, deviceCodeHash: `dev-d-${tag}`, userCodeHash: `user-d-${tag}` };
      expect(await auth.saveDeviceCode(denied)).toBe(true);
      expect(await auth.decideDeviceCode(denied.userCodeHash, now, null)).toBe(true);
      expect(await auth.pollDeviceCode(denied.deviceCodeHash, now, 4000)).toEqual({ state: 'denied' });
      expect(await auth.pollDeviceCode(denied.deviceCodeHash, now + 5000, 4000)).toEqual({ state: 'unknown' });

      const late = {
        ...record,
        deviceCodeHash: `dev-l-${tag}`,
        userCodeHash: `user-l-${tag}`,
        expiresAtMs: now + 1000,
      };
      expect(await auth.saveDeviceCode(late)).toBe(true);
      expect(await auth.pendingDeviceCode(late.userCodeHash, now + 1000)).toBeNull();
      expect(await auth.decideDeviceCode(late.userCodeHash, now + 1000, 'acct-dev')).toBe(false);
      expect(await auth.pollDeviceCode(late.deviceCodeHash, now + 1000, 4000)).toEqual({ state: 'expired' });
    });

    it('keeps each device its name and last seen; revoking one or all of an account leaves others alone', async () => {
      const auth = platform().authStore;
      const account = `acct-devices-${world.clock}`;
      const laptop = await auth.createConnection(account, 'Laptop \u202egpj.exe');
      const phone = await auth.createConnection(account, 'Phone');
      const elsewhere = await auth.createConnection(`${account}-other`, 'Not mine');
      expect(await auth.connections(account)).toEqual(
        [
          { sid: laptop, deviceName: 'Laptop \u202egpj.exe', signedInAtMs: world.clock, lastSeenAtMs: null },
          { sid: phone, deviceName: 'Phone', signedInAtMs: world.clock, lastSeenAtMs: null },
        ].sort((a, b) => (a.sid < b.sid ? -1 : 1)),
      );
      await auth.touchConnection(phone, world.clock + 60_000);
      expect((await auth.connections(account)).map((d) => [d.sid, d.lastSeenAtMs])).toEqual([
        [phone, world.clock + 60_000],
        [laptop, null],
      ]);
      await auth.revokeConnection(laptop);
      expect((await auth.connections(account)).map((d) => d.sid)).toEqual([phone]);
      expect(await auth.revokeAccountConnections(account)).toBe(1);
      expect(await auth.connections(account)).toEqual([]);
      expect(await auth.connection(phone)).toEqual({ accountId: account, revoked: true });
      expect(await auth.connection(elsewhere)).toEqual({ accountId: `${account}-other`, revoked: false });
    });

    it('writes a device last seen at its first request, then at most once a minute', async () => {
      const account = platform().addAccount({ email: 'seen@example.com' });
      const api = syncApi(platform().url, await platform().tokenFor(account));
      expect((await platform().authStore.connections(account.id))[0]?.lastSeenAtMs).toBeNull();
      expect((await api.get('/sync/me')).status).toBe(200);
      const first = (await platform().authStore.connections(account.id))[0]?.lastSeenAtMs;
      expect(first).toBe(world.clock);
      world.clock += 30_000;
      await api.get('/sync/me');
      expect((await platform().authStore.connections(account.id))[0]?.lastSeenAtMs).toBe(first);
      world.clock += 31_000;
      await api.get('/sync/me');
      expect((await platform().authStore.connections(account.id))[0]?.lastSeenAtMs).toBe(world.clock);
    });

    it('logout revokes the connection: its token is refused with 401', async () => {
      const account = platform().addAccount({ email: 'logout@example.com' });
      const api = syncApi(platform().url, await platform().tokenFor(account));
      expect((await api.get('/sync/me')).status).toBe(200);
      expect((await api.request('POST', '/sync/logout')).status).toBe(204);
      const after = await api.get('/sync/me');
      expect([after.status, errorCode(after.json)]).toEqual([401, 'unauthorized']);
    });
  });
}
