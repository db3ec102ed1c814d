// SPEC.md promise 1 under contention: two writers racing on one site; every acknowledged version survives.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SyncApi, sha256Hex, startTestPlatform, syncApi, type TestPlatform } from '../helpers/platform.js';

let platform: TestPlatform;
let accountId: string;
let writers: SyncApi[];

beforeAll(async () => {
  platform = await startTestPlatform();
  const account = platform.addAccount({ email: 'race@example.com' });
  accountId = account.id;
  // Two devices of one account, each with its own connection.
  writers = [
    syncApi(platform.url, await platform.tokenFor(account, 'one')),
    syncApi(platform.url, await platform.tokenFor(account, 'two')),
  ];
});
afterAll(() => platform.close());

describe('two writers racing on one site', () => {
  it('every acknowledged version is the current content or in the versions list, with its content', async () => {
    const acknowledged = new Map<number, string>();
    const outcomes = { saved: 0, conflict: 0, unchanged: 0 };
    // A fixed number of edits each (not a time span: a busy machine would make fewer).
    const EDITS = 40;
    await Promise.all(
      writers.map(async (api, w) => {
        let base = 0;
        for (let i = 0; i < EDITS; i++) {
          // Alternate honest edits (base = last seen) and blind ones (stale base, last write wins on time).
          const content = `<p>writer ${w} edit ${i}</p>`;
          const put = await api.putSite('contested', content, { baseVersion: i % 3 === 2 ? 0 : base });
          if (put.status === 200 || put.status === 201) {
            const version = put.json.version as number;
            expect(put.json.sha256).toBe(sha256Hex(content));
            expect(acknowledged.has(version)).toBe(false);
            acknowledged.set(version, put.json.sha256 as string);
            base = version;
            outcomes.saved++;
          } else {
            expect(put.status).toBe(409);
            const current = (put.json.error as { current: { version: number } }).current;
            base = current.version;
            outcomes.conflict++;
          }
        }
      }),
    );
    expect(outcomes.saved).toBeGreaterThan(10);
    expect(outcomes.conflict).toBeGreaterThan(0);
    const current = await writers[0]!.get('/sync/sites/contested');
    const versions = (await writers[0]!.get('/sync/sites/contested/versions')).json.versions as {
      version: number;
      sha256: string;
    }[];
    const kept = new Map(versions.map((v) => [v.version, v.sha256]));
    kept.set(Number(current.headers.get('x-version')), sha256Hex(current.body));
    for (const [version, sha] of acknowledged) {
      expect([version, kept.get(version)]).toEqual([version, sha]);
      const content = await platform.storage.readVersion(accountId, { kind: 'site', key: 'contested' }, version);
      expect(content && sha256Hex(content)).toBe(sha);
    }
    // Versions are never reused or skipped: 1..current, each kept.
    expect([...kept.keys()].sort((x, y) => x - y)).toEqual(Array.from({ length: kept.size }, (_, i) => i + 1));
    expect(kept.size).toBe(acknowledged.size);
  });
});
