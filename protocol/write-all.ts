// Writing bytes to a file whole: a write may take fewer bytes than it was given (a full disk can do that without an
// error), and a short write taken for a whole one leaves a file shorter than the hash that was taken of the stream.
// Shared by the platform's staged bodies and the client's downloads.

import type { FileHandle } from 'node:fs/promises';

/** Writes every byte of `buffers` at the handle's position; throws ENOSPC when the disk takes none. */
export async function writeAll(handle: FileHandle, buffers: Buffer[]): Promise<void> {
  const total = buffers.reduce((sum, buffer) => sum + buffer.length, 0);
  const { bytesWritten } = await handle.writev(buffers);
  if (bytesWritten === total) return;
  const rest = Buffer.concat(buffers).subarray(bytesWritten);
  let done = 0;
  while (done < rest.length) {
    const { bytesWritten: took } = await handle.write(rest, done, rest.length - done);
    if (took === 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    done += took;
  }
}
