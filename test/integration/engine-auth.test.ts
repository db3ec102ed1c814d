// SPEC.md "Auth and account" end to end: a token revoked mid-session signs the engine out and loses nothing;
// a token older than 24 h is refreshed at its first use and sync goes on with the new one.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { until, useSyncWorld } from '../helpers/engine.js';

const world = useSyncWorld();
const client = world.client;

const account = world.account;

describe('tokens', () => {
  it('a token revoked mid-session: the engine goes signed-out and nothing is lost', async () => {
    const a = client();
    writeFileSync(path.join(a.folder, 'mine.html'), 'before');
    await a.engine.start();
    await until(async () => (await world.platform.remote(account(), 'site', 'mine')) === 'before', 'the push');
    const revoked = await world.platform.api(account(), '/sync/logout', { method: 'POST' });
    expect(revoked.status).toBe(204);
    await until(() => a.status.current.phase === 'signed-out', 'signed out');
    await until(() => a.signedOut === 1, 'the owner told to forget the token');
    expect(a.lines.some((l) => l.includes('signed out by the platform'))).toBe(true);
    // A save after the revocation stays on disk; nothing was removed or replaced.
    writeFileSync(path.join(a.folder, 'mine.html'), 'after');
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(readFileSync(path.join(a.folder, 'mine.html'), 'utf8')).toBe('after');
    expect(a.status.current.phase).toBe('signed-out');
  });

  it('a token older than 24 h is refreshed at its first use, and syncing goes on with the new one', async () => {
    const a = client({ tokenObtainedAtMs: Date.now() - 25 * 3_600_000 });
    writeFileSync(path.join(a.folder, 'fresh.html'), 'fresh');
    await a.engine.start();
    await until(async () => (await world.platform.remote(account(), 'site', 'fresh')) === 'fresh', 'the push');
    // Within the same second the refreshed JWT may equal the old one byte for byte: its age is what changed.
    expect(Date.now() - a.token().obtainedAtMs).toBeLessThan(60_000);
    expect(a.lines.filter((l) => l.includes('token refreshed'))).toHaveLength(1);
    writeFileSync(path.join(a.folder, 'fresh.html'), 'fresher');
    await until(async () => (await world.platform.remote(account(), 'site', 'fresh')) === 'fresher', 'the next push');
    expect(a.status.current.phase).toBe('syncing');
  });
});
