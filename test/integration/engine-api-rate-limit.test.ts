// A real engine against real endpoints whose limits bite (PROTOCOL.md: 429 with Retry-After is transient): every
// file still arrives, and no request is repeated before the Retry-After it was given. No busy loop.

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { removeFolders, startClient, type TestClient, until } from '../helpers/engine.js';
import { type AnsweredRequest, startTestPlatform, type TestPlatform } from '../helpers/platform.js';

let platform: TestPlatform | null = null;
let client: TestClient | null = null;

afterEach(async () => {
  await client?.stop();
  if (client) removeFolders(client.folder, client.home);
  await platform?.close();
  client = null;
  platform = null;
});

/** For each 429, the next request for the same method and path, and how long after the 429 it came. */
function retriesAfter429(requests: AnsweredRequest[]): Array<{ gapMs: number; retryAfterMs: number; what: string }> {
  const out: Array<{ gapMs: number; retryAfterMs: number; what: string }> = [];
  requests.forEach((refused, index) => {
    if (refused.status !== 429) return;
    const next = requests.slice(index + 1).find((r) => r.method === refused.method && r.path === refused.path);
    if (!next) return;
    out.push({
      gapMs: next.atMs - refused.atMs,
      retryAfterMs: Number(refused.retryAfter) * 1000,
      what: `${refused.method} ${refused.path}`,
    });
  });
  return out;
}

describe('the engine under the platform’s rate limits', () => {
  it('pushes every file, waiting out each Retry-After before trying that request again', async () => {
    platform = await startTestPlatform({
      rateLimits: { perToken: { perSecond: 8, burst: 8 }, parallelUploadsPerAccount: 2 },
    });
    const account = platform.addAccount({ email: 'limited@example.com' });
    // Every file its own PUT, as before batches: the limits are on requests (batches have their own tests).
    client = startClient(
      platform,
      { id: account.id, token: await platform.tokenFor(account) },
      { engine: { batches: false } },
    );
    const files = 24;
    for (let i = 0; i < files; i++) writeFileSync(path.join(client.folder, `page-${i}.html`), `<p>page ${i}</p>`);
    await client.engine.start();
    const storage = platform.storage;
    await until(
      async () => ((await storage.usage(account.id)).sites === files ? true : null),
      'every site on the platform',
      120_000,
    );

    const refusals = platform.requests.filter((r) => r.status === 429);
    // The limits did bite (the engine keeps 8 transfers going against a cap of 2 and 8 requests a second).
    expect(refusals.length).toBeGreaterThan(0);
    expect(refusals.every((r) => r.retryAfter !== null && Number(r.retryAfter) >= 1)).toBe(true);
    const retries = retriesAfter429(platform.requests);
    expect(retries.length).toBeGreaterThan(0);
    for (const retry of retries) {
      // Timers fire no earlier than asked; a few ms of slack for the two clocks' reading of "arrived".
      expect(retry.gapMs, retry.what).toBeGreaterThanOrEqual(retry.retryAfterMs - 20);
    }
    // Every answer is accounted for by a file, a poll or a retry: nothing near a loop (24 files, a few polls).
    expect(platform.requests.length).toBeLessThan(files * 8);
    expect(client.lines.some((line) => / in 1000 ms \(429 rate_limited\)/.test(line))).toBe(true);
  });
});
