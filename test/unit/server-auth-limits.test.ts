// The pieces the platform's limits are made of, on a clock the test moves: token buckets (API rate limits), the
// cap on parallel uploads, the client address key (IPv6 by /64), and the gate that bounds scrypt work.

import { describe, expect, it } from 'vitest';
import { addressKey, ParallelCap, TokenBuckets } from '../../server-endpoints/auth/rate-limit.js';
import { PasswordWorkBusy, WorkGate } from '../../server-endpoints/reference/passwords.js';

describe('token buckets', () => {
  it('let a burst through, then one request per refill, and say how long to wait', () => {
    let now = 0;
    const buckets = new TokenBuckets({ perSecond: 2, burst: 3 }, () => now);
    expect([buckets.take('a'), buckets.take('a'), buckets.take('a')]).toEqual([0, 0, 0]);
    expect(buckets.take('a')).toBe(500);
    // Another key has its own bucket.
    expect(buckets.take('b')).toBe(0);
    now += 499;
    expect(buckets.take('a')).toBeGreaterThan(0);
    now += 1;
    expect(buckets.take('a')).toBe(0);
    // A quiet spell refills up to the burst, never past it.
    now += 60_000;
    expect([0, 1, 2, 3].map(() => buckets.take('a'))).toEqual([0, 0, 0, 500]);
  });

  it('forget the least recently seen key past their bound, so memory stays flat under a flood of keys', () => {
    let now = 0;
    const buckets = new TokenBuckets({ perSecond: 1, burst: 1 }, () => now, 3);
    buckets.take('old');
    for (const key of ['k1', 'k2', 'k3']) buckets.take(key);
    // 'old' was dropped: it starts again with a full bucket (the price of the bound, paid by the oldest key only).
    expect(buckets.take('old')).toBe(0);
    expect(buckets.take('k3')).toBe(1000);
    now += 1000;
    expect(buckets.take('k3')).toBe(0);
  });
});

describe('parallel cap', () => {
  it('admits up to the limit per key and frees a slot when one ends', () => {
    const cap = new ParallelCap(2);
    expect([cap.enter('a'), cap.enter('a'), cap.enter('a')]).toEqual([true, true, false]);
    expect(cap.enter('b')).toBe(true);
    cap.leave('a');
    expect(cap.enter('a')).toBe(true);
    expect(cap.enter('a')).toBe(false);
  });
});

describe('client address key', () => {
  it('keeps IPv4 as it is and groups IPv6 by its /64', () => {
    expect(addressKey('203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
  });
});

describe('the scrypt gate', () => {
  /** Work the test finishes by hand, and the order in which pieces of work started. */
  function manual() {
    const started: string[] = [];
    const finishers = new Map<string, () => void>();
    const work = (name: string) => () =>
      new Promise<string>((resolve) => {
        started.push(name);
        finishers.set(name, () => resolve(name));
      });
    const finish = async (name: string) => {
      finishers.get(name)?.();
      // Let the gate hand its slot on.
      await new Promise((resolve) => setImmediate(resolve));
    };
    return { started, work, finish };
  }

  it('runs one at a time, queues a bounded number, refuses the rest at once, and lets priority work go first', async () => {
    const gate = new WorkGate(1, 2);
    const { started, work, finish } = manual();
    const first = gate.run(work('first'));
    const queued = [gate.run(work('q1')), gate.run(work('q2'))];
    await expect(gate.run(work('refused'))).rejects.toBeInstanceOf(PasswordWorkBusy);
    const known = gate.run(work('known browser'), true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual(['first']);
    await finish('first');
    expect(started).toEqual(['first', 'known browser']);
    await finish('known browser');
    await finish('q1');
    await finish('q2');
    expect(started).toEqual(['first', 'known browser', 'q1', 'q2']);
    await expect(Promise.all([first, known, ...queued])).resolves.toEqual(['first', 'known browser', 'q1', 'q2']);
    // Once drained, it takes work again.
    const again = gate.run(work('again'));
    await finish('again');
    await expect(again).resolves.toBe('again');
  });

  it('frees its slot when the work fails', async () => {
    const gate = new WorkGate(1, 0);
    await expect(gate.run(() => Promise.reject(new Error('scrypt failed')))).rejects.toThrow('scrypt failed');
    await expect(gate.run(async () => 'ok')).resolves.toBe('ok');
  });
});
