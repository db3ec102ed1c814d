// PROTOCOL.md "Batches" from the engine's side, end to end against the reference platform: many small files go up
// in /sync/batch and come down in /sync/fetch, a lone save is still one PUT at once, each item's outcome is its
// single request's (a site over the limit, a lost conflict), a failed batch loses nothing, and a platform without
// the batch routes still gets everything one file at a time.

import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SyncEngine } from '../../sync-engine/engine.js';
import { backupsOf, filesOf, until, useSyncWorld } from '../helpers/engine.js';
import { type FaultyProxy, startFaultyProxy } from '../helpers/faulty-proxy.js';
import { hostileEngine, startHostilePlatform } from '../helpers/hostile-platform.js';

/** `count` small files, sites and uploads, some in folders; name → content. */
function smallFiles(count: number, tag = ''): Map<string, string> {
  const files = new Map<string, string>();
  for (let i = 0; i < count; i++) {
    const name = i % 3 === 0 ? `page-${i}.html` : i % 3 === 1 ? `docs/sub/note-${i}.txt` : `img/pic-${i}.bin`;
    files.set(name, `${tag}content of file ${i} `.repeat(1 + (i % 40)));
  }
  return files;
}

function writeAll(folder: string, files: Map<string, string>): void {
  for (const [name, content] of files) {
    mkdirSync(path.dirname(path.join(folder, name)), { recursive: true });
    writeFileSync(path.join(folder, name), content);
  }
}

