// SPEC.md promises end to end: the real reference server, two real engines on two real folders, the real watcher.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openEmbeddedStorage } from '../../server-endpoints/storage/embedded.js';
import { until, useSyncWorld } from '../helpers/engine.js';

const world = useSyncWorld();
const client = world.client;

async function remoteSite(name: string): Promise<string | null> {
  const response = await world.platform.api(world.platform.accounts[0]!, `/sync/sites/${name}`);
  return response.status === 200 ? response.text() : null;
}

function backups(folder: string): string[] {
  const root = path.join(folder, 'sites-versions');
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => readFileSync(path.join(d.parentPath, d.name), 'utf8'));
}

describe('sync engine against the reference platform', () => {
  it('promise 2: a local save reaches the platform at once', async () => {
    const a = client();
    await a.engine.start();
    const started = Date.now();
    writeFileSync(path.join(a.folder, 'hello.html'), '<h1>one</h1>');
    await until(async () => (await remoteSite('hello')) === '<h1>one</h1>', 'the save on the platform');
    console.log(`save -> platform: ${Date.now() - started} ms (including test polling)`);
    writeFileSync(path.join(a.folder, 'hello.html'), '<h1>two</h1>');
    await until(async () => (await remoteSite('hello')) === '<h1>two</h1>', 'the second save');
  });

  it('promise 3: a change through the platform save endpoint reaches disk within one poll, old copy backed up', async () => {
    const a = client();
    writeFileSync(path.join(a.folder, 'page.html'), 'v1');
    await a.engine.start();
    await until(async () => (await remoteSite('page')) === 'v1', 'the first push');
    const response = await world.platform.platformSave(world.platform.accounts[0]!, 'page', 'v2 from the browser');
    expect(response.status).toBe(200);
    await until(() => readFileSync(path.join(a.folder, 'page.html'), 'utf8') === 'v2 from the browser', 'the pull');
    expect(backups(a.folder)).toContain('v1');
  });

  it('two clients of one account converge: a site and an upload in folders travel both ways', async () => {
    const a = client();
    const b = client();
    mkdirSync(path.join(a.folder, 'blog', 'img'), { recursive: true });
    writeFileSync(path.join(a.folder, 'blog', 'post.html'), 'post');
    writeFileSync(path.join(a.folder, 'blog', 'img', 'x.png'), Buffer.from([1, 2, 3]));
    await a.engine.start();
    await b.engine.start();
    await until(() => existsSync(path.join(b.folder, 'blog', 'post.html')), 'the site on B');
    await until(() => existsSync(path.join(b.folder, 'blog', 'img', 'x.png')), 'the upload on B');
    expect(readFileSync(path.join(b.folder, 'blog', 'img', 'x.png'))).toEqual(Buffer.from([1, 2, 3]));
    writeFileSync(path.join(b.folder, 'blog', 'post.html'), 'edited on B');
    await until(() => readFileSync(path.join(a.folder, 'blog', 'post.html'), 'utf8') === 'edited on B', 'B -> A');
  });

  it('promise 4: a local delete leaves the platform untouched and is not downloaded again; a remote edit brings it back', async () => {
    const a = client();
    writeFileSync(path.join(a.folder, 'keep.html'), 'keep');
    await a.engine.start();
    await until(async () => (await remoteSite('keep')) === 'keep', 'the push');
    rmSync(path.join(a.folder, 'keep.html'));
    await until(() => a.lines.some((l) => l.includes('deleted locally keep.html')), 'the delete noticed');
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(await remoteSite('keep')).toBe('keep');
    expect(existsSync(path.join(a.folder, 'keep.html'))).toBe(false);
    await world.platform.platformSave(world.platform.accounts[0]!, 'keep', 'edited remotely');
    await until(() => existsSync(path.join(a.folder, 'keep.html')), 'the remote edit coming back');
    expect(readFileSync(path.join(a.folder, 'keep.html'), 'utf8')).toBe('edited remotely');
  });

  it('a remote delete moves the local file into sites-versions', async () => {
    const a = client();
    writeFileSync(path.join(a.folder, 'gone.html'), 'soon gone');
    await a.engine.start();
    await until(async () => (await remoteSite('gone')) === 'soon gone', 'the push');
    await world.platform.deleteSite(world.platform.accounts[0]!, 'gone');
    await until(() => !existsSync(path.join(a.folder, 'gone.html')), 'the local removal');
    expect(backups(a.folder)).toContain('soon gone');
  });

  it('restart: unchanged files cause no transfer and no backup', async () => {
    const a = client();
    for (let i = 0; i < 20; i++) writeFileSync(path.join(a.folder, `s${i}.html`), `site ${i}`);
    await a.engine.start();
    await a.engine.idle();
    await until(async () => (await remoteSite('s19')) === 'site 19', 'the pushes');
    await a.stop();
    world.release(a);
    const again = client({ folder: a.folder, stateFile: a.stateFile });
    await again.engine.start();
    await again.engine.idle();
    const transfers = again.lines.filter((l) => / (push|pull) /.test(l) && !l.includes('session'));
    expect(transfers).toEqual([]);
    expect(backups(again.folder)).toEqual([]);
  });
  it('a folder deleted on the platform is removed locally only when empty; a folder that still holds files stays', async () => {
    const a = client();
    mkdirSync(path.join(a.folder, 'empty'));
    mkdirSync(path.join(a.folder, 'docs'));
    writeFileSync(path.join(a.folder, 'docs', 'notes.txt'), 'my notes');
    await a.engine.start();
    await a.engine.idle();
    const account = world.platform.accounts[0]!;
    await until(
      async () => (await world.platform.api(account, '/sync/uploads/docs/notes.txt')).status === 200,
      'the upload',
    );
    const storage = await openEmbeddedStorage({ dir: path.join(world.platform.dataDir, 'storage') });
    try {
      expect(await storage.deleteEntry(account.id, 'folder', 'empty')).not.toBeNull();
      expect(await storage.deleteEntry(account.id, 'folder', 'docs')).not.toBeNull();
    } finally {
      await storage.close();
    }
    await until(() => !existsSync(path.join(a.folder, 'empty')), 'the empty folder removed');
    await until(() => a.lines.some((l) => l.includes('kept folder docs')), 'the non-empty folder kept');
    expect(readFileSync(path.join(a.folder, 'docs', 'notes.txt'), 'utf8')).toBe('my notes');
  });
});
