// The batch validators of protocol/batch.ts with hostile input: what a client believes of a batch answer or a fetch
// manifest, and the item lists a server accepts.

import { describe, expect, it } from 'vitest';
import {
  MAX_FETCH_BYTES,
  ProtocolViolation,
  parseBatchAnswer,
  parseFetchManifest,
  readItemList,
} from '../../protocol/index.js';

const entry = (path: string, size = 3) => ({
  kind: 'upload',
  path,
  size,
  sha256: 'a'.repeat(64),
  version: 1,
  updatedAt: '2026-11-25T13:24:11.123Z',
  seq: 1,
});

describe('batch answers', () => {
  it('takes one result per item: an entry for 2xx, an error with code and message otherwise', () => {
    const results = parseBatchAnswer(
      {
        results: [
          { status: 201, entry: entry('a.txt') },
          { status: 409, error: { code: 'conflict', message: 'lost', current: entry('b.txt') } },
        ],
      },
      2,
    );
    expect(results[0]).toMatchObject({ status: 201, entry: { path: 'a.txt' } });
    expect(results[1]).toMatchObject({
      status: 409,
      error: { code: 'conflict', message: 'lost', current: { path: 'b.txt' } },
    });
  });

  it.each([
    ['not an object', 'nope', 1],
    ['no results', {}, 1],
    ['too few results', { results: [] }, 1],
    ['a bad status', { results: [{ status: 99, entry: entry('a') }] }, 1],
    ['a saved entry with a path that breaks the rules', { results: [{ status: 200, entry: entry('../x') }] }, 1],
    ['a saved folder', { results: [{ status: 200, entry: { ...entry('f'), kind: 'folder' } }] }, 1],
    ['a saved tombstone', { results: [{ status: 200, entry: { ...entry('f'), deleted: true } }] }, 1],
    ['an error without a message', { results: [{ status: 400, error: { code: 'bad_request' } }] }, 1],
  ])('refuses %s', (_what, value, count) => {
    expect(() => parseBatchAnswer(value, count)).toThrow(ProtocolViolation);
  });
});

describe('fetch manifests', () => {
  it('takes an entry or an error per item, in order', () => {
    const items = parseFetchManifest({ items: [entry('a.txt'), { error: { code: 'not_found', message: 'no' } }] }, 2);
    expect(items).toEqual([
      expect.objectContaining({ path: 'a.txt' }),
      { error: { code: 'not_found', message: 'no' } },
    ]);
  });

  it.each([
    ['another number of items', { items: [entry('a')] }, 2],
    ['sizes past the fetch limit', { items: [entry('a', MAX_FETCH_BYTES), entry('b', 1)] }, 2],
    ['an entry with a bad sha256', { items: [{ ...entry('a'), sha256: 'xyz' }] }, 1],
    ['an absolute path', { items: [entry('/etc/passwd')] }, 1],
  ])('refuses %s', (_what, value, count) => {
    expect(() => parseFetchManifest(value, count)).toThrow(ProtocolViolation);
  });
});

describe('item lists', () => {
  it('up to 1,000 items in an object; anything else is malformed', () => {
    expect(readItemList({ items: [1, 2] }, 'manifest')).toEqual([1, 2]);
    expect(() => readItemList([], 'manifest')).toThrow(ProtocolViolation);
    expect(() => readItemList({ items: 'x' }, 'manifest')).toThrow(ProtocolViolation);
    expect(() => readItemList({ items: new Array(1001).fill({}) }, 'manifest')).toThrow(/at most 1000/);
  });
});
