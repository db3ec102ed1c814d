// SPEC.md's delete brake and site limit end to end: a platform that tombstones most files removes nothing until
// deletes are allowed; a full plan shows the quota notice while everything else keeps syncing.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  backupsOf,
  filesOf,
  removeFolders,
  startClient,
  startPlatform,
  type TestClient,
  type TestPlatform,
  until,
} from '../helpers/engine.js';

let platform: TestPlatform;
const clients: TestClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) {
    await c.stop();
    removeFolders(c.folder, c.home);
  }
  await platform.close();
});

function client(options: Parameters<typeof startClient>[2] = {}): TestClient {
  const c = startClient(platform, platform.accounts[0]!, options);
  clients.push(c);
  return c;
}

const account = () => platform.accounts[0]!;

describe('delete brake', () => {
  it('the platform tombstones 80% of the files: nothing is removed, needs attention; --allow-deletes applies them as backups', async () => {
    platform = await startPlatform();
    const a = client();
    for (let i = 0; i < 20; i++) writeFileSync(path.join(a.folder, `site${i}.html`), `site ${i}`);
    await a.engine.start();
    await a.engine.idle();
    await until(async () => (await platform.listing(account())).length === 20, 'the 20 sites on the platform');
    await a.stop();
    for (let i = 0; i < 16; i++) await platform.deleteSite(account(), `site${i}`);
    const again = client({ folder: a.folder, stateFile: a.stateFile });
    await again.engine.start();
    await again.engine.idle();
    expect(filesOf(a.folder)).toHaveLength(20);
    expect(again.lines.some((l) => l.startsWith('error delete brake'))).toBe(true);
    expect(again.status.current.phase).toBe('needs-attention');
    expect(again.status.current.notice?.code).toBe('delete_brake');
    // Held files are not pushed back either.
    expect((await platform.listing(account())).length).toBe(4);
    await again.stop();
    clients.splice(clients.indexOf(again), 1);

    const once = client({ folder: a.folder, stateFile: a.stateFile });
    const report = await once.engine.syncOnce({ allowDeletes: true });
    expect(report.brake).toBe(false);
    expect(filesOf(a.folder)).toEqual(['site16.html', 'site17.html', 'site18.html', 'site19.html']);
    const kept = [...backupsOf(a.folder).values()].sort();
    expect(kept).toEqual(Array.from({ length: 16 }, (_, i) => `site ${i}`).sort());
    expect((await platform.listing(account())).length).toBe(4);
  });
});

describe('site limit', () => {
  it('the quota notice shows while other files keep syncing, and clears when a later create succeeds', async () => {
    platform = await startPlatform([{ email: 'ada@example.com', maxSites: 2 }]);
    const a = client();
    writeFileSync(path.join(a.folder, 'one.html'), 'one');
    writeFileSync(path.join(a.folder, 'two.html'), 'two');
    await a.engine.start();
    await until(async () => (await platform.listing(account())).length === 2, 'two sites');
    writeFileSync(path.join(a.folder, 'three.html'), 'three');
    await until(() => a.status.current.notice?.code === 'site_limit_reached', 'the quota notice');
    expect(a.status.current.notice?.text).toBe("You've run out of sites. We can't sync any more sites.");
    // Everything else keeps syncing: an upload, an edit of an existing site, and a platform edit.
    writeFileSync(path.join(a.folder, 'logo.png'), 'logo');
    writeFileSync(path.join(a.folder, 'one.html'), 'one, edited');
    await platform.platformSave(account(), 'two', 'two, edited on the platform');
    await until(async () => (await platform.remote(account(), 'upload', 'logo.png')) === 'logo', 'the upload');
    await until(async () => (await platform.remote(account(), 'site', 'one')) === 'one, edited', 'the edit');
    await until(
      () => readFileSync(path.join(a.folder, 'two.html'), 'utf8') === 'two, edited on the platform',
      'the pull',
    );
    expect(a.status.current.notice?.code).toBe('site_limit_reached');
    expect(await platform.remote(account(), 'site', 'three')).toBeNull();
    // Room again: the next poll retries the create, which succeeds and clears the notice.
    await platform.deleteSite(account(), 'two');
    await until(async () => (await platform.remote(account(), 'site', 'three')) === 'three', 'the late create');
    await until(() => a.status.current.notice === null, 'the notice cleared');
    expect(existsSync(path.join(a.folder, 'three.html'))).toBe(true);
  });
});
