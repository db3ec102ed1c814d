// Change-feed cursors: opaque, bound to one account, and refused when forged, foreign or malformed.

import { describe, expect, it } from 'vitest';
import { cursorCodec } from '../../server-endpoints/sync/cursor.js';

const codec = cursorCodec('a-secret-of-at-least-32-bytes-0123456789');

describe('cursorCodec', () => {
  it('round-trips feed positions and listing continuations for their account', () => {
    expect(codec.decode('acct-a', codec.feed('acct-a', 4711))).toEqual({ kind: 'feed', seq: 4711 });
    expect(codec.decode('acct-a', codec.listing('acct-a', 'eyJoIjoxfQ'))).toEqual({
      kind: 'listing',
      continuation: 'eyJoIjoxfQ',
    });
  });

  it("refuses another account's cursor and a cursor sealed with another secret", () => {
    expect(codec.decode('acct-b', codec.feed('acct-a', 1))).toBeNull();
    const other = cursorCodec('another-secret-of-at-least-32-bytes-9876');
    expect(codec.decode('acct-a', other.feed('acct-a', 1))).toBeNull();
  });

  it('refuses edited, truncated and malformed cursors', () => {
    const cursor = codec.feed('acct-a', 12);
    const edited = cursor.replace('f12', 'f13');
    for (const bad of [edited, cursor.slice(0, -1), `${cursor}=`, '0', '', '.', 'f12', 'x'.repeat(5000)]) {
      expect(codec.decode('acct-a', bad)).toBeNull();
    }
  });
});
