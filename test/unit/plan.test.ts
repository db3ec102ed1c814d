// The planner against SPEC.md "Reconcile": one test per row of the table and per special rule.

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Entry } from '../../protocol/index.js';
import {
  type Action,
  type EntryKey,
  entryKeyOf,
  type LocalItem,
  localKeyOf,
  type RemoteState,
  type StateRecord,
} from '../../sync-engine/model.js';
import { type PlanOptions, type PlanResult, plan, remoteStatesOf, slotOf } from '../../sync-engine/plan.js';

const sha = (content: string): string => createHash('sha256').update(content).digest('hex');
const kindOf = (path: string): 'site' | 'upload' => (/\.html$/i.test(path) ? 'site' : 'upload');
const iso = (ms: number): string => new Date(ms).toISOString();

function file(localPath: string, content: string, mtimeMs = 1_000): LocalItem {
  const kind = kindOf(localPath);
  return {
    key: localKeyOf(kind, localPath),
    kind,
    localPath,
    sha256: sha(content),
    size: Buffer.byteLength(content),
    mtimeMs,
  };
}

function dir(localPath: string): LocalItem {
  return { key: localKeyOf('folder', localPath), kind: 'folder', localPath };
}

function entry(path: string, content: string, version = 1, seq = version, updatedAtMs = 1_000): Entry {
  const kind = kindOf(path);
  const e: Entry = {
    kind,
    path,
    size: Buffer.byteLength(content),
    sha256: sha(content),
    version,
    updatedAt: iso(updatedAtMs),
    seq,
  };
  if (kind === 'site') e.name = localKeyOf('site', path).slice('site:'.length);
  return e;
}

function folderEntry(path: string, seq = 1): Entry {
  return { kind: 'folder', path, updatedAt: iso(1_000), seq };
}

function agreed(
  platformPath: string,
  content: string,
  extra: Partial<StateRecord> & { localPath?: string } = {},
): StateRecord {
  const kind = kindOf(platformPath);
  const key = entryKeyOf({ kind, path: platformPath });
  const record: StateRecord = {
    key,
    kind,
    localPath: platformPath,
    platformPath,
    sha256: sha(content),
    size: Buffer.byteLength(content),
    mtimeMs: 1_000,
    version: 1,
    updatedAt: iso(1_000),
    ...extra,
  };
  if (kind === 'site') record.name = key.slice('site:'.length);
  return record;
}

function agreedFolder(path: string, extra: Partial<StateRecord> = {}): StateRecord {
  return { key: entryKeyOf({ kind: 'folder', path }), kind: 'folder', localPath: path, platformPath: path, ...extra };
}

interface World {
  local?: LocalItem[];
  remote?: Array<Entry | { tombstone: EntryKey }>;
  state?: StateRecord[];
  options?: PlanOptions;
}

function run(world: World): PlanResult {
  const remote = new Map<EntryKey, RemoteState>();
  for (const r of world.remote ?? []) {
    if ('tombstone' in r) remote.set(r.tombstone, { tombstone: true });
    else remote.set(entryKeyOf(r), { entry: r });
  }
  const state = new Map((world.state ?? []).map((record) => [record.key, record]));
  return plan({ local: world.local ?? [], remote, state, options: world.options ?? { complete: true } });
}

/** The actions without their `why`, for exact comparisons. */
const bare = (result: PlanResult): Array<Omit<Action, 'why'>> =>
  result.actions.map((action) => {
    const { why: _why, ...rest } = action;
    return rest;
  });

const types = (result: PlanResult): string[] => result.actions.map((action) => `${action.type} ${action.key}`);

