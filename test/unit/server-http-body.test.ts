// Request bodies as the endpoints read them (server-endpoints/http.ts) from a web Request, as any host but Node's
// gives them: bounded by size, dropped when they stall, staged on disk and removed when anything fails.

import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BodyStalled, BodyTooLarge, discardStaged, stageBody } from '../../server-endpoints/http.js';
import { sha256Hex } from '../helpers/platform.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hc-body-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** A request whose body sends `chunks`, then (when `stall`) nothing more, never ending. */
function requestOf(chunks: Buffer[], options: { stall?: boolean; length?: number } = {}): Request {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      if (!options.stall) controller.close();
    },
  });
  const headers = options.length === undefined ? undefined : { 'content-length': String(options.length) };
  return new Request('http://x/upload', { method: 'PUT', body, headers, duplex: 'half' } as RequestInit);
}

describe('request bodies from a web Request', () => {
  it('are staged on disk whole, with their size and sha256', async () => {
    const parts = [Buffer.alloc(300_000, 1), Buffer.alloc(5, 2)];
    const staged = await stageBody(requestOf(parts), { dir, durable: true }, { max: 1_000_000, idleMs: 1000 });
    const whole = Buffer.concat(parts);
    expect(staged).toMatchObject({ size: whole.length, sha256: sha256Hex(whole), synced: true });
    expect((await readFile(staged.file)).equals(whole)).toBe(true);
    await discardStaged(staged);
    expect(await readdir(dir)).toEqual([]);
  });

  it('past the limit, declared or sent, are refused without a file left behind', async () => {
    const limits = { max: 10, idleMs: 1000 };
    await expect(
      stageBody(requestOf([Buffer.alloc(5)], { length: 11 }), { dir, durable: false }, limits),
    ).rejects.toBeInstanceOf(BodyTooLarge);
    await expect(
      stageBody(requestOf([Buffer.alloc(6), Buffer.alloc(6)]), { dir, durable: false }, limits),
    ).rejects.toBeInstanceOf(BodyTooLarge);
    expect(await readdir(dir)).toEqual([]);
  });

  it('that stop arriving after their first bytes are dropped after the idle time, without a file left behind', async () => {
    const started = Date.now();
    const stalling = stageBody(
      requestOf([Buffer.alloc(100)], { stall: true }),
      { dir, durable: false },
      { max: 1000, idleMs: 200 },
    );
    await expect(stalling).rejects.toBeInstanceOf(BodyStalled);
    await expect(stalling).rejects.toThrow(/stopped arriving/);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await readdir(dir)).toEqual([]);
  });

  it("are staged in a shared place only in a folder of this user's alone (nobody else could swap them)", async () => {
    const open = join(dir, 'open');
    await mkdir(open, { mode: 0o700 });
    await chmod(open, 0o777);
    const staging = { dir: open, durable: false, shared: true };
    await expect(stageBody(requestOf([Buffer.from('x')]), staging, { max: 10, idleMs: 1000 })).rejects.toThrow(/alone/);
    expect(await readdir(open)).toEqual([]);
    const fresh = { dir: join(dir, 'made-here'), durable: false, shared: true };
    const staged = await stageBody(requestOf([Buffer.from('x')]), fresh, { max: 10, idleMs: 1000 });
    expect((await stat(fresh.dir)).mode & 0o777).toBe(0o700);
    await discardStaged(staged);
    await rm(open, { recursive: true });
    await rm(fresh.dir, { recursive: true });
  });
});
