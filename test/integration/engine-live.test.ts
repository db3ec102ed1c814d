// SPEC.md "Live polls": each poll is a long-poll held by the platform until a change is committed, so a platform
// change reaches disk without waiting for the poll interval; a platform that answers at once (it does not hold
// polls) gets no more than one poll per interval.

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { until, useSyncWorld } from '../helpers/engine.js';
import { hostileEngine, startHostilePlatform } from '../helpers/hostile-platform.js';

describe('live polls', () => {
  const world = useSyncWorld();

  it('a platform change comes down during the poll that is waiting for it, long before the poll interval', async () => {
    // A 60 s interval: without live polls the change would wait for the next poll, a minute away.
    const a = world.client({ pollSeconds: 60 });
    await a.engine.start();
    const polls = () => world.platform.requests.filter((l) => l.startsWith('GET /sync/changes ')).length;
    // The session's listing, then the first live poll, held by the platform.
    await until(() => polls() >= 1, 'the session listing');
    const response = await world.platform.put(world.account(), 'site', 'live', '<p>saved elsewhere</p>');
    expect(response.status).toBe(201);
    await until(() => existsSync(path.join(a.folder, 'live.html')), 'the change on disk', 20_000);
    expect(readFileSync(path.join(a.folder, 'live.html'), 'utf8')).toBe('<p>saved elsewhere</p>');
    // The listing, the poll that was held and brought the change, and the one now waiting: no loop.
    expect(polls()).toBeLessThanOrEqual(4);
  });
});

describe('a platform that does not hold polls', () => {
  it('is polled once per interval, not in a loop', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'hc-live-'));
    const folder = path.join(root, 'sync');
    mkdirSync(folder);
    const platform = await startHostilePlatform();
    const engine = hostileEngine(platform, { folder, home: path.join(root, 'home'), lines: [], pollSeconds: 0.5 });
    try {
      await engine.start();
      const polls = () => platform.requests.filter((r) => r.path === '/sync/changes' && r.query.get('cursor') !== '0');
      await until(() => polls().length >= 3, 'three polls');
      const [first, , third] = polls();
      expect(first?.query.get('wait')).toBe('0.5');
      // Two intervals at least between the first and the third (a busy loop would make them milliseconds apart).
      expect((third?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(900);
    } finally {
      await engine.stop();
      await platform.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
