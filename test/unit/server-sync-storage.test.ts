// The storage behaviour suite against the embedded storage: SQLite + content files in real temp folders, and
// behind the real endpoints (test/helpers/storage-suite.ts).

import { existsSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openEmbeddedStorage } from '../../server-endpoints/storage/embedded.js';
import { startTestPlatform } from '../helpers/platform.js';
import { describeStorageBehaviour, write } from '../helpers/storage-suite.js';

/** Where the embedded storage in `dir` keeps the content of `sha256`. */
const blobFile = (dir: string, sha256: string): string => join(dir, 'blobs', sha256.slice(0, 2), sha256);

describeStorageBehaviour('embedded storage', async (options) => {
  const platform = await startTestPlatform(options);
  const platformDir = join(platform.dir, 'sync');
  const root = mkdtempSync(join(tmpdir(), 'hc-storage-'));
  return {
    url: platform.url,
    storage: platform.storage,
    authStore: platform.authStore,
    addAccount: (spec) => platform.addAccount(spec),
    tokenFor: (account) => platform.tokenFor(account),
    loseContent: async (sha256) => unlinkSync(blobFile(platformDir, sha256)),
    holdsContent: async (sha256) => existsSync(blobFile(platformDir, sha256)),
    async openStorage({ place, ...options }) {
      const dir = place ?? mkdtempSync(join(root, 'store-'));
      const storage = openEmbeddedStorage({ ...options, dir, purgeEveryMs: 0 });
      return { storage, place: dir, loseContent: async (sha256) => unlinkSync(blobFile(dir, sha256)) };
    },
    async close() {
      await platform.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
});

describe('embedded storage: the search index of files stored before it existed', () => {
  it('is built on open, in the background, once; the files are found afterwards', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hc-search-old-'));
    try {
      const first = openEmbeddedStorage({ dir, purgeEveryMs: 0 });
      expect(await first.searchIndexBuilt).toBe(0);
      const old = Array.from({ length: 450 }, (_, i) => write('upload', `old/${i}.md`, `ancient note number${i}`));
      expect((await first.writeFiles(old)).every((outcome) => outcome.ok)).toBe(true);
      await first.writeFile(write('upload', 'old/photo.png', 'ancient pixels'));
      await first.writeFile(write('site', 'gone', '<p>ancient site</p>'));
      await first.deleteEntry('acct-a', 'site', 'gone');
      await first.close();
      // As a database from before the index: no index rows, not marked built.
      const db = new Database(join(dir, 'sync.sqlite'));
      db.exec('DELETE FROM search_index');
      db.pragma('user_version = 0');
      db.close();
      const lines: string[] = [];
      const reopened = openEmbeddedStorage({ dir, purgeEveryMs: 0, log: (line) => lines.push(line) });
      expect(await reopened.searchIndexBuilt).toBe(450);
      expect(lines).toEqual([expect.stringMatching(/^search index: built for 450 files stored before it, in \d+ ms$/)]);
      expect((await reopened.search('acct-a', 'ancient', 100)).length).toBe(100);
      expect((await reopened.search('acct-a', 'number449', 100)).map((r) => r.entry.path)).toEqual(['old/449.md']);
      await reopened.close();
      const again = openEmbeddedStorage({ dir, purgeEveryMs: 0 });
      expect(await again.searchIndexBuilt).toBe(0);
      await again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
