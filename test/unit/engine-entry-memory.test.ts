// EntryMemory: what the engine keeps between plans about the platform side of entries (the chaos run found a pull
// of version 1 finishing after a poll had brought version 2, and the news of version 2 forgotten).

import { describe, expect, it } from 'vitest';
import type { Entry } from '../../protocol/index.js';
import { EntryMemory } from '../../sync-engine/entry-memory.js';
import type { EntryKey } from '../../sync-engine/model.js';

const key = 'upload:notes/a.txt' as EntryKey;
const version = (n: number, sha: string): Entry => ({
  kind: 'upload',
  path: 'notes/a.txt',
  size: 3,
  sha256: sha.repeat(64),
  version: n,
  updatedAt: '2026-11-28T10:00:00.000Z',
  seq: n,
});

describe('EntryMemory.consumed', () => {
  it('forgets what a finished pull installed', () => {
    const memory = new EntryMemory(() => {});
    memory.noteSeen(new Map([[key, { entry: version(1, 'a') }]]));
    const seen = memory.knownRemote(key);
    memory.consumed(key, seen, version(1, 'a'));
    expect(memory.knownRemote(key)).toBeUndefined();
    expect(memory.failed.has(key)).toBe(false);
  });

  it('keeps a newer version a poll brought while the pull of the older one waited, and plans the key again', () => {
    const memory = new EntryMemory(() => {});
    memory.noteSeen(new Map([[key, { entry: version(1, 'a') }]]));
    // The poll brings v2 before the v1 pull has started: what the pull "saw" is already v2.
    memory.noteSeen(new Map([[key, { entry: version(2, 'b') }]]));
    const seen = memory.knownRemote(key);
    memory.consumed(key, seen, version(1, 'a'));
    expect(memory.knownRemote(key)).toEqual({ entry: version(2, 'b') });
    expect(memory.failed.has(key)).toBe(true);
  });
});