describe('reconcile table (SPEC.md "Reconcile")', () => {
  it('same / same: nothing happens', () => {
    const result = run({
      local: [file('a.png', 'A')],
      remote: [entry('a.png', 'A')],
      state: [agreed('a.png', 'A')],
    });
    expect(result.actions).toEqual([]);
  });

  it('changed locally / same: push L from the agreed version', () => {
    const result = run({
      local: [file('a.png', 'A2', 2_000)],
      remote: [entry('a.png', 'A', 3)],
      state: [agreed('a.png', 'A', { version: 3 })],
    });
    expect(bare(result)).toEqual([
      { type: 'push', key: 'upload:a.png', kind: 'upload', localPath: 'a.png', baseVersion: 3 },
    ]);
  });

  it('new locally / nothing on the platform: push as a new entry (base version 0)', () => {
    const result = run({ local: [file('docs/new.txt', 'N')] });
    expect(bare(result)).toEqual([
      { type: 'push', key: 'upload:docs/new.txt', kind: 'upload', localPath: 'docs/new.txt', baseVersion: 0 },
    ]);
  });

  it('same / changed on the platform: pull R (the executor backs up L first)', () => {
    const remote = entry('a.png', 'B', 2);
    const local = file('a.png', 'A');
    const result = run({ local: [local], remote: [remote], state: [agreed('a.png', 'A')] });
    expect(bare(result)).toEqual([{ type: 'pull', key: 'upload:a.png', entry: remote, localPath: 'a.png', local }]);
  });

  it('nothing locally / new on the platform: pull R to its platform path', () => {
    const remote = entry('img/logo.png', 'L');
    const result = run({ remote: [remote] });
    expect(bare(result)).toEqual([
      { type: 'pull', key: 'upload:img/logo.png', entry: remote, localPath: 'img/logo.png' },
    ]);
  });

  it('changed / changed to the same sha256: record it, transfer nothing', () => {
    const local = file('a.png', 'C', 5_000);
    const remote = entry('a.png', 'C', 2);
    const result = run({ local: [local], remote: [remote], state: [agreed('a.png', 'A')] });
    expect(bare(result)).toEqual([{ type: 'record', key: 'upload:a.png', entry: remote, local }]);
  });

  it('changed / changed differently: last write wins, push L from the stale version and let the platform decide', () => {
    const result = run({
      local: [file('a.png', 'L', 5_000)],
      remote: [entry('a.png', 'R', 2)],
      state: [agreed('a.png', 'A', { version: 1 })],
    });
    expect(bare(result)).toEqual([
      { type: 'push', key: 'upload:a.png', kind: 'upload', localPath: 'a.png', baseVersion: 1 },
    ]);
  });

  it('deleted locally / same: nothing on the platform, the local delete is remembered', () => {
    const result = run({ remote: [entry('a.png', 'A')], state: [agreed('a.png', 'A')] });
    expect(bare(result)).toEqual([{ type: 'rememberDelete', key: 'upload:a.png' }]);
  });

  it('deleted locally and remembered / same: not downloaded again, not even by a full session', () => {
    const result = run({ remote: [entry('a.png', 'A')], state: [agreed('a.png', 'A', { localDeleted: true })] });
    expect(result.actions).toEqual([]);
  });

  it('deleted locally / changed on the platform: pull R back to where the file was', () => {
    const remote = entry('hello.html', 'H2', 2);
    const result = run({
      remote: [remote],
      state: [agreed('hello.html', 'H', { localPath: 'blog/hello.html', localDeleted: true })],
    });
    expect(bare(result)).toEqual([{ type: 'pull', key: 'site:hello', entry: remote, localPath: 'blog/hello.html' }]);
  });

  it('same / tombstone: move L into sites-versions (removeLocal)', () => {
    const local = file('a.png', 'A');
    const result = run({ local: [local], remote: [{ tombstone: 'upload:a.png' }], state: [agreed('a.png', 'A')] });
    expect(bare(result)).toEqual([{ type: 'removeLocal', key: 'upload:a.png', localPath: 'a.png', local }]);
  });

  it('changed / tombstone: push L as a new entry (the local edit survives)', () => {
    const result = run({
      local: [file('a.png', 'A2', 2_000)],
      remote: [{ tombstone: 'upload:a.png' }],
      state: [agreed('a.png', 'A', { version: 4 })],
    });
    expect(bare(result)).toEqual([
      { type: 'push', key: 'upload:a.png', kind: 'upload', localPath: 'a.png', baseVersion: 0 },
    ]);
  });

  it('deleted / tombstone: forget the entry', () => {
    const result = run({ remote: [{ tombstone: 'upload:a.png' }], state: [agreed('a.png', 'A')] });
    expect(bare(result)).toEqual([{ type: 'forget', key: 'upload:a.png' }]);
  });
});

