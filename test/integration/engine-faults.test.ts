// Issue 8's stalls and lapses, each against the behaviour SPEC.md promises ("Sessions and polling", "When the folder
// itself goes away", "Errors, retries, offline", "The folder"): a folder deeper than the OS allows, a listing that
// never ends, a trickling download, one malformed entry, a refusal that cannot change by retrying, a site limit, a
// stop while offline, NFC/NFD twins, and the sync folder going away and coming back.

import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApiClient } from '../../sync-engine/endpoints.js';
import { createSyncEngine, type SyncEngine } from '../../sync-engine/engine.js';
import { StatusModel } from '../../sync-engine/status.js';
import { backupsOf, filesOf, until, useSyncWorld } from '../helpers/engine.js';
import { type HostilePlatform, hostileEngine, sha, startHostilePlatform } from '../helpers/hostile-platform.js';

describe('against a hostile platform', () => {
  let root: string;
  let folder: string;
  let platform: HostilePlatform;
  let engine: SyncEngine | null;
  let lines: string[];

  beforeEach(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'hc-faults-'));
    folder = path.join(root, 'sync');
    mkdirSync(folder);
    lines = [];
    engine = null;
    platform = await startHostilePlatform();
  });

  afterEach(async () => {
    await engine?.stop();
    await platform.close();
    rmSync(root, { recursive: true, force: true });
  });

  const start = async (options: { pollSeconds?: number; timeoutMs?: number } = {}): Promise<SyncEngine> => {
    engine = hostileEngine(platform, { folder, home: path.join(root, 'home'), lines, ...options });
    await engine.start();
    return engine;
  };
  const changesRequests = () => platform.requests.filter((r) => r.path === '/sync/changes');

  it('a listing that never ends (hasMore, the same cursor) is one logged platform error, no busy loop, and stop ends it', async () => {
    platform.changes = () => ({ entries: [], cursor: '5', hasMore: true });
    await start();
    await until(() => lines.some((l) => l.startsWith('error') && l.includes('does not end')), 'the error logged');
    await engine!.stop();
    engine = null;
    // One session's first page and the one that came back with the same cursor: not thousands.
    expect(changesRequests().length).toBeLessThanOrEqual(4);
    expect(lines.filter((l) => l.includes('does not end'))).toHaveLength(1);
  });

  it('a trickling download holds up nothing: pushes and polls go on, and it is abandoned at its deadline', async () => {
    platform.files.push({
      kind: 'upload',
      path: 'slow.bin',
      sha256: sha('x'.repeat(400)),
      size: 400,
      body: { trickle: 500 },
    });
    await start({ pollSeconds: 0.2, timeoutMs: 1500 });
    writeFileSync(path.join(folder, 'new.html'), '<p>saved while the download trickles</p>');
    await until(() => platform.requests.some((r) => r.method === 'PUT' && r.path === '/sync/sites/new'), 'the push');
    await until(() => changesRequests().some((r) => r.query.get('cursor') !== '0'), 'a poll');
    await until(() => lines.some((l) => l.includes('slow.bin') && l.includes('took longer than')), 'the deadline');
    expect(existsSync(path.join(folder, 'slow.bin'))).toBe(false);
  });

  it('one malformed entry is logged once and skipped on its own; the rest of its page is applied', async () => {
    platform.files.push(
      { kind: 'upload', path: '../x', sha256: sha('evil'), size: 4, body: 'evil' },
      { kind: 'upload', path: 'good.txt', sha256: sha('honest'), size: 6, body: 'honest' },
    );
    await start({ pollSeconds: 0.2 });
    await until(() => existsSync(path.join(folder, 'good.txt')), 'the good file');
    const polls = changesRequests().length;
    await until(() => changesRequests().length >= polls + 3, 'three more polls');
    expect(lines.filter((l) => l.includes('../x'))).toHaveLength(1);
    expect(readdirSync(root).sort()).toEqual(['home', 'sync']);
  });

  it('a download that finds a newer version than the feed said is tried again with that version, not the stale one forever', async () => {
    // The feed lists "old" once and then nothing more (its change lies behind the cursor); the platform serves "new".
    const listed = { kind: 'upload', path: 'moved-on.txt', size: 3, sha256: sha('old'), version: 1, seq: 1 };
    platform.changes = (query) => ({
      entries: query.get('cursor') === '0' ? [{ ...listed, updatedAt: '2026-11-25T10:00:00.000Z' }] : [],
      cursor: '2',
      hasMore: false,
    });
    platform.files.push({ kind: 'upload', path: 'moved-on.txt', sha256: sha('new'), size: 3, body: 'new' });
    await start({ pollSeconds: 0.2 });
    await until(() => existsSync(path.join(folder, 'moved-on.txt')), 'the file as the platform holds it now');
    expect(readFileSync(path.join(folder, 'moved-on.txt'), 'utf8')).toBe('new');
    const failures = lines.filter((l) => l.includes('moved-on.txt') && l.includes('no longer the version'));
    expect(failures).toHaveLength(1);
  });

  it('a listed entry that is malformed still counts as present: its file is not read as deleted on the platform', async () => {
    platform.files.push({ kind: 'upload', path: 'kept.txt', sha256: sha('kept'), size: 4, body: 'kept' });
    await start();
    await until(() => existsSync(path.join(folder, 'kept.txt')), 'the first download');
    await engine!.stop();
    platform.files[0]!.malformed = true;
    await start();
    await engine!.idle();
    expect(readFileSync(path.join(folder, 'kept.txt'), 'utf8')).toBe('kept');
    expect(backupsOf(folder).size).toBe(0);
    expect(lines.some((l) => l.startsWith('error') && l.includes('kept.txt') && l.includes('refused'))).toBe(true);
  });

  it('a pull through a symlink is logged once as skipped, not an error at every poll', async () => {
    const outside = path.join(root, 'outside');
    mkdirSync(outside);
    symlinkSync(outside, path.join(folder, 'link'));
    platform.files.push({
      kind: 'site',
      name: 'sneaky',
      path: 'link/sneaky.html',
      sha256: sha('<p>'),
      size: 3,
      body: '<p>',
    });
    await start({ pollSeconds: 0.2 });
    await until(() => lines.some((l) => l.includes('link/sneaky.html')), 'the refusal');
    const polls = changesRequests().length;
    await until(() => changesRequests().length >= polls + 3, 'three more polls');
    const about = lines.filter((l) => l.includes('link/sneaky.html'));
    expect(about).toHaveLength(1);
    expect(about[0]).toMatch(/^warn skip link\/sneaky\.html: .*symlink/);
    expect(readdirSync(outside)).toEqual([]);
  });
});