const readIn = (folder: string, name: string) => readFileSync(path.join(folder, name), 'utf8');
const site = (name: string) => name.replace(/^.*\//, '').replace(/\.html$/, '');

/** Every file of `files` on the platform with its content (by the sha256 of a complete listing). */
async function allOnPlatform(world: ReturnType<typeof useSyncWorld>, files: Map<string, string>): Promise<boolean> {
  const listing = await world.platform.listing(world.account());
  const sums = new Map(listing.map((entry) => [entry.path, entry.sha256]));
  for (const [name, content] of files) {
    if (sums.get(name) !== createHash('sha256').update(content).digest('hex')) return false;
  }
  return true;
}

describe('batches against the reference platform', () => {
  const world = useSyncWorld({ clientDefaults: { pollSeconds: 0.3 } });
  const requests = (prefix: string, from = 0) =>
    world.platform.requests.slice(from).filter((line) => line.startsWith(prefix));
  const singlePuts = (from = 0) => [...requests('PUT /sync/sites/', from), ...requests('PUT /sync/uploads/', from)];
  const singleGets = (from = 0) => [...requests('GET /sync/sites/', from), ...requests('GET /sync/uploads/', from)];

  it('a first sync of 300 small files goes up in a handful of /sync/batch requests, every file whole', {
    timeout: 60_000,
  }, async () => {
    const a = world.client();
    const files = smallFiles(300);
    writeAll(a.folder, files);
    const report = await a.engine.syncOnce();
    expect(report.outcomes.filter((o) => o.action === 'push' && o.result === 'pushed').length).toBe(300);
    expect(await allOnPlatform(world, files)).toBe(true);
    const batches = requests('POST /sync/batch ');
    expect(batches.length).toBeGreaterThanOrEqual(2);
    expect(batches.length).toBeLessThanOrEqual(6);
    expect(batches.every((line) => line.includes(' 200 '))).toBe(true);
    expect(singlePuts()).toEqual([]);
    // Recorded as synced: a second sync transfers nothing.
    const again = await a.engine.syncOnce();
    expect(again.outcomes.filter((o) => o.result === 'pushed' || o.result === 'pulled')).toEqual([]);
  });

  it('files edited while the first session sends them in batches end on the platform with the newer content', {
    timeout: 60_000,
  }, async () => {
    const a = world.client();
    const files = smallFiles(200, 'first: ');
    writeAll(a.folder, files);
    const starting = a.engine.start();
    // Edited while the session lists, scans or sends (or just after: the test holds either way).
    await until(() => requests('POST /sync/sessions').length > 0, 'the session opened');
    const edited = new Map([...files].filter((_, i) => i % 10 === 0).map(([name]) => [name, `edited: ${name}`]));
    writeAll(a.folder, edited);
    await starting;
    const final = new Map([...files, ...edited]);
    await until(() => allOnPlatform(world, final), 'the newer content of every file on the platform', 40_000);
    await a.engine.idle();
    expect(await allOnPlatform(world, final)).toBe(true);
    for (const [name, content] of edited) expect(readIn(a.folder, name)).toBe(content);
  });

  it('many small files come down to an empty folder through /sync/fetch, checked and in place', {
    timeout: 60_000,
  }, async () => {
    const a = world.client();
    const files = smallFiles(120, 'from A: ');
    writeAll(a.folder, files);
    await a.engine.syncOnce();
    const before = world.platform.requests.length;
    const b = world.client();
    await b.engine.start();
    await b.engine.idle();
    await until(() => filesOf(b.folder).length === files.size, 'every file on B');
    for (const [name, content] of files) expect(readIn(b.folder, name)).toBe(content);
    // Nothing else in the folder: no temp file was left behind.
    expect(filesOf(b.folder)).toEqual([...files.keys()].sort());
    expect(requests('POST /sync/fetch ', before).length).toBeGreaterThanOrEqual(1);
    expect(requests('POST /sync/fetch ', before).length).toBeLessThanOrEqual(4);
    expect(singleGets(before)).toEqual([]);
  });

  it('a single save while idle is one PUT at once, never a batch', async () => {
    const a = world.client();
    writeAll(a.folder, smallFiles(10));
    await a.engine.start();
    await a.engine.idle();
    let before = world.platform.requests.length;
    writeFileSync(path.join(a.folder, 'page-0.html'), '<p>edited once</p>');
    await until(
      async () => (await world.platform.remote(world.account(), 'site', 'page-0')) === '<p>edited once</p>',
      'the edit on the platform',
    );
    await a.engine.idle();
    expect(singlePuts(before)).toEqual([expect.stringMatching(/^PUT \/sync\/sites\/page-0 200 /)]);
    expect(requests('POST /sync/batch', before)).toEqual([]);
    // A new file: created by one PUT. (The watcher may report a new file twice; the second report of a file that is
    // not agreed yet is sent again and answered "already there": never a batch either way.)
    before = world.platform.requests.length;
    writeFileSync(path.join(a.folder, 'saved.html'), '<p>saved once</p>');
    await until(
      async () => (await world.platform.remote(world.account(), 'site', 'saved')) === '<p>saved once</p>',
      'the save on the platform',
    );
    await a.engine.idle();
    const puts = singlePuts(before);
    expect(puts[0]).toMatch(/^PUT \/sync\/sites\/saved 201 /);
    expect(puts.slice(1).every((line) => /^PUT \/sync\/sites\/saved 200 /.test(line))).toBe(true);
    expect(requests('POST /sync/batch', before)).toEqual([]);
  });

  it('a platform change of many files reaches disk through /sync/fetch at the next poll, old copies backed up', {
    timeout: 60_000,
  }, async () => {
    // Plain polls every 3 s: the platform's saves (well under 3 s) come in at most two polls, one of them with 6+.
    const a = world.client({ pollSeconds: 3, engine: { live: false } });
    const names = Array.from({ length: 12 }, (_, i) => `live-${i}.html`);
    for (const name of names) writeFileSync(path.join(a.folder, name), `v1 ${name}`);
    await a.engine.start();
    await a.engine.idle();
    const before = world.platform.requests.length;
    for (const name of names) await world.platform.platformSave(world.account(), site(name), `v2 ${name}`);
    await until(() => names.every((name) => readIn(a.folder, name) === `v2 ${name}`), 'every edit on disk', 20_000);
    expect(requests('POST /sync/fetch ', before).length).toBeGreaterThanOrEqual(1);
    const kept = [...backupsOf(a.folder).values()];
    for (const name of names) expect(kept).toContain(`v1 ${name}`);
  });
});

describe('each item of a batch has its single request outcome', () => {
  const world = useSyncWorld({
    specs: [{ email: 'ada@example.com', maxSites: 6 }],
    clientDefaults: { pollSeconds: 0.3 },
  });

  it('one site over the site limit is skipped with the notice, one lost conflict comes down, the rest arrive', {
    timeout: 60_000,
  }, async () => {
    const account = world.account();
    // The platform's version of `shared` is newer than the local one (an hour older): the local write loses.
    expect((await world.platform.put(account, 'site', 'shared', 'the platform wins')).status).toBe(201);
    const before = world.platform.requests.length;
    const a = world.client();
    writeFileSync(path.join(a.folder, 'shared.html'), 'the local copy loses');
    const hourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(path.join(a.folder, 'shared.html'), hourAgo, hourAgo);
    // Six new sites where five fit, and uploads, which the site limit does not count.
    for (let i = 0; i < 6; i++) writeFileSync(path.join(a.folder, `new-${i}.html`), `new site ${i}`);
    for (let i = 0; i < 6; i++) writeFileSync(path.join(a.folder, `file-${i}.txt`), `upload ${i}`);
    const report = await a.engine.syncOnce();
    const sent = world.platform.requests.slice(before);
    expect(sent.filter((l) => l.startsWith('POST /sync/batch ')).length).toBeGreaterThanOrEqual(1);
    expect(sent.filter((l) => l.startsWith('PUT /sync/'))).toEqual([]);
    // The conflict: the winner on disk, the loser kept in sites-versions, the platform unchanged.
    expect(readIn(a.folder, 'shared.html')).toBe('the platform wins');
    expect([...backupsOf(a.folder).values()]).toContain('the local copy loses');
    expect(await world.platform.remote(account, 'site', 'shared')).toBe('the platform wins');
    expect(report.outcomes.find((o) => o.path === 'shared.html')?.result).toBe('conflict');
    // The site limit: exactly one new site refused, skipped (not failed), kept on disk, the notice shown.
    const onPlatform = [];
    for (let i = 0; i < 6; i++) onPlatform.push(await world.platform.remote(account, 'site', `new-${i}`));
    expect(onPlatform.filter((content) => content === null).length).toBe(1);
    const refused = report.outcomes.filter((o) => o.result === 'skipped');
    expect(refused.map((o) => o.path)).toEqual([`new-${onPlatform.indexOf(null)}.html`]);
    expect(refused[0]?.detail).toContain('site_limit_reached');
    expect(a.status.current.notice?.code).toBe('site_limit_reached');
    expect(filesOf(a.folder)).toContain(refused[0]?.path);
    for (let i = 0; i < 6; i++)
      expect(await world.platform.remote(account, 'upload', `file-${i}.txt`)).toBe(`upload ${i}`);
    expect(report.outcomes.filter((o) => o.result === 'failed')).toEqual([]);
  });
});

describe('a batch that fails as a whole loses nothing', () => {
  const world = useSyncWorld({ clientDefaults: { pollSeconds: 0.3 } });
  let proxy: FaultyProxy | null = null;

  afterEach(async () => {
    await proxy?.close();
    proxy = null;
  });

  /** Breaks the first `times` requests to `route` with `fault`, then lets everything through. */
  function breakFirst(route: string, times: number, fault: 'cut-request' | '503' | { cutAnswerAfter: number }) {
    let left = times;
    proxy!.fault = (method, p) => (method === 'POST' && p === route && left-- > 0 ? fault : 'pass');
  }

  it('uploads cut mid-body: after recovery every file is on the platform', { timeout: 90_000 }, async () => {
    proxy = await startFaultyProxy(() => world.platform.url);
    const a = world.client({ origin: proxy.url });
    const files = smallFiles(150, 'cut: ');
    writeAll(a.folder, files);
    breakFirst('/sync/batch', 5, 'cut-request');
    await a.engine.start();
    await until(() => allOnPlatform(world, files), 'every file on the platform', 60_000);
    expect(proxy.broken.length).toBe(5);
  });

  it('whole batches answered 503 until the retries run out: nothing is recorded, the next sync sends it all', {
    timeout: 90_000,
  }, async () => {
    proxy = await startFaultyProxy(() => world.platform.url);
    const a = world.client({ origin: proxy.url });
    const files = smallFiles(60, '503: ');
    writeAll(a.folder, files);
    // The client tries a request four times (test retry delays): the fifth attempt gets through.
    breakFirst('/sync/batch', 4, '503');
    const first = await a.engine.syncOnce();
    expect(first.outcomes.filter((o) => o.result === 'failed').length).toBe(files.size);
    expect(first.failed).toBe(files.size);
    // Nothing recorded and nothing on the platform but the folders (created before the transfers).
    expect((await world.platform.listing(world.account())).filter((entry) => entry.kind !== 'folder')).toEqual([]);
    const second = await a.engine.syncOnce();
    expect(second.outcomes.filter((o) => o.result === 'pushed').length).toBe(files.size);
    expect(second.failed).toBe(0);
    expect(await allOnPlatform(world, files)).toBe(true);
    expect(proxy.broken.length).toBe(4);
  });

  it('a fetch answer cut part-way: after recovery every file is in place, no temp file left', {
    timeout: 90_000,
  }, async () => {
    const source = world.client();
    const files = smallFiles(90, 'down: ');
    writeAll(source.folder, files);
    await source.engine.syncOnce();
    proxy = await startFaultyProxy(() => world.platform.url);
    breakFirst('/sync/fetch', 5, { cutAnswerAfter: 20_000 });
    const b = world.client({ origin: proxy.url });
    await b.engine.start();
    await until(() => filesOf(b.folder).length === files.size, 'every file on B', 60_000);
    await b.engine.idle();
    expect(proxy.broken.length).toBe(5);
    for (const [name, content] of files) expect(readIn(b.folder, name)).toBe(content);
    expect(filesOf(b.folder)).toEqual([...files.keys()].sort());
  });
});

describe('a platform without the batch routes', () => {
  let root = '';
  let engine: SyncEngine | null = null;

  afterEach(async () => {
    await engine?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('answers 404 to /sync/batch: every file still goes up as a single PUT, and batches are not tried again', async () => {
    const platform = await startHostilePlatform();
    try {
      root = mkdtempSync(path.join(os.tmpdir(), 'hc-nobatch-'));
      const folder = path.join(root, 'sync');
      mkdirSync(folder);
      const names = Array.from({ length: 10 }, (_, i) => `old-${i}.html`);
      for (const name of names) writeFileSync(path.join(folder, name), `<p>${name}</p>`);
      const lines: string[] = [];
      engine = hostileEngine(platform, { folder, home: path.join(root, 'home'), lines, pollSeconds: 0.3 });
      await engine.start();
      const puts = () => platform.requests.filter((r) => r.method === 'PUT').map((r) => r.path);
      await until(() => puts().length === names.length, 'every file as a single PUT');
      expect(puts().sort()).toEqual(names.map((name) => `/sync/sites/${site(name)}`).sort());
      expect(platform.requests.filter((r) => r.path === '/sync/batch').length).toBe(1);
      expect(lines.some((l) => l.includes('does not know /sync/batch'))).toBe(true);
      // More files later, as a burst the next session sees: straight to single PUTs.
      await engine.stop();
      for (let i = 0; i < 6; i++) writeFileSync(path.join(folder, `late-${i}.html`), `late ${i}`);
      await engine.syncOnce();
      await until(() => puts().length === names.length + 6, 'the late files as single PUTs');
      expect(platform.requests.filter((r) => r.path === '/sync/batch').length).toBe(1);
    } finally {
      await platform.close();
    }
  });
});
