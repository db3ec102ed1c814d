// SPEC.md "Reconcile" end to end: both sides changed (last write wins, loser kept), local renames, and sites
// matched by name across folders; the real reference server, two engines on two real folders, the real watcher.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { backupsOf, filesOf, until, useSyncWorld } from '../helpers/engine.js';

const world = useSyncWorld();
const client = world.client;

const account = world.account;
const remote = (name: string) => world.platform.remote(account(), 'site', name);
const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const read = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : null);

async function versionsOf(name: string): Promise<string[]> {
  const response = await world.platform.api(account(), `/sync/sites/${name}/versions`);
  const body = (await response.json()) as { versions: Array<{ sha256: string }> };
  return body.versions.map((v) => v.sha256);
}

/** Settles: long enough for several polls (0.3 s) to have happened. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 1200));

describe('both sides changed: last write wins, the loser is kept', () => {
  it('the later local write wins on both sides; the platform keeps the earlier one in its versions', async () => {
    const a = client();
    writeFileSync(path.join(a.folder, 'doc.html'), 'v1');
    await a.engine.start();
    await until(async () => (await remote('doc')) === 'v1', 'v1 on the platform');
    const b = client();
    await b.engine.start();
    await until(() => read(path.join(b.folder, 'doc.html')) === 'v1', 'v1 on B');
    // B goes offline and edits; A edits too (and pushes), then B's later edit arrives when B comes back.
    await b.stop();
    world.release(b);
    writeFileSync(path.join(a.folder, 'doc.html'), 'from A (earlier)');
    await until(async () => (await remote('doc')) === 'from A (earlier)', "A's edit on the platform");
    const bFile = path.join(b.folder, 'doc.html');
    writeFileSync(bFile, 'from B (later)');
    const later = new Date(Date.now() + 2000);
    utimesSync(bFile, later, later);
    const b2 = client({ folder: b.folder, stateFile: b.stateFile });
    await b2.engine.start();
    await until(async () => (await remote('doc')) === 'from B (later)', "B's later edit on the platform");
    await until(() => read(path.join(a.folder, 'doc.html')) === 'from B (later)', "B's edit on A");
    expect(read(bFile)).toBe('from B (later)');
    // The loser: in the platform's versions, and in A's sites-versions (A's pull replaced it).
    expect(await versionsOf('doc')).toContain(sha('from A (earlier)'));
    expect([...backupsOf(a.folder).values()]).toContain('from A (earlier)');
  });

  it('an earlier local write loses: 409, the local copy goes to sites-versions and the winner comes down', async () => {
    const a = client();
    writeFileSync(path.join(a.folder, 'doc.html'), 'v1');
    await a.engine.start();
    await until(async () => (await remote('doc')) === 'v1', 'v1 on the platform');
    const b = client();
    await b.engine.start();
    await until(() => read(path.join(b.folder, 'doc.html')) === 'v1', 'v1 on B');
    await b.stop();
    world.release(b);
    // B edits "an hour ago" while offline; A's edit now is the later write.
    const bFile = path.join(b.folder, 'doc.html');
    writeFileSync(bFile, 'from B (earlier)');
    const earlier = new Date(Date.now() - 3_600_000);
    utimesSync(bFile, earlier, earlier);
    writeFileSync(path.join(a.folder, 'doc.html'), 'from A (later)');
    await until(async () => (await remote('doc')) === 'from A (later)', "A's edit on the platform");
    const b2 = client({ folder: b.folder, stateFile: b.stateFile });
    await b2.engine.start();
    await until(() => read(bFile) === 'from A (later)', "A's winning edit on B");
    expect([...backupsOf(b.folder).values()]).toContain('from B (earlier)');
    expect(b2.lines.some((l) => l.includes('conflict doc.html'))).toBe(true);
    await settle();
    // Final: the losing content is never sent again.
    expect(await remote('doc')).toBe('from A (later)');
    expect(await versionsOf('doc')).not.toContain(sha('from B (earlier)'));
  });
});

describe('a local rename creates a new entry; the old one stays on the platform', () => {
  it('renaming a site and an upload: both new paths on the platform, the old ones kept and not downloaded again', async () => {
    const a = client();
    mkdirSync(path.join(a.folder, 'img'));
    writeFileSync(path.join(a.folder, 'old-name.html'), 'the site');
    writeFileSync(path.join(a.folder, 'img', 'a.png'), 'png bytes');
    await a.engine.start();
    await until(async () => (await remote('old-name')) === 'the site', 'the site pushed');
    await until(
      async () => (await world.platform.remote(account(), 'upload', 'img/a.png')) === 'png bytes',
      'the upload pushed',
    );
    renameSync(path.join(a.folder, 'old-name.html'), path.join(a.folder, 'new-name.html'));
    renameSync(path.join(a.folder, 'img', 'a.png'), path.join(a.folder, 'img', 'b.png'));
    await until(async () => (await remote('new-name')) === 'the site', 'the renamed site on the platform');
    await until(
      async () => (await world.platform.remote(account(), 'upload', 'img/b.png')) === 'png bytes',
      'the renamed upload on the platform',
    );
    await settle();
    expect(await remote('old-name')).toBe('the site');
    expect(await world.platform.remote(account(), 'upload', 'img/a.png')).toBe('png bytes');
    expect(filesOf(a.folder)).toEqual(['img/b.png', 'new-name.html']);
    // A restart (a full session) still does not bring the old names back.
    await a.stop();
    world.release(a);
    const again = client({ folder: a.folder, stateFile: a.stateFile });
    await again.engine.start();
    await again.engine.idle();
    expect(filesOf(a.folder)).toEqual(['img/b.png', 'new-name.html']);
  });
});

describe('sites are matched by name in every folder', () => {
  it('blog/hello.html locally and hello.html on the platform are one site, updated where each one lives', async () => {
    const created = await world.platform.put(account(), 'site', 'hello', 'same content', { path: 'hello.html' });
    expect(created.status).toBe(201);
    const a = client();
    mkdirSync(path.join(a.folder, 'blog'));
    const local = path.join(a.folder, 'blog', 'hello.html');
    writeFileSync(local, 'same content');
    await a.engine.start();
    await a.engine.idle();
    // Identical content: no transfer, and no second copy at the platform's path.
    expect(a.lines.filter((l) => /\b(push|pull) /.test(l))).toEqual([]);
    expect(filesOf(a.folder)).toEqual(['blog/hello.html']);
    writeFileSync(local, 'edited locally');
    await until(async () => (await remote('hello')) === 'edited locally', 'the local edit on the platform');
    const listed = await world.platform.listing(account());
    expect(listed.find((e) => e.name === 'hello')?.path).toBe('hello.html');
    await world.platform.platformSave(account(), 'hello', 'edited on the platform');
    await until(() => read(local) === 'edited on the platform', 'the platform edit at the local path');
    // No second copy at the platform's path, and no download left behind (one still running may hold a temp file).
    await until(
      () => JSON.stringify(filesOf(a.folder)) === JSON.stringify(['blog/hello.html']),
      'only blog/hello.html in the folder',
    );
  });

  it('a new site from the platform lands at its platform path; moving it locally keeps it the same site', async () => {
    const a = client();
    await a.engine.start();
    const created = await world.platform.put(account(), 'site', 'today', 'news', { path: 'news/today.html' });
    expect(created.status).toBe(201);
    await until(() => read(path.join(a.folder, 'news', 'today.html')) === 'news', 'the new site at news/today.html');
    mkdirSync(path.join(a.folder, 'archive'));
    renameSync(path.join(a.folder, 'news', 'today.html'), path.join(a.folder, 'archive', 'today.html'));
    writeFileSync(path.join(a.folder, 'archive', 'today.html'), 'moved and edited');
    await until(async () => (await remote('today')) === 'moved and edited', 'the moved site edited on the platform');
    const listed = await world.platform.listing(account());
    expect(listed.filter((e) => e.name === 'today').map((e) => e.path)).toEqual(['news/today.html']);
    await settle();
    expect(existsSync(path.join(a.folder, 'news', 'today.html'))).toBe(false);
  });
});