describe('against the reference platform', () => {
  const world = useSyncWorld({ specs: [{ email: 'ada@example.com', maxSites: 1 }] });

  it('a folder deeper than the OS allows is reported and everything else keeps syncing, polls included', async () => {
    const a = world.client();
    // Built one level at a time with relative paths: the whole path is longer than PATH_MAX (4096). Node's rmSync
    // cannot remove it (ENAMETOOLONG); rm walks it relative to each folder.
    const segment = 'd'.repeat(200);
    const script = `cd "$1" && for i in $(seq 1 24); do mkdir ${segment} && cd ${segment}; done`;
    expect(spawnSync('bash', ['-c', script, '_', a.folder]).status).toBe(0);
    try {
      writeFileSync(path.join(a.folder, 'top.html'), '<p>top</p>');
      await a.engine.start();
      const remote = (kind: 'site' | 'upload', key: string) => world.platform.remote(world.account(), kind, key);
      await until(async () => (await remote('site', 'top')) === '<p>top</p>', 'the push');
      await world.platform.put(world.account(), 'upload', 'from-platform.txt', 'polled');
      await until(() => existsSync(path.join(a.folder, 'from-platform.txt')), 'a poll bringing a platform change');
      writeFileSync(path.join(a.folder, 'later.txt'), 'watched');
      await until(async () => (await remote('upload', 'later.txt')) === 'watched', 'a watched save');
      expect(a.lines.some((l) => /^warn skip d+\/.*(longer than|deeper)/.test(l))).toBe(true);
    } finally {
      await a.stop();
      spawnSync('rm', ['-rf', path.join(a.folder, segment)]);
    }
  });

  it('a site refused by the site limit is not sent again with every batch of other changes', async () => {
    const a = world.client();
    writeFileSync(path.join(a.folder, 'one.html'), 'one');
    writeFileSync(path.join(a.folder, 'two.html'), 'two');
    await a.engine.start();
    await until(() => a.status.current.notice?.code === 'site_limit_reached', 'the quota notice');
    for (let i = 0; i < 100; i++) writeFileSync(path.join(a.folder, `file${i}.txt`), `file ${i}`);
    await until(async () => (await world.platform.listing(world.account())).length === 101, 'the 100 uploads');
    await a.engine.idle();
    const sent = world.platform.requests.filter((l) => l.startsWith('PUT /sync/sites/'));
    expect(
      sent.filter((l) => l.startsWith('PUT /sync/sites/one ') || l.startsWith('PUT /sync/sites/two ')),
    ).toHaveLength(2);
  });

  it('stopping while the platform is unreachable ends the retries at once, whatever their waits', async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'hc-home-'));
    const folder = mkdtempSync(path.join(os.tmpdir(), 'hc-folder-'));
    const account = world.account();
    const lines: string[] = [];
    const log = (level: string, line: string) => {
      lines.push(`${level} ${line}`);
    };
    const api = createApiClient({
      origin: world.platform.url,
      getToken: () => ({
        token: account.token,
        origin: world.platform.url,
        expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
        obtainedAtMs: Date.now(),
      }),
      clientVersion: '0.1.0',
      log,
      timeoutMs: 2000,
      // A retry's wait that never ends by itself: only a stop can end it.
      sleep: () => new Promise(() => {}),
    });
    const engine = createSyncEngine({
      api,
      folder,
      accountId: account.id,
      status: new StatusModel(),
      stateFile: path.join(home, 'sync.state'),
      log,
      deviceName: 'offline test',
      pollSeconds: 60,
    });
    try {
      await engine.start();
      await world.platform.stop();
      writeFileSync(path.join(folder, 'while-down.html'), '<p>saved while the platform is down</p>');
      await until(() => lines.some((l) => l.startsWith('info retry PUT /sync/sites/while-down')), 'the retry wait');
      await engine.stop();
      expect(existsSync(path.join(folder, 'while-down.html'))).toBe(true);
    } finally {
      api.close();
      rmSync(home, { recursive: true, force: true });
      rmSync(folder, { recursive: true, force: true });
      await world.platform.restart();
    }
  });

  it('with an NFC and an NFD spelling of one name on disk, the synced one gets the platform change; the twin stays as it was', async () => {
    const a = world.client();
    const nfc = '\u00dcber.txt';
    const nfd = 'U\u0308ber.txt';
    writeFileSync(path.join(a.folder, nfc), 'nfc twin');
    writeFileSync(path.join(a.folder, nfd), 'nfd twin');
    // The one listed second by the disk syncs (it is the older): a wrong choice later would take the first.
    const order = readdirSync(a.folder).filter((name) => name.normalize('NFC') === nfc);
    const synced = order[1]!;
    const twin = order[0]!;
    utimesSync(path.join(a.folder, synced), new Date(2020, 0, 1), new Date(2020, 0, 1));
    await a.engine.start();
    const first = synced === nfc ? 'nfc twin' : 'nfd twin';
    await until(async () => (await world.platform.remote(world.account(), 'upload', nfc)) === first, 'the first sync');
    await a.stop();
    world.release(a);
    const response = await world.platform.put(world.account(), 'upload', nfc, 'from the platform', { baseVersion: 1 });
    expect(response.ok).toBe(true);
    const again = world.client({ folder: a.folder, stateFile: a.stateFile });
    await again.engine.start();
    await until(() => readFileSync(path.join(a.folder, synced), 'utf8') === 'from the platform', 'the pull');
    expect(readFileSync(path.join(a.folder, twin), 'utf8')).toBe(synced === nfc ? 'nfd twin' : 'nfc twin');
    expect(filesOf(a.folder).sort()).toEqual([nfc, nfd].sort());
  });

  it('the sync folder moved away stops its sync (nothing re-created, state kept); moved back, it syncs again', async () => {
    const a = world.client({ pollSeconds: 0.2 });
    writeFileSync(path.join(a.folder, 'kept.html'), '<p>kept</p>');
    await a.engine.start();
    await until(
      async () => (await world.platform.remote(world.account(), 'site', 'kept')) === '<p>kept</p>',
      'the push',
    );
    const away = `${a.folder}-away`;
    renameSync(a.folder, away);
    await until(() => a.status.current.phase === 'folder-missing', 'the folder-missing status');
    expect(a.lines.filter((l) => l.includes('folder missing'))).toHaveLength(1);
    await world.platform.put(world.account(), 'upload', 'meanwhile.txt', 'changed meanwhile');
    expect(existsSync(a.folder)).toBe(false);
    renameSync(away, a.folder);
    await until(() => existsSync(path.join(a.folder, 'meanwhile.txt')), 'the change, once the folder is back');
    expect(a.status.current.phase).toBe('syncing');
    expect(readFileSync(path.join(a.folder, 'kept.html'), 'utf8')).toBe('<p>kept</p>');
    expect(backupsOf(a.folder).size).toBe(0);
  });

  it('a folder deleted and made again empty is a new folder: everything comes down again, nothing is read as deleted', async () => {
    const a = world.client({ pollSeconds: 0.2 });
    mkdirSync(path.join(a.folder, 'blog'));
    writeFileSync(path.join(a.folder, 'blog', 'post.txt'), 'post');
    writeFileSync(path.join(a.folder, 'one.html'), '<p>one</p>');
    await a.engine.start();
    await until(async () => (await world.platform.listing(world.account())).length === 3, 'the first sync');
    rmSync(a.folder, { recursive: true, force: true });
    await until(() => a.status.current.phase === 'folder-missing', 'the folder-missing status');
    mkdirSync(a.folder);
    await until(
      () => existsSync(path.join(a.folder, 'blog', 'post.txt')) && existsSync(path.join(a.folder, 'one.html')),
      'everything back',
    );
    expect((await world.platform.listing(world.account())).length).toBe(3);
    expect(a.lines.some((l) => l.includes('set aside') || l.includes('earlier state'))).toBe(true);
  });
});
