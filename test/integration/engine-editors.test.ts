// SPEC.md "Pushing" end to end with real editors' write patterns: atomic saves through a temp file, a slow
// writer, and a burst of saves. The final content on the platform is the final content on disk, and no temp
// file is ever uploaded.
import { closeSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { filesOf, until, useSyncWorld } from '../helpers/engine.js';

const world = useSyncWorld();
const client = world.client;

const account = world.account;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function platformPaths(): Promise<string[]> {
  return (await world.platform.listing(account())).map((e) => e.path).sort();
}

describe('editor saves: the final content always reaches the platform, temp files never do', () => {
  it('atomic saves (temp file + rename, as editors and JetBrains IDEs do) push the final file only', async () => {
    const a = client();
    await a.engine.start();
    for (let i = 1; i <= 5; i++) {
      // A *.tmp temp file renamed over the site.
      const temp = path.join(a.folder, 'page.html.tmp');
      writeFileSync(temp, `<p>save ${i}</p>`);
      renameSync(temp, path.join(a.folder, 'page.html'));
      // JetBrains' safe write.
      const jb = path.join(a.folder, 'style.css___jb_tmp___');
      writeFileSync(jb, `p { order: ${i} }`);
      renameSync(jb, path.join(a.folder, 'style.css'));
    }
    await until(
      async () => (await world.platform.remote(account(), 'site', 'page')) === '<p>save 5</p>',
      'the last save',
    );
    await until(
      async () => (await world.platform.remote(account(), 'upload', 'style.css')) === 'p { order: 5 }',
      'the last css save',
    );
    await a.engine.idle();
    expect(await platformPaths()).toEqual(['page.html', 'style.css']);
    expect(a.lines.filter((l) => /tmp/.test(l) && /push/.test(l))).toEqual([]);
  });

  it('a save right after the previous push (inside the 50 ms change throttle of the watcher) still reaches the platform', async () => {
    const a = client();
    await a.engine.start();
    const file = path.join(a.folder, 'quick.html');
    const pushes = () => a.lines.filter((l) => l.includes('push quick.html')).length;
    for (let i = 0; i < 30; i++) {
      const before = pushes();
      writeFileSync(file, `save ${i}`);
      // The next save follows the platform's answer at once, as a fast editor's autosave can.
      await until(() => pushes() > before, `the push of save ${i}`, 5000);
    }
    await until(async () => (await world.platform.remote(account(), 'site', 'quick')) === 'save 29', 'the last save');
  });

  it('twenty files saved at once while syncing all reach the platform (more events than transfer slots)', async () => {
    const a = client();
    await a.engine.start();
    for (let i = 0; i < 20; i++) writeFileSync(path.join(a.folder, `many${i}.html`), `many ${i}`);
    for (let i = 0; i < 20; i++) {
      await until(async () => (await world.platform.remote(account(), 'site', `many${i}`)) === `many ${i}`, `many${i}`);
    }
  });

  it('a slow writer (chunks over 2 s): the platform ends with the whole file', async () => {
    const a = client();
    await a.engine.start();
    const file = path.join(a.folder, 'slow.html');
    const fd = openSync(file, 'w');
    const chunks: string[] = [];
    for (let i = 0; i < 9; i++) {
      const chunk = `<section>${String(i).repeat(2000)}</section>\n`;
      chunks.push(chunk);
      writeSync(fd, chunk);
      await sleep(250);
    }
    closeSync(fd);
    const whole = chunks.join('');
    await until(async () => (await world.platform.remote(account(), 'site', 'slow')) === whole, 'the whole file');
    await a.engine.idle();
    expect(await world.platform.remote(account(), 'site', 'slow')).toBe(whole);
  });

  // Ten seconds of saves, then two devices settling: room for a busy machine.
  it('200 saves in 10 s: the final content on the platform equals the final content on disk', {
    timeout: 90_000,
  }, async () => {
    const a = client();
    const b = client();
    await a.engine.start();
    await b.engine.start();
    const file = path.join(a.folder, 'busy.html');
    let last = '';
    for (let i = 1; i <= 200; i++) {
      last = `<h1>save ${i}</h1>${'x'.repeat(i * 37)}`;
      writeFileSync(file, last);
      await sleep(50);
    }
    await until(
      async () => (await world.platform.remote(account(), 'site', 'busy')) === last,
      'the 200th save',
      60_000,
    );
    await a.engine.idle();
    await sleep(500);
    expect(await world.platform.remote(account(), 'site', 'busy')).toBe(last);
    // The second device converges on the same final content, and nothing bounced back to A.
    await until(() => readFileSync(path.join(b.folder, 'busy.html'), 'utf8') === last, 'the final save on B', 60_000);
    expect(filesOf(a.folder)).toEqual(['busy.html']);
    const pushes = a.lines.filter((l) => l.includes('push busy.html'));
    console.log(`200 saves in ~10 s: ${pushes.length} pushes`);
    expect(pushes.length).toBeGreaterThan(0);
  });
});
