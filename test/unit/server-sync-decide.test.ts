// PROTOCOL.md "Files": the write decision every storage shares (same hash, base version, last write wins, names,
// paths, limits, the next version, backups), as tables over snapshots of what a storage holds.

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ancestorsOf,
  decideWrite,
  folderChain,
  planDelete,
  planFolder,
  planWrite,
  type WritePlan,
  type WriteSnapshot,
} from '../../server-endpoints/sync/decide.js';
import type { WriteFileRequest } from '../../server-endpoints/types.js';

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

describe('planWrite: the whole write decision over a snapshot of the storage', () => {
  const NO_LIMITS = { maxSites: null, maxStorageBytes: null };
  const content = Buffer.from('new content'); // 11 bytes
  const sha = createHash('sha256').update(content).digest('hex');
  const request = (more: Partial<WriteFileRequest> = {}): WriteFileRequest => ({
    accountId: 'acct-a',
    kind: 'site',
    key: 'home',
    path: 'blog/home.html',
    content,
    sha256: sha,
    baseVersion: 0,
    modifiedAtMs: NOW - 5,
    limits: NO_LIMITS,
    ...more,
  });
  const live = { path: 'here/home.html', sha256: A, version: 3, size: 4, updatedAtMs: NOW - 60_000, deleted: false };
  const snapshot = (more: Partial<WriteSnapshot> = {}): WriteSnapshot => ({
    entry: null,
    siteOwner: null,
    pathBlocked: false,
    usage: { sites: 0, storageBytes: 0 },
    lastKeptVersion: 0,
    ...more,
  });

  /** The plans most cases expect: a new site at its path, and a save over the live file (v3, 4 bytes). */
  const NEW_SITE: WritePlan = {
    outcome: 'created',
    file: { path: 'blog/home.html', size: 11, sha256: sha, version: 1, updatedAtMs: NOW - 5 },
    keepBackup: false,
    usageChange: { sites: 1, storageBytes: 11 },
  };
  const SAVED_OVER_LIVE: WritePlan = {
    outcome: 'saved',
    file: { path: 'here/home.html', size: 11, sha256: sha, version: 4, updatedAtMs: NOW - 5 },
    keepBackup: true,
    usageChange: { sites: 0, storageBytes: 7 },
  };

  const cases: [string, WriteSnapshot, Partial<WriteFileRequest>, WritePlan][] = [
    ['a new site: created at its path, version 1, one more site, no backup', snapshot(), {}, NEW_SITE],
    [
      'a save over live content keeps its path, keeps a backup, counts only the size difference',
      snapshot({ entry: live, siteOwner: 'acct-a', usage: { sites: 1, storageBytes: 4 }, lastKeptVersion: 2 }),
      { baseVersion: 3 },
      SAVED_OVER_LIVE,
    ],
    [
      'after a tombstone: created again, no backup (the delete kept it), the version continues',
      snapshot({ entry: { ...live, deleted: true }, lastKeptVersion: 3 }),
      {},
      {
        outcome: 'created',
        file: { path: 'blog/home.html', size: 11, sha256: sha, version: 4, updatedAtMs: NOW - 5 },
        keepBackup: false,
        usageChange: { sites: 1, storageBytes: 11 },
      },
    ],
    [
      'after a purged tombstone: the kept versions still set the next one',
      snapshot({ lastKeptVersion: 7 }),
      { kind: 'upload', key: 'img/a.png', path: 'img/a.png' },
      {
        outcome: 'created',
        file: { path: 'img/a.png', size: 11, sha256: sha, version: 8, updatedAtMs: NOW - 5 },
        keepBackup: false,
        usageChange: { sites: 0, storageBytes: 11 },
      },
    ],
    ['same content is unchanged', snapshot({ entry: { ...live, sha256: sha } }), {}, { outcome: 'unchanged' }],
    [
      'a stale base version with an older stamp is a conflict',
      snapshot({ entry: live }),
      { modifiedAtMs: 0 },
      { outcome: 'conflict' },
    ],
    [
      'a site name held by another account is name_taken',
      snapshot({ siteOwner: 'acct-b' }),
      {},
      { outcome: 'name_taken' },
    ],
    [
      'name_taken comes first, before same content',
      snapshot({ entry: { ...live, sha256: sha }, siteOwner: 'acct-b' }),
      {},
      { outcome: 'name_taken' },
    ],
    [
      'a new file on a blocked path is path_conflict',
      snapshot({ pathBlocked: true }),
      {},
      { outcome: 'path_conflict' },
    ],
    [
      'a live file is never blocked by its own path',
      snapshot({ entry: live, pathBlocked: true }),
      { baseVersion: 3 },
      SAVED_OVER_LIVE,
    ],
    [
      'a new site over the site limit',
      snapshot({ usage: { sites: 2, storageBytes: 0 } }),
      { limits: { maxSites: 2, maxStorageBytes: null } },
      { outcome: 'site_limit_reached' },
    ],
    [
      'the site limit counts only new sites (a save at the limit is fine)',
      snapshot({ entry: live, usage: { sites: 2, storageBytes: 4 } }),
      { baseVersion: 3, limits: { maxSites: 2, maxStorageBytes: null } },
      SAVED_OVER_LIVE,
    ],
    [
      'the site limit does not count uploads',
      snapshot({ usage: { sites: 2, storageBytes: 0 } }),
      { kind: 'upload', key: 'u.bin', path: 'u.bin', limits: { maxSites: 2, maxStorageBytes: null } },
      {
        outcome: 'created',
        file: { path: 'u.bin', size: 11, sha256: sha, version: 1, updatedAtMs: NOW - 5 },
        keepBackup: false,
        usageChange: { sites: 0, storageBytes: 11 },
      },
    ],
    [
      'growing past the storage limit',
      snapshot({ usage: { sites: 0, storageBytes: 90 } }),
      { limits: { maxSites: null, maxStorageBytes: 100 } },
      { outcome: 'storage_limit_reached' },
    ],
    [
      'exactly at the storage limit is fine',
      snapshot({ usage: { sites: 0, storageBytes: 89 } }),
      { limits: { maxSites: null, maxStorageBytes: 100 } },
      NEW_SITE,
    ],
    [
      'a save that shrinks the account is fine even over the limit (the replaced size no longer counts)',
      snapshot({ entry: { ...live, size: 50 }, usage: { sites: 1, storageBytes: 150 } }),
      { baseVersion: 3, limits: { maxSites: null, maxStorageBytes: 100 } },
      {
        outcome: 'saved',
        file: { path: 'here/home.html', size: 11, sha256: sha, version: 4, updatedAtMs: NOW - 5 },
        keepBackup: true,
        usageChange: { sites: 0, storageBytes: -39 },
      },
    ],
    [
      "the platform's own save: stamped now, over anything",
      snapshot({ entry: live }),
      { baseVersion: null, modifiedAtMs: null },
      {
        outcome: 'saved',
        file: { path: 'here/home.html', size: 11, sha256: sha, version: 4, updatedAtMs: NOW },
        keepBackup: true,
        usageChange: { sites: 0, storageBytes: 7 },
      },
    ],
  ];

  it.each(cases)('%s', (_name, held, more, expected) => {
    expect(planWrite(held, request(more), NOW)).toEqual(expected);
  });
});