describe('sessions, polls and "changed" (SPEC.md "Sessions and polling", "Reconcile")', () => {
  it('a complete listing that lacks an agreed entry counts as a tombstone', () => {
    const result = run({ local: [file('a.png', 'A')], state: [agreed('a.png', 'A')], options: { complete: true } });
    expect(types(result)).toEqual(['removeLocal upload:a.png']);
  });

  it('change pages become the remote map: tombstones stay tombstones, the latest state of an entry wins', () => {
    const older = entry('a.png', 'A', 1, 1);
    const newer = entry('a.png', 'A2', 2, 5);
    const gone = { ...entry('hello.html', 'H', 1, 6), deleted: true };
    const map = remoteStatesOf([older, newer, gone, entry('b.png', 'B', 1, 3)]);
    expect([...map.keys()]).toEqual(['upload:a.png', 'site:hello', 'upload:b.png']);
    expect(map.get('upload:a.png')).toEqual({ entry: newer });
    expect(map.get('site:hello')).toEqual({ tombstone: true });
  });

  it('a poll that does not mention an entry leaves it as agreed', () => {
    const result = run({
      local: [file('a.png', 'A')],
      state: [agreed('a.png', 'A')],
      options: { scope: ['upload:a.png'] },
    });
    expect(result.actions).toEqual([]);
  });

  it('a poll reconciles only its keys plus the entries whose last transfer failed', () => {
    const result = run({
      local: [file('a.png', 'A2', 2_000), file('b.png', 'B2', 2_000), file('c.png', 'C2', 2_000)],
      state: [agreed('a.png', 'A'), agreed('b.png', 'B'), agreed('c.png', 'C')],
      options: { scope: ['upload:a.png'], failedKeys: ['upload:c.png'] },
    });
    expect(types(result)).toEqual(['push upload:a.png', 'push upload:c.png']);
  });

  it('a new mtime with the same content is not a change: no transfer, only the agreement is refreshed', () => {
    const local = file('a.png', 'A', 9_000);
    const result = run({ local: [local], remote: [entry('a.png', 'A')], state: [agreed('a.png', 'A')] });
    expect(result.actions.map((a) => a.type)).toEqual(['record']);
  });

  it('a lost state is rebuilt from hashes: identical content needs no transfer', () => {
    const local = file('a.png', 'A');
    const remote = entry('a.png', 'A', 7);
    const result = run({ local: [local], remote: [remote] });
    expect(bare(result)).toEqual([{ type: 'record', key: 'upload:a.png', entry: remote, local }]);
  });

  it('a lost state with different content on both sides: last write wins (push from version 0, the platform decides)', () => {
    const result = run({ local: [file('a.png', 'L')], remote: [entry('a.png', 'R', 7)] });
    expect(bare(result)).toEqual([
      { type: 'push', key: 'upload:a.png', kind: 'upload', localPath: 'a.png', baseVersion: 0 },
    ]);
  });

  it('a platform version bump with the same content is recorded so later pushes start from it', () => {
    const result = run({
      local: [file('a.png', 'A')],
      remote: [entry('a.png', 'A', 5)],
      state: [agreed('a.png', 'A', { version: 3 })],
    });
    expect(result.actions.map((a) => a.type)).toEqual(['record']);
  });

  it('is pure: the same input gives the same actions and is left untouched', () => {
    const world: World = {
      local: [file('a.png', 'A2', 2_000), file('blog/hello.html', 'H'), dir('img')],
      remote: [entry('b.png', 'B'), entry('hello.html', 'H2', 2), { tombstone: 'upload:c.png' }],
      state: [agreed('a.png', 'A'), agreed('hello.html', 'H', { localPath: 'blog/hello.html' }), agreed('c.png', 'C')],
    };
    const snapshot = structuredClone(world);
    const first = run(world);
    expect(run(world)).toEqual(first);
    expect(world).toEqual(snapshot);
  });
});

