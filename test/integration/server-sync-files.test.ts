// PROTOCOL.md "Files" and the error table, by real HTTP requests to a real platform on 127.0.0.1.

import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_FILE_BYTES } from '../../protocol/index.js';
import { errorCode } from '../helpers/feed.js';
import { type SyncApi, sha256Hex, startTestPlatform, syncApi, type TestPlatform } from '../helpers/platform.js';

let platform: TestPlatform;
let api: SyncApi;
let token: string;

beforeAll(async () => {
  platform = await startTestPlatform({ minClientVersion: '1.2.0' });
  const account = platform.addAccount({ email: 'files@example.com' });
  token = await platform.tokenFor(account);
  api = syncApi(platform.url, token);
});
afterAll(() => platform.close());

describe('PUT outcomes (PROTOCOL.md "Files")', () => {
  it('creates a new site at its X-Path folder (201), then GET returns it with its headers', async () => {
    const created = await api.putSite('outcome-new', '<h1>v1</h1>', { path: 'My Blog/Outcome-New.html' });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      kind: 'site',
      name: 'outcome-new',
      path: 'My Blog/outcome-new.html',
      version: 1,
    });
    expect(created.headers.get('x-server-time')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const got = await api.get('/sync/sites/outcome-new');
    expect(got.status).toBe(200);
    expect(got.body.toString()).toBe('<h1>v1</h1>');
    expect(got.headers.get('content-type')).toMatch(/^text\/html/);
    expect(got.headers.get('etag')).toBe(`"${sha256Hex('<h1>v1</h1>')}"`);
    expect(got.headers.get('x-version')).toBe('1');
    expect(got.headers.get('x-path')).toBe('My%20Blog/outcome-new.html');
    expect(got.headers.get('x-updated-at')).toBe(created.json.updatedAt);
  });

  it('same sha256 is 200 with the current entry and makes no new version', async () => {
    await api.putSite('outcome-same', 'same');
    const again = await api.putSite('outcome-same', 'same', { baseVersion: 0, modifiedAt: 0 });
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ version: 1 });
    expect((await api.get('/sync/sites/outcome-same/versions')).json).toEqual({ versions: [] });
  });

  it('base version equal to current saves (200) and keeps the replaced version as a backup', async () => {
    await api.putSite('outcome-base', 'one');
    const saved = await api.putSite('outcome-base', 'two', { baseVersion: 1, modifiedAt: Date.now() - 86_400_000 });
    expect(saved.status).toBe(200);
    expect(saved.json).toMatchObject({ version: 2, sha256: sha256Hex('two') });
    const versions = await api.get('/sync/sites/outcome-base/versions');
    expect(versions.json).toMatchObject({ versions: [{ version: 1, size: 3, sha256: sha256Hex('one') }] });
  });

  it('last write wins: a later X-Modified-At saves; an equal or earlier one is 409 conflict with current', async () => {
    const first = await api.putSite('outcome-lww', 'server copy');
    const updatedAt = Date.parse(first.json.updatedAt as string);
    const equal = await api.putSite('outcome-lww', 'stale edit', { baseVersion: 0, modifiedAt: updatedAt });
    expect(equal.status).toBe(409);
    expect(equal.json.error).toMatchObject({
      code: 'conflict',
      current: { version: 1, sha256: sha256Hex('server copy') },
    });
    const later = await api.putSite('outcome-lww', 'newer edit', { baseVersion: 0, modifiedAt: updatedAt + 1 });
    expect(later.status).toBe(200);
    expect(later.json).toMatchObject({ version: 2 });
    expect((await api.get('/sync/sites/outcome-lww')).body.toString()).toBe('newer edit');
  });

  it('a save stamped in the future is stored as server now', async () => {
    const before = Date.now();
    const saved = await api.putSite('outcome-future', 'x', { modifiedAt: Date.now() + 3_600_000 });
    expect(Date.parse(saved.json.updatedAt as string)).toBeLessThanOrEqual(Date.now());
    expect(Date.parse(saved.json.updatedAt as string)).toBeGreaterThanOrEqual(before);
  });

  it('an existing site never moves: X-Path of a later save is ignored', async () => {
    await api.putSite('outcome-stay', 'a', { path: 'here/outcome-stay.html' });
    const moved = await api.putSite('outcome-stay', 'b', { baseVersion: 1, path: 'there/outcome-stay.html' });
    expect(moved.json).toMatchObject({ path: 'here/outcome-stay.html', version: 2 });
  });

  it('uploads: percent-encoded segments, case-sensitive identity, bytes round-trip', async () => {
    const bytes = Uint8Array.from([0, 1, 2, 255, 254]);
    const created = await api.putUpload('images/Ünï cödé #1.png', bytes);
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ kind: 'upload', path: 'images/Ünï cödé #1.png', size: 5 });
    const twin = await api.putUpload('images/ünï cödé #1.png', 'other');
    expect(twin.status).toBe(201);
    const got = await api.get('/sync/uploads/images/%C3%9Cn%C3%AF%20c%C3%B6d%C3%A9%20%231.png');
    expect(got.status).toBe(200);
    expect([...got.body]).toEqual([...bytes]);
    expect(got.headers.get('x-path')).toBe('images/%C3%9Cn%C3%AF%20c%C3%B6d%C3%A9%20%231.png');
  });

  it('an NFD upload path is the same entry as its NFC twin', async () => {
    await api.putUpload('nfc/caf\u00e9.txt', 'one');
    const nfd = await api.putUpload('nfc/cafe\u0301.txt', 'two', { baseVersion: 1 });
    expect(nfd.status).toBe(200);
    expect(nfd.json).toMatchObject({ path: 'nfc/caf\u00e9.txt', version: 2 });
  });

  it('folders: 201 creates it and its parents, 200 when it exists', async () => {
    const created = await api.putFolder('deep/er/folder');
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ kind: 'folder', path: 'deep/er/folder' });
    expect((await api.putFolder('deep/er')).status).toBe(200);
    expect((await api.putFolder('deep/er/folder')).status).toBe(200);
  });
});

