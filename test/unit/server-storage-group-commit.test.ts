// Group commit (server-endpoints/storage/group-commit.ts): writes that arrive together share one flush, nothing is
// answered before its flush, a failed flush fails exactly its group, and a submission is never split.

import { describe, expect, it } from 'vitest';
import { GroupCommit } from '../../server-endpoints/storage/group-commit.js';

/** A flush the test finishes by hand, recording each group it was given. */
function manualFlush() {
  const groups: number[][] = [];
  const pending: Array<{ jobs: number[]; finish: (fail?: Error) => void }> = [];
  const flush = (jobs: number[]): Promise<string[]> => {
    groups.push(jobs);
    return new Promise<string[]>((resolve, reject) => {
      pending.push({ jobs, finish: (fail) => (fail ? reject(fail) : resolve(jobs.map((job) => `done ${job}`))) });
    });
  };
  return { groups, pending, flush };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('group commit', () => {
  it('writes submitted in the same turn share one flush, and none is answered before that flush ends', async () => {
    const { groups, pending, flush } = manualFlush();
    const group = new GroupCommit(flush);
    const answered: string[] = [];
    const writes = [1, 2, 3].map((job) => group.submit([job]).then((outcomes) => answered.push(...outcomes)));
    await turn();
    expect(groups).toEqual([[1, 2, 3]]);
    await turn();
    expect(answered).toEqual([]);
    pending[0]!.finish();
    await Promise.all(writes);
    expect(answered).toEqual(['done 1', 'done 2', 'done 3']);
  });

  it('arrivals during a flush wait for it and then go together as the next group', async () => {
    const { groups, pending, flush } = manualFlush();
    const group = new GroupCommit(flush);
    const first = group.submit([1]);
    await turn();
    const later = [group.submit([2]), group.submit([3, 4])];
    await turn();
    expect(groups).toEqual([[1]]);
    pending[0]!.finish();
    await first;
    await turn();
    expect(groups).toEqual([[1], [2, 3, 4]]);
    pending[1]!.finish();
    expect(await Promise.all(later)).toEqual([['done 2'], ['done 3', 'done 4']]);
  });

  it('a failed flush rejects every write of its group and no other', async () => {
    const { pending, flush } = manualFlush();
    const group = new GroupCommit(flush);
    const failing = [group.submit([1]), group.submit([2])];
    await turn();
    const next = group.submit([3]);
    pending[0]!.finish(new Error('disk full'));
    await expect(failing[0]).rejects.toThrow('disk full');
    await expect(failing[1]).rejects.toThrow('disk full');
    await turn();
    pending[1]!.finish();
    expect(await next).toEqual(['done 3']);
  });

  it('a group takes whole submissions up to maxJobs; several flushes may run at once when allowed', async () => {
    const { groups, pending, flush } = manualFlush();
    const group = new GroupCommit(flush, { maxJobs: 4, concurrency: 2 });
    const all = [group.submit([1, 2, 3]), group.submit([4, 5]), group.submit([6]), group.submit([7, 8, 9, 10, 11])];
    await turn();
    await turn();
    expect(groups).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    pending[0]!.finish();
    await turn();
    await turn();
    expect(groups).toEqual([
      [1, 2, 3],
      [4, 5, 6],
      [7, 8, 9, 10, 11],
    ]);
    pending[1]!.finish();
    pending[2]!.finish();
    expect((await Promise.all(all)).map((outcomes) => outcomes.length)).toEqual([3, 2, 1, 5]);
  });
});