describe('folders (SPEC.md "Reconcile", "Pushing")', () => {
  it('a new local folder, empty or not, is created on the platform', () => {
    const result = run({ local: [dir('empty'), dir('empty/inner')] });
    expect(bare(result)).toEqual([
      { type: 'createFolder', key: 'folder:empty', localPath: 'empty' },
      { type: 'createFolder', key: 'folder:empty/inner', localPath: 'empty/inner' },
    ]);
  });

  it('a new platform folder is made locally', () => {
    const remote = folderEntry('pics');
    expect(bare(run({ remote: [remote] }))).toEqual([
      { type: 'makeLocalFolder', key: 'folder:pics', entry: remote, localPath: 'pics' },
    ]);
  });

  it('a folder tombstone removes the local folder (only if empty: executor), after the files in it, deepest first', () => {
    const result = run({
      local: [dir('a'), dir('a/b'), file('a/b/x.png', 'X')],
      remote: [{ tombstone: 'folder:a' }, { tombstone: 'folder:a/b' }, { tombstone: 'upload:a/b/x.png' }],
      state: [agreedFolder('a'), agreedFolder('a/b'), agreed('a/b/x.png', 'X')],
    });
    expect(types(result)).toEqual([
      'removeLocal upload:a/b/x.png',
      'removeLocalFolder folder:a/b',
      'removeLocalFolder folder:a',
    ]);
  });

  it('a folder on both sides without a state is recorded; deleted locally is remembered; deleted on both is forgotten', () => {
    const result = run({
      local: [dir('both')],
      remote: [folderEntry('both'), folderEntry('kept'), { tombstone: 'folder:gone' }],
      state: [agreedFolder('kept'), agreedFolder('gone')],
    });
    expect(types(result)).toEqual(['record folder:both', 'forget folder:gone', 'rememberDelete folder:kept']);
  });

  it('a local file where the platform has a folder is skipped (path_conflict), never replacing the folder', () => {
    const result = run({ local: [file('thing', 'T')], remote: [folderEntry('thing')], state: [agreedFolder('thing')] });
    expect(result.actions.filter((a) => a.type === 'push')).toEqual([]);
    expect(result.actions.find((a) => a.key === 'upload:thing')?.type).toBe('skip');
  });
});

