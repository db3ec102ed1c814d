// A full disk under a staged upload (platform) and under a download (client): a write that takes fewer bytes than it
// was given must not pass for a whole one (the chaos run found the platform keeping a 1.6 MB prefix of a 1.8 MB upload
// under the upload's hash after its disk filled). Real tmpfs disks: root only.

import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stageChunks } from '../../server-endpoints/http.js';
import { writeInto } from '../../sync-engine/download.js';
import { canMountTmpfs, SmallDisk } from '../chaos/disks.js';

const root = mkdtempSync(join(tmpdir(), 'hc-full-disk-'));
let disk: SmallDisk;

beforeAll(() => {
  if (canMountTmpfs()) disk = new SmallDisk(join(root, 'disk'), 1024 * 1024, true);
});
afterAll(() => {
  disk?.release(false);
  rmSync(root, { recursive: true, force: true });
});

/**
 * The disk filled but for about 100 KiB, then one 200 KiB write: the disk takes what it has room for and says so only
 * by the count (the last write of a body, so no later write would fail).
 */
const chunks = (): Buffer[] => {
  rmSync(join(disk.dir, 'filler'), { force: true });
  writeFileSync(join(disk.dir, 'filler'), Buffer.alloc(disk.bytes - 100 * 1024, 0x5a));
  return [Buffer.alloc(200 * 1024, 0x41)];
};

describe.skipIf(!canMountTmpfs())('writing onto a full disk (tmpfs, root only)', () => {
  it('a staged upload fails with ENOSPC and leaves no file behind, rather than a short file under the whole hash', async () => {
    const staging = { dir: join(disk.dir, 'bodies'), durable: true };
    await expect(stageChunks(chunks(), staging, 20 * 1024 * 1024)).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(existsSync(staging.dir) ? readdirSync(staging.dir) : []).toEqual([]);
  });

  it('a download fails with ENOSPC rather than installing a short file that passed the hash of the stream', async () => {
    const file = join(disk.dir, 'download.tmp');
    const handle = await open(file, 'w');
    try {
      const body = Readable.from(chunks());
      await expect(writeInto(body, handle, 200 * 1024, true, 'upload big.bin')).rejects.toMatchObject({
        code: 'ENOSPC',
      });
    } finally {
      await handle.close();
      rmSync(file, { force: true });
    }
  });
});
