// The API limits of PROTOCOL.md "Origins and limits" over real HTTP: 429 rate_limited with Retry-After past a
// token's or an address's rate, and past an account's uploads in flight; the default limits let a client's burst
// through. The limits' clock is the platform's, moved by the test.

import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_RATE_LIMITS } from '../../server-endpoints/index.js';
import { until } from '../helpers/engine.js';
import { errorCode } from '../helpers/feed.js';
import { sha256Hex, startTestPlatform, syncApi, type TestPlatform } from '../helpers/platform.js';

let platform: TestPlatform | null = null;

afterEach(async () => {
  await platform?.close();
  platform = null;
});

describe('API rate limits', () => {
  it('answers 429 rate_limited with Retry-After past a token’s rate; another device of the account goes on', async () => {
    let clock = Date.UTC(2026, 10, 25, 12);
    platform = await startTestPlatform({
      now: () => clock,
      rateLimits: { perToken: { perSecond: 2, burst: 3 } },
    });
    const account = platform.addAccount({ email: 'busy@example.com' });
    const laptop = syncApi(platform.url, await platform.tokenFor(account, 'laptop'));
    const phone = syncApi(platform.url, await platform.tokenFor(account, 'phone'));
    for (let i = 0; i < 3; i++) expect((await laptop.get('/sync/me')).status).toBe(200);
    const refused = await laptop.get('/sync/me');
    expect(refused.status).toBe(429);
    expect(errorCode(refused.json)).toBe('rate_limited');
    expect(refused.headers.get('retry-after')).toBe('1');
    expect((await phone.get('/sync/me')).status).toBe(200);
    clock += 500;
    expect((await laptop.get('/sync/me')).status).toBe(200);
    expect((await laptop.get('/sync/me')).status).toBe(429);
  });

  it('answers 429 past an address’s rate, signed in or not, the health probe included', async () => {
    let clock = Date.UTC(2026, 10, 25, 12);
    platform = await startTestPlatform({ now: () => clock, rateLimits: { perAddress: { perSecond: 1, burst: 4 } } });
    const account = platform.addAccount({ email: 'flood@example.com' });
    const api = syncApi(platform.url, await platform.tokenFor(account));
    const anonymous = syncApi(platform.url, null);
    expect((await anonymous.get('/sync/health')).status).toBe(200);
    expect((await api.get('/sync/me')).status).toBe(200);
    expect((await anonymous.request('POST', '/sync/token', { body: '{}' })).status).toBe(400);
    expect((await api.get('/sync/me')).status).toBe(200);
    const refused = await anonymous.get('/sync/health');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await api.get('/sync/me')).status).toBe(429);
    clock += 1000;
    expect((await anonymous.get('/sync/health')).status).toBe(200);
  });

  it('refuses an account’s upload past its uploads in flight with 429, and takes one again once a slot frees', async () => {
    platform = await startTestPlatform({ rateLimits: { parallelUploadsPerAccount: 2 } });
    const account = platform.addAccount({ email: 'uploads@example.com' });
    const token = await platform.tokenFor(account);
    const api = syncApi(platform.url, token);
    const content = Buffer.alloc(64 * 1024, 0x61);
    // Two uploads whose bodies have not finished arriving hold the account's two slots.
    const held = [0, 1].map((i) => startUpload(platform!.url, token, `held-${i}.bin`, content));
    await Promise.all(held.map((upload) => upload.started));
    await waitForRequests(platform, 'PUT', 2);
    const refused = await api.putUpload('third.bin', 'small');
    expect(refused.status).toBe(429);
    expect(errorCode(refused.json)).toBe('rate_limited');
    expect(refused.headers.get('retry-after')).toBe('1');
    // Another account is not held back by this one's uploads.
    const other = platform.addAccount({ email: 'other@example.com' });
    expect((await syncApi(platform.url, await platform.tokenFor(other)).putUpload('mine.bin', 'x')).status).toBe(201);
    // Downloads are not uploads.
    expect((await api.get('/sync/me')).status).toBe(200);
    expect(await held[0]!.finish()).toBe(201);
    expect((await api.putUpload('third.bin', 'small')).status).toBe(201);
    expect(await held[1]!.finish()).toBe(201);
  });

  it('lets a client’s burst through with the default limits (a first sync is not throttled)', async () => {
    platform = await startTestPlatform();
    expect(DEFAULT_RATE_LIMITS.perToken.burst).toBeGreaterThanOrEqual(1000);
    const account = platform.addAccount({ email: 'first-sync@example.com' });
    const api = syncApi(platform.url, await platform.tokenFor(account));
    const parallel = await Promise.all(Array.from({ length: 200 }, () => api.get('/sync/me')));
    expect(parallel.map((reply) => reply.status)).toEqual(Array(200).fill(200));
    for (let i = 0; i < 200; i++) {
      expect((await api.putUpload(`row/file-${i}.txt`, `content ${i}`)).status).toBe(201);
    }
  });
});

/** Waits until `count` requests of `method` have arrived at the platform (their handlers are running). */
function waitForRequests(platform: TestPlatform, method: string, count: number): Promise<unknown> {
  return until(() => platform.requests.filter((r) => r.method === method).length >= count, `${count} ${method}s`);
}

/** A PUT whose body is held back after its first half until `finish()`; `started` once the headers are out. */
function startUpload(url: string, token: string, path: string, content: Buffer) {
  let resolveStatus: (status: number) => void = () => {};
  const status = new Promise<number>((resolve) => {
    resolveStatus = resolve;
  });
  const request = httpRequest(new URL(`/sync/uploads/${path}`, url), {
    method: 'PUT',
    agent: false,
    headers: {
      authorization: `Bearer ${token}`,
      'content-length': String(content.length),
      'x-base-version': '0',
      'x-modified-at': new Date().toISOString(),
      'content-sha256': sha256Hex(content),
    },
  });
  request.on('response', (response) => {
    response.resume();
    response.on('end', () => resolveStatus(response.statusCode ?? 0));
  });
  request.on('error', () => resolveStatus(-1));
  const half = content.length / 2;
  const started = new Promise<void>((resolve) => request.write(content.subarray(0, half), () => resolve()));
  return {
    started,
    finish(): Promise<number> {
      request.end(content.subarray(half));
      return status;
    },
  };
}