describe('sites by name (SPEC.md "Reconcile": site matching)', () => {
  it('a site that exists locally is updated where it is locally', () => {
    const remote = entry('hello.html', 'H2', 2);
    const local = file('blog/hello.html', 'H');
    const result = run({
      local: [local],
      remote: [remote],
      state: [agreed('hello.html', 'H', { localPath: 'blog/hello.html' })],
    });
    expect(bare(result)).toEqual([
      { type: 'pull', key: 'site:hello', entry: remote, localPath: 'blog/hello.html', local },
    ]);
  });

  it('a site found locally in another folder than on the platform is the same site (no state yet): nothing moves', () => {
    const remote = entry('hello.html', 'H');
    const local = file('Blog/Hello.html', 'H');
    expect(bare(run({ local: [local], remote: [remote] }))).toEqual([
      { type: 'record', key: 'site:hello', entry: remote, local },
    ]);
  });

  it('a new site from the platform is written at its platform path', () => {
    const remote = entry('blog/fresh.html', 'F');
    expect(bare(run({ remote: [remote] }))).toEqual([
      { type: 'pull', key: 'site:fresh', entry: remote, localPath: 'blog/fresh.html' },
    ]);
  });

  it('a platform-side move of a site (new path, same content) leaves the local file where it is', () => {
    const remote = entry('moved/hello.html', 'H', 1);
    const result = run({ local: [file('hello.html', 'H')], remote: [remote], state: [agreed('hello.html', 'H')] });
    expect(result.actions.map((a) => a.type)).toEqual(['record']);
    const action = result.actions[0]!;
    expect(action.type === 'record' && action.local.localPath).toBe('hello.html');
    expect(action.type === 'record' && action.entry.path).toBe('moved/hello.html');
  });

  it('moving a site file to another local folder is the same site: its local path is updated, nothing deleted or re-created', () => {
    // A watcher event: the platform said nothing.
    const result = run({
      local: [file('archive/hello.html', 'H')],
      state: [agreed('hello.html', 'H')],
      options: { scope: ['site:hello'] },
    });
    expect(result.actions.map((a) => a.type)).toEqual(['record']);
    const action = result.actions[0]!;
    expect(action.type === 'record' && action.local.localPath).toBe('archive/hello.html');
    expect(action.type === 'record' && action.entry.path).toBe('hello.html');
  });

  it('two local files for one site: the one already in the state syncs, the other is skipped', () => {
    const result = run({
      local: [file('a/hello.html', 'A', 1), file('b/hello.html', 'B', 9)],
      remote: [entry('hello.html', 'B0', 2)],
      state: [agreed('hello.html', 'B0', { localPath: 'b/hello.html' })],
    });
    expect(bare(result)).toEqual([
      { type: 'skip', key: 'site:hello', localPath: 'a/hello.html' },
      { type: 'push', key: 'site:hello', kind: 'site', localPath: 'b/hello.html', baseVersion: 2 },
    ]);
  });

  it('two local files for one site without a state: the one at the platform path syncs, else the oldest', () => {
    const atPlatform = run({
      local: [file('a/hello.html', 'A', 1), file('b/hello.html', 'B', 9)],
      remote: [entry('b/hello.html', 'B')],
    });
    expect(types(atPlatform)).toEqual(['skip site:hello', 'record site:hello']);
    expect(atPlatform.actions[0]?.type === 'skip' && atPlatform.actions[0].localPath).toBe('a/hello.html');

    const oldest = run({
      local: [file('b/hello.html', 'B', 5), file('a/hello.html', 'A', 9), file('c/Hello.html', 'C', 5)],
    });
    expect(bare(oldest).map((a) => ('localPath' in a ? `${a.type} ${a.localPath}` : a.type))).toEqual([
      'skip a/hello.html',
      'skip c/Hello.html',
      'push b/hello.html',
    ]);
  });

  it('a file whose site name breaks the rules is skipped with the rule', () => {
    const result = run({ local: [file('www.html', 'W'), file('my site.html', 'M')] });
    expect(result.actions.map((a) => a.type)).toEqual(['skip', 'skip']);
    expect(result.actions.map((a) => a.why).join('\n')).toMatch(/reserved/);
  });
});