describe('the error table, by real requests', () => {
  it('400 bad_request: missing or malformed headers, Content-SHA256 mismatch, bad session body, bad limit', async () => {
    const noSha = await api.putSite('bad-req', 'x', { headers: { 'Content-SHA256': '' } });
    expect([noSha.status, errorCode(noSha.json)]).toEqual([400, 'bad_request']);
    const mismatch = await api.putSite('bad-req', 'x', { sha256: sha256Hex('y') });
    expect([mismatch.status, errorCode(mismatch.json)]).toEqual([400, 'bad_request']);
    const noBase = await api.putSite('bad-req', 'x', { headers: { 'X-Base-Version': 'one' } });
    expect([noBase.status, errorCode(noBase.json)]).toEqual([400, 'bad_request']);
    const badTime = await api.putSite('bad-req', 'x', { modifiedAt: 'yesterday' });
    expect([badTime.status, errorCode(badTime.json)]).toEqual([400, 'bad_request']);
    const otherSite = await api.putSite('bad-req', 'x', { path: 'folder/other.html' });
    expect([otherSite.status, errorCode(otherSite.json)]).toEqual([400, 'bad_request']);
    const session = await api.request('POST', '/sync/sessions', { body: '{not json' });
    expect([session.status, errorCode(session.json)]).toEqual([400, 'bad_request']);
    const limit = await api.changes('0', { limit: 1001 });
    expect([limit.status, errorCode(limit.json)]).toEqual([400, 'bad_request']);
    const wait = await api.changes('0', { wait: 31 });
    expect([wait.status, errorCode(wait.json)]).toEqual([400, 'bad_request']);
    expect((await api.get('/sync/sites/bad-req')).status).toBe(404);
  });

  it('400 invalid_name for bad and reserved site names', async () => {
    for (const name of ['Upper', 'a--b', '-lead', 'admin', 'con', 'x'.repeat(64), 'dot.name']) {
      const put = await api.putSite(name, 'x');
      expect([name, put.status, errorCode(put.json)]).toEqual([name, 400, 'invalid_name']);
    }
    const get = await api.get('/sync/sites/Upper');
    expect([get.status, errorCode(get.json)]).toEqual([400, 'invalid_name']);
  });

  it('400 invalid_path for uploads, folders and X-Path breaking the path rules', async () => {
    const cases = [
      '/sync/uploads/a%3Ab.txt',
      '/sync/uploads/trailing.%20',
      '/sync/uploads/back%5Cslash.txt',
      '/sync/uploads/CON.txt',
      '/sync/uploads/a%2Fb.txt',
      '/sync/uploads/ctrl%01.txt',
      `/sync/uploads/${'a/'.repeat(9)}x.txt`,
      `/sync/uploads/${'x'.repeat(256)}`,
      '/sync/uploads/page.HTML',
    ];
    for (const route of cases) {
      const put = await api.request('PUT', route, {
        body: 'x',
        headers: { 'X-Base-Version': '0', 'X-Modified-At': new Date().toISOString(), 'Content-SHA256': sha256Hex('x') },
      });
      expect([route, put.status, errorCode(put.json)]).toEqual([route, 400, 'invalid_path']);
    }
    const folder = await api.request('PUT', '/sync/folders/nul');
    expect([folder.status, errorCode(folder.json)]).toEqual([400, 'invalid_path']);
    const xpath = await api.putSite('xpath-bad', 'x', { headers: { 'X-Path': 'a%3A/xpath-bad.html' } });
    expect([xpath.status, errorCode(xpath.json)]).toEqual([400, 'invalid_path']);
  });

  it('404 not_found for missing sites, uploads, versions and endpoints', async () => {
    for (const route of [
      '/sync/sites/nothing-here',
      '/sync/uploads/no/such.png',
      '/sync/sites/nothing-here/versions',
      '/sync/nope',
    ]) {
      const got = await api.get(route);
      expect([route, got.status, errorCode(got.json)]).toEqual([route, 404, 'not_found']);
    }
  });

  it('409 path_conflict: a file over a folder, a folder over a file, a file inside a file', async () => {
    await api.putFolder('pc/dir');
    const fileOverFolder = await api.putUpload('pc/dir', 'x');
    expect([fileOverFolder.status, errorCode(fileOverFolder.json)]).toEqual([409, 'path_conflict']);
    await api.putUpload('pc/file', 'x');
    const folderOverFile = await api.putFolder('pc/file');
    expect([folderOverFile.status, errorCode(folderOverFile.json)]).toEqual([409, 'path_conflict']);
    const inside = await api.putSite('pc-inside', 'x', { path: 'pc/file/pc-inside.html' });
    expect([inside.status, errorCode(inside.json)]).toEqual([409, 'path_conflict']);
    const below = await api.putFolder('pc/file/sub');
    expect([below.status, errorCode(below.json)]).toEqual([409, 'path_conflict']);
  });

  it('409 name_taken when another account holds the site name', async () => {
    const other = platform.addAccount({ email: 'other@example.com' });
    const otherApi = syncApi(platform.url, await platform.tokenFor(other));
    expect((await otherApi.putSite('claimed', 'theirs')).status).toBe(201);
    const mine = await api.putSite('claimed', 'mine');
    expect([mine.status, errorCode(mine.json)]).toEqual([409, 'name_taken']);
    expect((await otherApi.get('/sync/sites/claimed')).body.toString()).toBe('theirs');
  });

  it('403 site_limit_reached on create, and storage_limit_reached over current content only', async () => {
    const small = platform.addAccount({ email: 'small@example.com', maxSites: 1, maxStorageBytes: 100 });
    const smallApi = syncApi(platform.url, await platform.tokenFor(small));
    expect((await smallApi.putSite('limit-one', 'x'.repeat(60))).status).toBe(201);
    const second = await smallApi.putSite('limit-two', 'x');
    expect([second.status, errorCode(second.json)]).toEqual([403, 'site_limit_reached']);
    expect((second.json.error as { message: string }).message).toBe(
      "You've run out of sites. We can't sync any more sites.",
    );
    const over = await smallApi.putUpload('big.bin', 'y'.repeat(41));
    expect([over.status, errorCode(over.json)]).toEqual([403, 'storage_limit_reached']);
    // Replacing the site keeps a 60-byte backup that does not count: 100 bytes of current content still fit.
    expect((await smallApi.putSite('limit-one', 'z'.repeat(100), { baseVersion: 1 })).status).toBe(200);
    const me = await smallApi.get('/sync/me');
    expect(me.json).toMatchObject({
      limits: { maxSites: 1, maxFileBytes: MAX_FILE_BYTES, maxStorageBytes: 100 },
      usage: { sites: 1, storageBytes: 100 },
      user: { email: 'small@example.com', plan: 'paid' },
      minClientVersion: '1.2.0',
    });
  });

  it('413 too_large from Content-Length alone, before any body is read', async () => {
    const status = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(`${platform.url}/sync/uploads/huge.bin`, {
        method: 'PUT',
        headers: {
          authorization: `Bearer ${token}`,
          'content-length': String(MAX_FILE_BYTES + 1),
          'x-base-version': '0',
          'x-modified-at': new Date().toISOString(),
          'content-sha256': sha256Hex('x'),
        },
      });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.flushHeaders(); // headers only: the body never comes, so an answer proves nothing was buffered
    });
    expect(status.status).toBe(413);
    expect(JSON.parse(status.body).error.code).toBe('too_large');
  });

  it('413 too_large for a chunked body that grows past 20 MiB, counted while streaming', async () => {
    const result = await new Promise<{ status: number; body: string; sent: number }>((resolve, reject) => {
      let sent = 0;
      let answered = false;
      const req = httpRequest(`${platform.url}/sync/uploads/stream.bin`, {
        method: 'PUT',
        headers: {
          authorization: `Bearer ${token}`,
          'transfer-encoding': 'chunked',
          'x-base-version': '0',
          'x-modified-at': new Date().toISOString(),
          'content-sha256': sha256Hex('x'),
        },
      });
      const chunk = Buffer.alloc(1024 * 1024, 7);
      const pump = () => {
        while (!answered && sent < 200 * 1024 * 1024) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        if (!answered) req.end();
      };
      req.on('response', (res) => {
        answered = true;
        let body = '';
        res.on('data', (part) => {
          body += part;
        });
        res.on('end', () => {
          req.destroy();
          resolve({ status: res.statusCode ?? 0, body, sent });
        });
      });
      req.on('error', (error) => (answered ? undefined : reject(error)));
      pump();
    });
    expect(result.status).toBe(413);
    expect(JSON.parse(result.body).error.code).toBe('too_large');
    // The server answered long before the 200 MiB the client was willing to send.
    expect(result.sent).toBeLessThan(200 * 1024 * 1024);
  });

  it('a file of exactly 20 MiB is accepted', async () => {
    const exact = Buffer.alloc(MAX_FILE_BYTES, 1);
    const put = await api.putUpload('exact.bin', exact);
    expect(put.status).toBe(201);
    expect(put.json).toMatchObject({ size: MAX_FILE_BYTES });
  });

  it('426 client_outdated with minClientVersion; 201 with cursor "0" for a current client', async () => {
    const old = await api.session('laptop', '1.1.9');
    expect(old.status).toBe(426);
    expect(old.json.error).toMatchObject({ code: 'client_outdated', minClientVersion: '1.2.0' });
    const pre = await api.session('laptop', '1.2.0-beta.1');
    expect(pre.status).toBe(426);
    const ok = await api.session('laptop', '1.2.0');
    expect(ok.status).toBe(201);
    expect(ok.json).toMatchObject({ cursor: '0' });
    expect(typeof ok.json.sessionId).toBe('string');
  });

  it('401 unauthorized without or with a forged token; 402 subscription_required for an unpaid plan', async () => {
    const none = await syncApi(platform.url, null).get('/sync/me');
    expect([none.status, errorCode(none.json)]).toEqual([401, 'unauthorized']);
    const forged = await syncApi(platform.url, `${token.slice(0, -4)}AAAA`).get('/sync/me');
    expect([forged.status, errorCode(forged.json)]).toEqual([401, 'unauthorized']);
    const free = platform.addAccount({ email: 'free@example.com', paid: false });
    const unpaid = await syncApi(platform.url, await platform.tokenFor(free)).putSite('free-site', 'x');
    expect([unpaid.status, errorCode(unpaid.json)]).toEqual([402, 'subscription_required']);
    expect(await platform.storage.siteOwner('free-site')).toBeNull();
  });

  it('500 and nothing changed when the backup of the replaced version cannot be kept', async () => {
    await api.putSite('no-backup', 'precious');
    const { unlinkSync } = await import('node:fs');
    const { join } = await import('node:path');
    const sha = sha256Hex('precious');
    unlinkSync(join(platform.storage.dir, 'blobs', sha.slice(0, 2), sha));
    const put = await api.putSite('no-backup', 'replacement', { baseVersion: 1 });
    expect([put.status, errorCode(put.json)]).toEqual([500, 'internal']);
    const versions = await api.get('/sync/sites/no-backup/versions');
    expect(versions.json).toEqual({ versions: [] });
  });
});
