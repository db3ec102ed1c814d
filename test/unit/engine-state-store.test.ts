// SPEC.md "Sync state": survives restarts and crashes, never half-written, O(1) per change, and a corrupt or
// missing state is not an error.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StateRecord } from '../../sync-engine/model.js';
import { openStateStore } from '../../sync-engine/state-store.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hc-state-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const hex = (n: number): string => n.toString(16).padStart(64, '0');

function site(n: number, version = 1): StateRecord {
  return {
    key: `site:site-${n}`,
    kind: 'site',
    name: `site-${n}`,
    localPath: `blog/site-${n}.html`,
    platformPath: `blog/site-${n}.html`,
    sha256: hex(n * 1000 + version),
    size: 1000 + n,
    mtimeMs: 1_795_000_000_000 + n,
    version,
    updatedAt: '2026-11-25T13:24:11.123Z',
  };
}

const asObject = (map: Map<string, StateRecord>): Record<string, StateRecord> => Object.fromEntries(map);

describe('state store', () => {
  it('keeps records, deletes and the cursor across a restart', async () => {
    const file = join(dir, 'state.json');
    const store = await openStateStore(file);
    expect(store.loaded.snapshot).toBe('missing');
    store.put(site(1));
    store.put(site(2));
    store.put({
      key: 'upload:img/a.png',
      kind: 'upload',
      localPath: 'img/a.png',
      platformPath: 'img/a.png',
      localDeleted: true,
    });
    store.put({ key: 'folder:img', kind: 'folder', localPath: 'img', platformPath: 'img' });
    store.put(site(1, 2));
    store.delete('site:site-2');
    store.setCursor('4711');
    await store.close();
    expect(() => store.put(site(3))).toThrow(/closed/);

    const again = await openStateStore(file);
    expect(again.loaded).toMatchObject({ snapshot: 'ok', replayed: 7, dropped: 0 });
    expect(again.size).toBe(3);
    expect(again.get('site:site-1')).toEqual(site(1, 2));
    expect(again.get('site:site-2')).toBeUndefined();
    expect(again.get('upload:img/a.png')?.localDeleted).toBe(true);
    expect(again.getCursor()).toBe('4711');
    expect(again.cursor).toBe('4711');
    await again.close();
  });

  it('costs one journal line per change: the snapshot is not rewritten while running', async () => {
    const file = join(dir, 'state.json');
    const store = await openStateStore(file);
    for (let i = 0; i < 1000; i++) store.put(site(i));
    await store.close();
    const reopened = await openStateStore(file);
    const snapshotSize = statSync(file).size;
    const snapshotMtime = statSync(file).mtimeMs;
    expect(statSync(`${file}.journal`).size).toBe(0);
    for (let v = 2; v < 50; v++) reopened.put(site(7, v));
    await reopened.flush();
    expect(statSync(file).size).toBe(snapshotSize);
    expect(statSync(file).mtimeMs).toBe(snapshotMtime);
    const journal = readFileSync(`${file}.journal`, 'utf8');
    expect(journal.split('\n').filter(Boolean)).toHaveLength(48);
    await reopened.close();
  });

  it('after a crash at any byte of the journal, reopens to exactly the changes whose lines were complete', async () => {
    const file = join(dir, 'state.json');
    const store = await openStateStore(file);
    store.put(site(0));
    await store.close();
    const base = await openStateStore(file);
    const expected: Array<{ records: Record<string, StateRecord>; cursor: string | null }> = [
      { records: asObject(base.all()), cursor: null },
    ];
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let op = 0; op < 150; op++) {
      const kind = random(10);
      if (kind < 6) base.put(site(random(30), op + 2));
      else if (kind < 8) {
        const keys = [...base.all().keys()];
        if (keys.length === 0) base.put(site(op));
        else base.delete(keys[random(keys.length)]!);
      } else base.setCursor(String(op));
      expected.push({ records: asObject(base.all()), cursor: base.getCursor() });
    }
    await base.flush();
    const journal = readFileSync(`${file}.journal`);
    // Every op above changed something, so line k of the journal is op k.
    expect(journal.toString('utf8').split('\n').filter(Boolean)).toHaveLength(150);
    await base.close();

    const offsets = new Set<number>([0, 1, journal.length - 1, journal.length]);
    while (offsets.size < 60) offsets.add(random(journal.length + 1));
    for (const offset of offsets) {
      const crashed = join(dir, `crash-${offset}`);
      copyFileSync(file, `${crashed}.json`);
      writeFileSync(`${crashed}.json.journal`, journal.subarray(0, offset));
      const complete = journal.subarray(0, offset).toString('utf8').split('\n').length - 1;
      const reopened = await openStateStore(`${crashed}.json`);
      expect(asObject(reopened.all()), `offset ${offset}`).toEqual(expected[complete]!.records);
      expect(reopened.getCursor(), `offset ${offset}`).toBe(expected[complete]!.cursor);
      await reopened.close();
      // The torn tail is compacted away: a second open sees a clean state and an empty journal.
      const twice = await openStateStore(`${crashed}.json`);
      expect(twice.loaded.dropped).toBe(0);
      expect(asObject(twice.all())).toEqual(expected[complete]!.records);
      await twice.close();
    }
  });

  it('never throws on a corrupt snapshot: starts from what is valid and keeps the broken file aside', async () => {
    const file = join(dir, 'state.json');
    writeFileSync(file, '{"format":1,"cursor":"9","records":[{"key":"site:a"');
    writeFileSync(`${file}.journal`, `${JSON.stringify({ p: site(5) })}\n${JSON.stringify({ c: '12' })}\n`);
    const store = await openStateStore(file);
    expect(store.loaded.snapshot).toBe('corrupt');
    expect([...store.all().keys()]).toEqual(['site:site-5']);
    // A cursor means nothing without the snapshot it followed.
    expect(store.getCursor()).toBeNull();
    expect(readFileSync(`${file}.corrupt`, 'utf8')).toContain('site:a');
    await store.close();
    expect((await openStateStore(file)).loaded.snapshot).toBe('ok');
  });

  it('drops invalid records and garbage lines, keeping the rest', async () => {
    const file = join(dir, 'state.json');
    const bad = [{ key: 'site:x' }, { ...site(2), sha256: 'not-hex' }, { ...site(3), kind: 'planet' }];
    writeFileSync(file, JSON.stringify({ format: 1, cursor: '3', records: [site(1), ...bad] }));
    writeFileSync(
      `${file}.journal`,
      [
        'garbage',
        JSON.stringify({ p: { key: 1 } }),
        JSON.stringify({ p: site(4) }),
        '{"d":"site:site-1"}',
        '[]',
        '',
      ].join('\n'),
    );
    const store = await openStateStore(file);
    expect(store.loaded).toMatchObject({ snapshot: 'ok', droppedRecords: 3, replayed: 2, dropped: 3 });
    expect([...store.all().keys()]).toEqual(['site:site-4']);
    expect(store.getCursor()).toBe('3');
    expect(() => store.put({ key: 'x' } as StateRecord)).toThrow(TypeError);
    // A field a later version adds survives a reopen; nested junk does not.
    store.put({ ...site(8), heldSince: '2026-11-25', junk: { a: 1 } } as StateRecord);
    await store.close();
    const again = await openStateStore(file);
    expect(again.get('site:site-8')).toEqual({ ...site(8), heldSince: '2026-11-25' });
    await again.close();
  });

  it('compacts a long journal while running without losing anything', async () => {
    const file = join(dir, 'state.json');
    const store = await openStateStore(file, { compactAfterLines: 100 });
    for (let v = 1; v <= 500; v++) store.put(site(v % 20, v));
    await store.flush();
    expect(readFileSync(`${file}.journal`, 'utf8').split('\n').filter(Boolean).length).toBeLessThan(130);
    const expected = asObject(store.all());
    await store.close();
    const reopened = await openStateStore(file);
    expect(asObject(reopened.all())).toEqual(expected);
    await reopened.close();
  });

  it('reopens 10,000 records, from a snapshot and from a journal (figures printed)', async () => {
    const file = join(dir, 'state.json');
    const store = await openStateStore(file);
    let started = performance.now();
    for (let i = 0; i < 10_000; i++) store.put(site(i));
    await store.flush();
    const putMs = performance.now() - started;
    // Simulate a crash: the journal holds all 10,000 lines, the snapshot is empty.
    copyFileSync(file, join(dir, 'crash.json'));
    copyFileSync(`${file}.journal`, join(dir, 'crash.json.journal'));
    await store.close();

    started = performance.now();
    const fromJournal = await openStateStore(join(dir, 'crash.json'));
    const journalMs = performance.now() - started;
    expect(fromJournal.size).toBe(10_000);
    await fromJournal.close();

    started = performance.now();
    const fromSnapshot = await openStateStore(file);
    const snapshotMs = performance.now() - started;
    expect(fromSnapshot.size).toBe(10_000);
    expect(fromSnapshot.get('site:site-9999')).toEqual(site(9999));
    await fromSnapshot.close();
    console.log(
      `[figure] state store, 10,000 records: ${putMs.toFixed(0)} ms to put; reopen ${snapshotMs.toFixed(0)} ms from the snapshot, ${journalMs.toFixed(0)} ms from the journal (with compaction)`,
    );
  });
});