describe('planDelete and planFolder', () => {
  it('a delete of a live file keeps a backup and gives back its size (and the site); a folder keeps nothing', () => {
    expect(planDelete('site', { deleted: false, size: 40 }, NOW)).toEqual({
      outcome: 'deleted',
      updatedAtMs: NOW,
      keepBackup: true,
      usageChange: { sites: -1, storageBytes: -40 },
    });
    expect(planDelete('upload', { deleted: false, size: 7 }, NOW)).toMatchObject({
      keepBackup: true,
      usageChange: { sites: 0, storageBytes: -7 },
    });
    expect(planDelete('folder', { deleted: false, size: 0 }, NOW)).toMatchObject({ keepBackup: false });
    expect(planDelete('upload', { deleted: true, size: 7 }, NOW)).toEqual({ outcome: 'absent' });
    expect(planDelete('upload', null, NOW)).toEqual({ outcome: 'absent' });
  });

  it('a folder creates its missing parents outermost first; a file on the way is path_conflict', () => {
    expect(planFolder('a/b/c', [{ path: 'a', kind: 'folder' }], NOW)).toEqual({
      outcome: 'created',
      missing: ['a/b', 'a/b/c'],
      updatedAtMs: NOW,
    });
    expect(
      planFolder(
        'a/b',
        [
          { path: 'a', kind: 'folder' },
          { path: 'a/b', kind: 'folder' },
        ],
        NOW,
      ),
    ).toEqual({
      outcome: 'exists',
      missing: [],
      updatedAtMs: NOW,
    });
    expect(planFolder('a/b', [{ path: 'a', kind: 'upload' }], NOW)).toEqual({ outcome: 'path_conflict' });
    expect(planFolder('a/b', [{ path: 'a/b', kind: 'site' }], NOW)).toEqual({ outcome: 'path_conflict' });
    expect(folderChain('a/b/c')).toEqual(['a', 'a/b', 'a/b/c']);
    expect(ancestorsOf('a')).toEqual([]);
  });
});
