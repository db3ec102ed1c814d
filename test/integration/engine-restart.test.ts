// SPEC.md "Sync state" end to end: a restart over 1,000 unchanged files (the 10,000-file case is in
// bench/engine-bench.ts) transfers nothing and backs nothing up, with the state kept and with the state lost.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { backupsOf, until, useSyncWorld } from '../helpers/engine.js';

const world = useSyncWorld({ clientDefaults: { pollSeconds: 30 } });
const client = world.client;

const transfers = (lines: string[]) => lines.filter((l) => /^\w+ (push|pull) /.test(l));

describe('restart with 1,000 unchanged files', () => {
  it('no transfer and no backup, whether the state was kept or lost', { timeout: 60_000 }, async () => {
    const a = client();
    for (let f = 0; f < 10; f++) {
      mkdirSync(path.join(a.folder, `f${f}`));
      for (let i = 0; i < 50; i++) writeFileSync(path.join(a.folder, `f${f}`, `s${f}-${i}.html`), `site ${f} ${i}`);
      for (let i = 0; i < 50; i++) writeFileSync(path.join(a.folder, `f${f}`, `u${i}.txt`), `upload ${f} ${i}`);
    }
    await a.engine.start();
    await a.engine.idle();
    expect(transfers(a.lines)).toHaveLength(1000);
    await a.stop();
    world.release(a);

    let started = Date.now();
    const kept = client({ folder: a.folder, stateFile: a.stateFile });
    await kept.engine.start();
    await kept.engine.idle();
    console.log(`restart with 1,000 unchanged files, state kept: ${Date.now() - started} ms`);
    expect(transfers(kept.lines)).toEqual([]);
    expect(backupsOf(a.folder).size).toBe(0);
    await kept.stop();
    world.release(kept);

    rmSync(path.dirname(a.stateFile), { recursive: true, force: true });
    started = Date.now();
    const lost = client({ folder: a.folder, stateFile: a.stateFile });
    await lost.engine.start();
    await lost.engine.idle();
    console.log(`restart with 1,000 unchanged files, state lost: ${Date.now() - started} ms`);
    expect(transfers(lost.lines)).toEqual([]);
    expect(backupsOf(a.folder).size).toBe(0);
  });
});

describe('the first session runs before the watcher', () => {
  it('saves made while it downloads are still pushed, and a file removed meanwhile is a local delete', async () => {
    for (let i = 0; i < 200; i++) {
      expect((await world.platform.put(world.platform.accounts[0]!, 'site', `remote${i}`, `remote ${i}`)).status).toBe(
        201,
      );
    }
    const a = client({ pollSeconds: 0.3 });
    writeFileSync(path.join(a.folder, 'early.html'), 'early');
    const starting = a.engine.start();
    // Written while the session lists, scans and downloads (or just after: the test holds either way).
    await until(() => existsSync(path.join(a.folder, 'remote0.html')), 'the download under way');
    writeFileSync(path.join(a.folder, 'during.html'), 'saved during the session');
    writeFileSync(path.join(a.folder, 'early.html'), 'early, edited during the session');
    rmSync(path.join(a.folder, 'remote0.html'));
    await starting;
    const remote = (name: string) => world.platform.remote(world.platform.accounts[0]!, 'site', name);
    await until(async () => (await remote('during')) === 'saved during the session', 'the new file');
    await until(async () => (await remote('early')) === 'early, edited during the session', 'the edit');
    await a.engine.idle();
    expect(await remote('remote0')).toBe('remote 0');
    expect(existsSync(path.join(a.folder, 'remote0.html'))).toBe(false);
  });
});
