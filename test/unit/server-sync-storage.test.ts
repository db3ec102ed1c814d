// The storage behaviour suite against the embedded storage: SQLite + content files in real temp folders, and
// behind the real endpoints (test/helpers/storage-suite.ts).

import { existsSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedStorage } from '../../server-endpoints/storage/embedded.js';
import { startTestPlatform } from '../helpers/platform.js';
import { describeStorageBehaviour } from '../helpers/storage-suite.js';

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
