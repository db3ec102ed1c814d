// SPEC.md "Pushing": one transfer in flight per entry, a dirty flag that reruns with the newest content,
// and a bounded pool across entries.
import { describe, expect, it } from 'vitest';
import { TransferQueue } from '../../sync-engine/transfers.js';

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

describe('TransferQueue', () => {
  it('runs one job per entry at a time and reruns once with the newest job when marked dirty', async () => {
    const queue = new TransferQueue(4);
    const first = gate();
    const ran: string[] = [];
    const done = queue.run('site:a', async () => {
      ran.push('v1');
      await first.opened;
    });
    await Promise.resolve();
    await Promise.resolve();
    queue.run('site:a', async () => {
      ran.push('v2');
    });
    queue.run('site:a', async () => {
      ran.push('v3');
    });
    expect(ran).toEqual(['v1']);
    first.open();
    await done;
    expect(ran).toEqual(['v1', 'v3']);
    expect(queue.pending).toBe(0);
  });

  it('never runs more jobs at once than its limit, and runs different entries in parallel', async () => {
    const queue = new TransferQueue(2);
    let running = 0;
    let peak = 0;
    const jobs = Array.from({ length: 8 }, (_, i) =>
      queue.run(`upload:${i}`, async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((resolve) => setTimeout(resolve, 5));
        running--;
      }),
    );
    await Promise.all(jobs);
    expect(peak).toBe(2);
    await queue.idle();
  });

  it('keeps going after a job fails and reports the failure to the caller', async () => {
    const queue = new TransferQueue(1);
    await expect(
      queue.run('site:x', async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    let ran = false;
    await queue.run('site:x', async () => {
      ran = true;
    });
    expect(ran).toBe(true);
  });

  it('runs a group once in one slot; an entry in flight and a newer request for a grouped one run alone after', async () => {
    const queue = new TransferQueue(4);
    const busy = gate();
    const grouped = gate();
    const ran: string[] = [];
    const first = queue.run('site:b', async () => {
      ran.push('b alone');
      await busy.opened;
    });
    await Promise.resolve();
    await Promise.resolve();
    const job = (name: string) => async () => {
      ran.push(name);
    };
    const done = queue.runGroup(
      ['site:a', 'site:b', 'site:c'].map((key) => ({ key, job: job(`${key} single`) })),
      async (keys) => {
        ran.push(`group ${keys.join(',')}`);
        await grouped.opened;
      },
    );
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(ran).toEqual(['b alone', 'group site:a,site:c']);
    expect(queue.pending).toBe(3);
    // A newer request for a grouped entry waits for the group, then runs alone (once, the newest).
    void queue.run('site:c', job('c newer'));
    void queue.run('site:c', job('c newest'));
    busy.open();
    await first;
    expect(ran).toEqual(['b alone', 'group site:a,site:c', 'site:b single']);
    grouped.open();
    await done;
    await queue.idle();
    expect(ran).toEqual(['b alone', 'group site:a,site:c', 'site:b single', 'c newest']);
    expect(queue.pending).toBe(0);
  });

  it('a group takes one slot of the pool, and its failure reaches the caller', async () => {
    const queue = new TransferQueue(1);
    const order: string[] = [];
    const group = queue.runGroup([{ key: 'upload:x', job: async () => {} }], async () => {
      order.push('group');
      throw new Error('batch failed');
    });
    const single = queue.run('upload:y', async () => {
      order.push('single');
    });
    await expect(group).rejects.toThrow('batch failed');
    await single;
    expect(order).toEqual(['group', 'single']);
    expect(queue.pending).toBe(0);
  });
});
