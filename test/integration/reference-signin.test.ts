// The reference platform's login under password guessing (PROTOCOL.md "Origins and limits"): growing delays per
// account and client address, never a lockout of the owner; and the data folder closed to other users. Real server
// on 127.0.0.1, real clients on other loopback addresses (127.0.0.x), the throttle's clock moved by the test.

import { chmod, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LOGIN_THROTTLE } from '../../server-endpoints/reference/login-throttle.js';
import {
  openReferenceStores,
  type ReferenceServer,
  startReferenceServer,
} from '../../server-endpoints/reference/server.js';
import { call, cookieOf, postLogin, type Reply } from '../helpers/reference.js';

const PASSWORD = 'the owner knows this';
const EMAILS = ['dave@example.com', 'erin@example.com', 'fay@example.com', 'gus@example.com'] as const;

/** The Set-Cookie value of one cookie, as a `name=value` request header part. */
function setCookie(reply: Reply, name: string): string | null {
  const header = reply.headers['set-cookie'];
  const all = Array.isArray(header) ? header : header ? [header] : [];
  const found = all.find((value) => value.startsWith(`${name}=`));
  return found ? (found.split(';')[0] ?? null) : null;
}

describe('reference login under password guessing', () => {
  let dir: string;
  let server: ReferenceServer;
  let clock = Date.UTC(2026, 10, 25, 12);
  const lines: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hc-signin-'));
    const stores = await openReferenceStores(dir);
    try {
      for (const email of EMAILS) await stores.accounts.create({ email, password: PASSWORD });
    } finally {
      await stores.close();
    }
    server = await startReferenceServer({
      port: 0,
      dataDir: dir,
      log: (line) => lines.push(line),
      throttleClock: () => clock,
      // The spread-out guess is counted from 20 failures here (50 by default) to keep the test short.
      loginThrottle: { ...DEFAULT_LOGIN_THROTTLE, account: { ...DEFAULT_LOGIN_THROTTLE.account, free: 20 } },
    });
  });

  afterAll(async () => {
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const login = (email: string, password: string, from: string, cookie?: string) =>
    postLogin(server.url, { email, password }, { from, ...(cookie ? { cookie } : {}) });

  it('slows a guesser at one address with growing delays; the owner signs in from another address at once', async () => {
    const guesser = '127.0.0.3';
    const waits: number[] = [];
    let wrong = 0;
    while (wrong < 15) {
      const reply = await login('dave@example.com', `guess ${wrong}`, guesser);
      if (reply.status === 429) {
        expect(reply.headers['set-cookie']).toBeUndefined();
        expect(reply.text).toContain('Too many wrong passwords');
        const wait = Number(reply.headers['retry-after']);
        waits.push(wait);
        // Waiting, even the right password is not tried: the guesser cannot learn that a guess was right.
        expect((await login('dave@example.com', PASSWORD, guesser)).status).toBe(429);
        clock += wait * 1000;
        continue;
      }
      expect(reply.status).toBe(401);
      wrong++;
    }
    // Five tries free, then 1 s doubling up to 5 minutes.
    expect(waits).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256, 300]);
    expect(Number((await login('dave@example.com', 'x', guesser)).headers['retry-after'])).toBe(300);

    // Right after 15 wrong passwords from elsewhere: the owner's correct sign-in succeeds.
    const owner = await login('dave@example.com', PASSWORD, '127.0.0.4');
    expect(owner.status).toBe(303);
    expect(setCookie(owner, 'hc_session')).toMatch(/^hc_session=/);
    // The guesser's address is not shut out of other accounts either.
    expect((await login('erin@example.com', PASSWORD, guesser)).status).toBe(303);
    expect(lines.filter((line) => line === 'login throttled').length).toBeGreaterThan(0);
  });

  it('keeps a browser that signed in before on its own count: guesses from its address do not slow it', async () => {
    const shared = '127.0.0.5';
    const first = await login('fay@example.com', PASSWORD, shared);
    expect(first.status).toBe(303);
    const known = setCookie(first, 'hc_known');
    expect(known).toMatch(/^hc_known=/);
    for (let i = 0; i < 5; i++) expect((await login('fay@example.com', `guess ${i}`, shared)).status).toBe(401);
    expect((await login('fay@example.com', PASSWORD, shared)).status).toBe(429);
    // The owner's own browser, from the same address (a shared network), goes straight in.
    expect((await login('fay@example.com', PASSWORD, shared, known ?? '')).status).toBe(303);
    // The cookie is bound to its account: it does not help against another one.
    for (let i = 0; i < 5; i++) await login('gus@example.com', `guess ${i}`, shared);
    expect((await login('gus@example.com', PASSWORD, shared, known ?? '')).status).toBe(429);
  });

  it('slows a guess spread over many addresses for new browsers only, never for the owner’s browser', async () => {
    const owner = await login('gus@example.com', PASSWORD, '127.0.2.1');
    expect(owner.status).toBe(303);
    const known = setCookie(owner, 'hc_known') ?? '';
    // gus already has 5 failures from the test above (at 127.0.0.5); 15 more from 15 other addresses make 20.
    for (let i = 0; i < 15; i++) {
      expect((await login('gus@example.com', `spread ${i}`, `127.0.1.${i + 1}`)).status).toBe(401);
    }
    const fresh = await login('gus@example.com', PASSWORD, '127.0.1.200');
    expect(fresh.status).toBe(429);
    expect(Number(fresh.headers['retry-after'])).toBeGreaterThan(0);
    expect((await login('gus@example.com', PASSWORD, '127.0.1.201', known)).status).toBe(303);
  });

  it('answers a signed-in GET /login with a redirect on this origin only', async () => {
    const cookie = cookieOf(await login('erin@example.com', PASSWORD, '127.0.0.6'));
    const reply = await call(server.url, {
      path: `/login?next=${encodeURIComponent('/..//evil.example/x')}`,
      headers: { cookie },
    });
    expect(reply.status).toBe(303);
    expect(new URL(String(reply.headers.location), server.url).origin).toBe(server.url);
  });
});

describe('the data folder', () => {
  it('is made readable by its owner only, also when it already existed open to everyone', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'hc-data-mode-'));
    try {
      const data = join(parent, 'data');
      await mkdir(data, { mode: 0o755 });
      await chmod(data, 0o755);
      const stores = await openReferenceStores(data);
      await stores.close();
      expect((await stat(data)).mode & 0o777).toBe(0o700);
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });
});