describe('uploads (SPEC.md "Reconcile", "Pushing")', () => {
  it('renaming an upload locally is a new upload plus a remembered delete of the old one', () => {
    const result = run({
      local: [file('new-name.png', 'P')],
      remote: [entry('old-name.png', 'P')],
      state: [agreed('old-name.png', 'P')],
      options: { scope: ['upload:old-name.png', 'upload:new-name.png'] },
    });
    expect(types(result)).toEqual(['rememberDelete upload:old-name.png', 'push upload:new-name.png']);
    const push = result.actions.find((a) => a.type === 'push');
    expect(push?.type === 'push' && push.baseVersion).toBe(0);
  });

  it('a file over 20 MiB is not sent: skipped until it changes', () => {
    const big = { ...file('video.mp4', 'V'), size: 20 * 1024 * 1024 + 1 };
    expect(types(run({ local: [big] }))).toEqual(['skip upload:video.mp4']);
    const bigSite = { ...file('huge.html', 'V2', 5_000), size: 20 * 1024 * 1024 + 1 };
    const changed = run({ local: [bigSite], remote: [entry('huge.html', 'V')], state: [agreed('huge.html', 'V')] });
    expect(types(changed)).toEqual(['skip site:huge']);
  });

  it('a file over 20 MiB that came down from the platform is still synced: a tombstone moves it into sites-versions', () => {
    const big = { ...file('video.mp4', 'V'), size: 30 * 1024 * 1024 };
    const same = run({ local: [big], remote: [entry('video.mp4', 'V')], state: [agreed('video.mp4', 'V')] });
    expect(same.actions).toEqual([]);
    const removed = run({
      local: [big],
      remote: [{ tombstone: 'upload:video.mp4' }],
      state: [agreed('video.mp4', 'V')],
    });
    expect(types(removed)).toEqual(['removeLocal upload:video.mp4']);
  });

  it('a macOS NFD spelling and its NFC twin are one entry, written through the local spelling', () => {
    const nfd = 'cafe\u0301.png';
    const remote = entry('caf\u00e9.png', 'B', 2);
    const local = file(nfd, 'A');
    const result = run({ local: [local], remote: [remote], state: [agreed('caf\u00e9.png', 'A', { localPath: nfd })] });
    expect(local.key).toBe('upload:caf\u00e9.png');
    expect(bare(result)).toEqual([{ type: 'pull', key: 'upload:caf\u00e9.png', entry: remote, localPath: nfd, local }]);
  });

  it('with both an NFD and an NFC spelling on disk, the one in the state keeps syncing; the twin is skipped, untouched', () => {
    const nfd = 'cafe\u0301.png';
    const nfc = 'caf\u00e9.png';
    const remote = entry(nfc, 'NEW', 2);
    // The twin is listed first and is the oldest: only the remembered spelling may decide.
    const twin = file(nfc, 'TWIN', 500);
    const synced = file(nfd, 'A', 1_000);
    const result = run({ local: [twin, synced], remote: [remote], state: [agreed(nfc, 'A', { localPath: nfd })] });
    expect(bare(result)).toEqual([
      { type: 'skip', key: 'upload:caf\u00e9.png', localPath: nfc },
      { type: 'pull', key: 'upload:caf\u00e9.png', entry: remote, localPath: nfd, local: synced },
    ]);
  });
});

