// PROTOCOL.md "Files": the write decision every storage shares (same hash, base version, last write wins).

import { describe, expect, it } from 'vitest';
import { decideWrite } from '../../server-endpoints/sync/decide.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const NOW = Date.parse('2026-11-25T12:00:00.000Z');
const current = { sha256: A, version: 3, updatedAtMs: NOW - 60_000 };

describe('decideWrite', () => {
  it('same sha256 as the current version is unchanged, whatever the base version or time', () => {
    expect(decideWrite(current, { sha256: A, baseVersion: 1, modifiedAtMs: 0 }, NOW)).toEqual({ action: 'unchanged' });
    expect(decideWrite(current, { sha256: A, baseVersion: null, modifiedAtMs: null }, NOW)).toEqual({
      action: 'unchanged',
    });
  });

  it('a new file is created, stamped with min(modifiedAt, now)', () => {
    expect(decideWrite(null, { sha256: B, baseVersion: 0, modifiedAtMs: NOW - 5 }, NOW)).toMatchObject({
      action: 'save',
      created: true,
      updatedAtMs: NOW - 5,
    });
    expect(decideWrite(null, { sha256: B, baseVersion: 0, modifiedAtMs: NOW + 99_000 }, NOW)).toMatchObject({
      updatedAtMs: NOW,
    });
  });

  it('base version equal to the current version saves even when modifiedAt is older', () => {
    const decision = decideWrite(current, { sha256: B, baseVersion: 3, modifiedAtMs: NOW - 120_000 }, NOW);
    expect(decision).toEqual({ action: 'save', created: false, updatedAtMs: NOW - 120_000, why: 'base_version' });
  });

  it('a stale base version wins only with a strictly later modifiedAt', () => {
    expect(
      decideWrite(current, { sha256: B, baseVersion: 2, modifiedAtMs: current.updatedAtMs + 1 }, NOW),
    ).toMatchObject({ action: 'save', why: 'later', updatedAtMs: current.updatedAtMs + 1 });
    expect(decideWrite(current, { sha256: B, baseVersion: 2, modifiedAtMs: current.updatedAtMs }, NOW)).toEqual({
      action: 'conflict',
    });
    expect(decideWrite(current, { sha256: B, baseVersion: 0, modifiedAtMs: current.updatedAtMs - 1 }, NOW)).toEqual({
      action: 'conflict',
    });
  });

  it('a future stamp wins once but is saved as now, so it cannot win forever', () => {
    const decision = decideWrite(current, { sha256: B, baseVersion: 1, modifiedAtMs: NOW + 3_600_000 }, NOW);
    expect(decision).toMatchObject({ action: 'save', updatedAtMs: NOW });
    const next = { sha256: B, version: 4, updatedAtMs: NOW };
    expect(decideWrite(next, { sha256: A, baseVersion: 3, modifiedAtMs: NOW + 1 }, NOW + 10)).toMatchObject({
      action: 'save',
      updatedAtMs: NOW + 1,
    });
  });

  it("the platform's own saves always win and are stamped now", () => {
    expect(decideWrite(current, { sha256: B, baseVersion: null, modifiedAtMs: null }, NOW)).toEqual({
      action: 'save',
      created: false,
      updatedAtMs: NOW,
      why: 'platform',
    });
  });
});
