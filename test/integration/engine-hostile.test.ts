// SPEC.md "Pulling": every path from the platform is confined to the sync folder. A hostile platform (a small
// node:http server speaking the protocol) answers with `..` and absolute paths, a path through a symlinked
// folder, a wrong sha256, a mismatched X-Path and an endless body: nothing lands outside the folder, each is logged.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SyncEngine } from '../../sync-engine/engine.js';
import { filesOf, until } from '../helpers/engine.js';
import {
  type HostileFile,
  type HostilePlatform,
  hostileEngine,
  sha,
  startHostilePlatform,
} from '../helpers/hostile-platform.js';

let root: string;
let folder: string;
let outside: string;
let platform: HostilePlatform;
let files: HostileFile[];
let engine: SyncEngine | null;
let lines: string[];

beforeEach(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'hc-hostile-'));
  folder = path.join(root, 'sync');
  outside = path.join(root, 'outside');
  mkdirSync(folder);
  mkdirSync(outside);
  lines = [];
  engine = null;
  platform = await startHostilePlatform();
  files = platform.files;
});

afterEach(async () => {
  await engine?.stop();
  await platform.close();
  rmSync(root, { recursive: true, force: true });
});

function startEngine(): SyncEngine {
  engine = hostileEngine(platform, { folder, home: path.join(root, 'home'), lines });
  return engine;
}

/** Everything under `root` outside the sync folder and the client's data folder. */
function strayFiles(): string[] {
  return readdirSync(root, { recursive: true })
    .map(String)
    .filter((p) => !p.startsWith('sync') && !p.startsWith('home') && p !== 'outside');
}

describe('a hostile platform cannot write outside the sync folder', () => {
  it.each([
    ['a `..` path', '../outside/evil.txt'],
    ['a deeper `..` path', 'a/../../outside/evil.txt'],
    ['an absolute path', '/tmp/hc-hostile-outside/evil.txt'],
  ])('%s in the listing is refused and logged', async (_what, hostilePath) => {
    files.push({ kind: 'upload', path: hostilePath, sha256: sha('evil'), size: 4, body: 'evil' });
    await startEngine().start();
    await until(() => lines.some((l) => l.startsWith('error') && /refused|path/.test(l)), 'the refusal logged');
    expect(strayFiles()).toEqual([]);
    expect(filesOf(folder)).toEqual([]);
    console.log(lines.filter((l) => l.startsWith('error')).join('\n'));
  });

  it('a path through a symlinked folder, a wrong sha256, a mismatched X-Path and an endless body: each refused and logged, the honest file arrives', async () => {
    symlinkSync(outside, path.join(folder, 'link'));
    files.push(
      { kind: 'upload', path: 'link/evil.txt', sha256: sha('evil'), size: 4, body: 'evil' },
      { kind: 'site', name: 'sneaky', path: 'link/sneaky.html', sha256: sha('<p>'), size: 3, body: '<p>' },
      { kind: 'upload', path: 'wrong-sha.txt', sha256: sha('what was promised'), size: 13, body: 'something odd' },
      {
        kind: 'site',
        name: 'moved',
        path: 'moved.html',
        xPath: '../outside/moved.html',
        sha256: sha('m'),
        size: 1,
        body: 'm',
      },
      { kind: 'upload', path: 'endless.bin', sha256: sha('ten bytes!'), size: 10, body: null },
      { kind: 'upload', path: 'good.txt', sha256: sha('honest'), size: 6, body: 'honest' },
    );
    await startEngine().start();
    await until(() => existsSync(path.join(folder, 'good.txt')), 'the honest file');
    await engine!.idle();
    expect(readFileSync(path.join(folder, 'good.txt'), 'utf8')).toBe('honest');
    expect(readdirSync(outside)).toEqual([]);
    expect(strayFiles()).toEqual([]);
    // Nothing else landed in the folder (no temp file left behind either); the symlink itself is untouched.
    expect(filesOf(folder).filter((p) => !p.startsWith('.hyperclay'))).toEqual(['good.txt']);
    const errors = lines.filter((l) => /^(warn|error) /.test(l));
    console.log(errors.join('\n'));
    for (const what of ['link/evil.txt', 'link/sneaky.html', 'wrong-sha.txt', 'moved', 'endless.bin']) {
      expect(
        errors.some((l) => l.includes(what)),
        `a log line for ${what}`,
      ).toBe(true);
    }
  });
});