describe('case-insensitive disks (SPEC.md "The folder")', () => {
  const ci: PlanOptions = { complete: true, caseInsensitive: true };

  it('two platform uploads differing only in case: the first (lowest seq) syncs, the other is skipped', () => {
    const first = entry('Photo.PNG', 'ONE', 1, 10);
    const second = entry('photo.png', 'TWO', 1, 11);
    const result = run({ remote: [second, first], options: ci });
    expect(bare(result)).toEqual([
      { type: 'skip', key: 'upload:photo.png', localPath: 'photo.png', entry: second },
      { type: 'pull', key: 'upload:Photo.PNG', entry: first, localPath: 'Photo.PNG' },
    ]);
  });

  it('the case twin already in the state keeps syncing even when the other has a lower seq', () => {
    const result = run({
      local: [file('photo.png', 'TWO')],
      remote: [entry('Photo.PNG', 'ONE', 1, 3), entry('photo.png', 'TWO', 1, 11)],
      state: [agreed('photo.png', 'TWO')],
      options: ci,
    });
    expect(types(result)).toEqual(['skip upload:Photo.PNG']);
  });

  it('a platform path that differs from the local one only in case is the same entry, written through the local spelling', () => {
    const remote = entry('Docs/Read.TXT', 'R2', 2);
    const same = run({ local: [file('docs/read.txt', 'R')], remote: [entry('Docs/Read.TXT', 'R')], options: ci });
    expect(same.actions.map((a) => a.type)).toEqual(['record']);
    const local = file('docs/read.txt', 'R');
    const changed = run({
      local: [local],
      remote: [remote],
      state: [agreed('Docs/Read.TXT', 'R', { localPath: 'docs/read.txt' })],
      options: ci,
    });
    expect(bare(changed)).toEqual([
      { type: 'pull', key: 'upload:Docs/Read.TXT', entry: remote, localPath: 'docs/read.txt', local },
    ]);
  });

  it('a watcher event under the local spelling finds the entry agreed under the platform spelling', () => {
    const record = agreed('Docs/Read.TXT', 'R', { localPath: 'docs/read.txt' });
    const local = file('docs/read.txt', 'R2', 5_000);
    const world = {
      local: [local],
      remote: new Map<EntryKey, RemoteState>(),
      state: new Map([[record.key, record]]),
      options: { caseInsensitive: true, scope: [local.key] },
    };
    const expected = [
      { type: 'push', key: 'upload:Docs/Read.TXT', kind: 'upload', localPath: 'docs/read.txt', baseVersion: 1 },
    ];
    expect(bare(plan(world))).toEqual(expected);
    // The same through a state store's own index by slot.
    const index = new Map([[slotOf(record.key, true), [record]]]);
    expect(bare(plan({ ...world, stateInSlot: (slot) => index.get(slot) ?? [] }))).toEqual(expected);
  });

  it('when the synced spelling of a folder is deleted on the platform, its case twin is the same local folder', () => {
    const twin = folderEntry('Blog', 9);
    const local = dir('blog');
    const result = run({
      local: [local],
      remote: [{ tombstone: 'folder:blog' }, twin],
      state: [agreedFolder('blog')],
      options: { caseInsensitive: true, scope: ['folder:blog'] },
    });
    expect(bare(result)).toEqual([
      { type: 'forget', key: 'folder:blog' },
      { type: 'record', key: 'folder:Blog', entry: twin, local },
    ]);
  });

  it('on a case-sensitive disk the two spellings are two entries', () => {
    const result = run({ remote: [entry('Photo.png', 'ONE', 1, 1), entry('photo.png', 'TWO', 1, 2)] });
    expect(types(result)).toEqual(['pull upload:Photo.png', 'pull upload:photo.png']);
  });

  it('when the synced spelling is deleted on the platform, its case twin replaces the local file (backed up by the pull)', () => {
    const twin = entry('Photo.png', 'ONE', 1, 20);
    const local = file('photo.png', 'TWO');
    const result = run({
      local: [local],
      remote: [{ tombstone: 'upload:photo.png' }, twin],
      state: [agreed('photo.png', 'TWO')],
      options: { caseInsensitive: true, scope: ['upload:photo.png', 'upload:Photo.png'] },
    });
    expect(bare(result)).toEqual([
      { type: 'forget', key: 'upload:photo.png' },
      { type: 'pull', key: 'upload:Photo.png', entry: twin, localPath: 'photo.png', local },
    ]);
  });
});

describe('delete brake (SPEC.md "Reconcile": delete brake)', () => {
  const many = (n: number, prefix: string): { local: LocalItem[]; state: StateRecord[] } => ({
    local: Array.from({ length: n }, (_, i) => file(`${prefix}${i}.png`, `${prefix}${i}`)),
    state: Array.from({ length: n }, (_, i) => agreed(`${prefix}${i}.png`, `${prefix}${i}`)),
  });

  it('removing more than 50% of the local files and more than 10 removes none: all are held', () => {
    const gone = many(12, 'g');
    const kept = many(8, 'k');
    const result = run({
      local: [...gone.local, ...kept.local],
      remote: kept.state.map((s) => entry(s.platformPath, s.platformPath.replace('.png', ''))),
      state: [...gone.state, ...kept.state],
    });
    expect(result.brake).toBe(true);
    expect(result.held).toBe(12);
    expect(result.removals).toBe(12);
    expect(result.actions.filter((a) => a.type === 'removeLocal')).toEqual([]);
    expect(result.actions.filter((a) => a.type === 'hold')).toHaveLength(12);
  });

  it('at most 50%, or at most 10 files: removals go ahead', () => {
    const half = many(22, 'h');
    const halfResult = run({
      local: half.local,
      remote: half.state.slice(11).map((s) => entry(s.platformPath, s.platformPath.replace('.png', ''))),
      state: half.state,
    });
    expect(halfResult.brake).toBe(false);
    expect(halfResult.actions.filter((a) => a.type === 'removeLocal')).toHaveLength(11);

    const ten = many(10, 't');
    const tenResult = run({ local: ten.local, state: ten.state });
    expect(tenResult.brake).toBe(false);
    expect(tenResult.actions.filter((a) => a.type === 'removeLocal')).toHaveLength(10);
  });

  it('a scoped poll counts against the folder size it is given', () => {
    const gone = many(12, 'p');
    const scope = gone.state.map((s) => s.key);
    const tombstones = scope.map((key) => ({ tombstone: key }));
    expect(run({ ...gone, remote: tombstones, options: { scope, localFileCount: 100 } }).brake).toBe(false);
    expect(run({ ...gone, remote: tombstones, options: { scope, localFileCount: 20 } }).brake).toBe(true);
  });

  it('held entries are neither pushed nor removed until either side changes', () => {
    const held = agreed('h.png', 'H', { held: true });
    const still = run({ local: [file('h.png', 'H')], state: [held] });
    expect(still.actions).toEqual([]);
    const poll = run({ local: [file('h.png', 'H')], state: [held], options: { scope: ['upload:h.png'] } });
    expect(poll.actions).toEqual([]);
  });

  it('a local change releases a held file: it is pushed as a new entry', () => {
    const result = run({ local: [file('h.png', 'H2', 5_000)], state: [agreed('h.png', 'H', { held: true })] });
    expect(bare(result)).toEqual([
      { type: 'push', key: 'upload:h.png', kind: 'upload', localPath: 'h.png', baseVersion: 0 },
    ]);
  });

  it('a platform change releases a held file: it is pulled (or recorded when the content is the same)', () => {
    const remote = entry('h.png', 'H3', 9);
    const pulled = run({
      local: [file('h.png', 'H')],
      remote: [remote],
      state: [agreed('h.png', 'H', { held: true })],
    });
    expect(types(pulled)).toEqual(['pull upload:h.png']);
    const restored = run({
      local: [file('h.png', 'H')],
      remote: [entry('h.png', 'H', 9)],
      state: [agreed('h.png', 'H', { held: true })],
    });
    expect(types(restored)).toEqual(['record upload:h.png']);
  });

  it('a held file deleted locally once the platform has it again is a remembered delete (the hold is released)', () => {
    const result = run({ remote: [entry('h.png', 'H', 3)], state: [agreed('h.png', 'H', { held: true })] });
    expect(types(result)).toEqual(['rememberDelete upload:h.png']);
    const gone = run({ state: [agreed('h.png', 'H', { held: true })] });
    expect(types(gone)).toEqual(['forget upload:h.png']);
  });

  it('--allow-deletes applies held removals, each one a move into sites-versions, with no brake', () => {
    const gone = many(15, 'a');
    const result = run({
      local: gone.local,
      state: gone.state.map((s) => ({ ...s, held: true })),
      options: { complete: true, allowDeletes: true },
    });
    expect(result.brake).toBe(false);
    expect(result.actions.filter((a) => a.type === 'removeLocal')).toHaveLength(15);
  });
});
