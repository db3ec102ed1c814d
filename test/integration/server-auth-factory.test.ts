// Sign-in through the whole endpoints factory (createSyncEndpoints with embedded storage): the token from the
// browser flow works on real /sync endpoints, and every one of them refuses bad, revoked, unpaid and orphan tokens.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_CACHE_TTL_MS } from '../../server-endpoints/auth/middleware.js';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { call, errorCode, signIn } from './server-auth-helpers.js';

const clock = { ms: Date.UTC(2026, 10, 25, 9, 0, 0) };
const REDIRECT = 'http://127.0.0.1:43210/callback';
let platform: TestPlatform;
const logLines: string[] = [];

beforeAll(async () => {
  platform = await startTestPlatform({ now: () => clock.ms, log: (line) => logLines.push(line) });
});

afterAll(async () => {
  await platform.close();
});

const AUTHENTICATED = [
  ['GET', '/sync/me'],
  ['GET', '/sync/changes?cursor=0'],
  ['POST', '/sync/sessions'],
  ['GET', '/sync/sites/hello'],
  ['PUT', '/sync/folders/blog'],
  ['GET', '/sync/sites/hello/versions'],
] as const;

async function statuses(token: string): Promise<number[]> {
  const results: number[] = [];
  for (const [method, path] of AUTHENTICATED)
    results.push((await call(platform, path, `Bearer ${token}`, method)).status);
  return results;
}

describe('sign-in through createSyncEndpoints', () => {
  it('issues a token that /sync/me accepts, with the server time on every auth answer', async () => {
    const account = platform.addAccount({ id: 'acct-fac', email: 'fac@example.com' });
    const { token } = await signIn(platform, { accountId: account.id, redirectUri: REDIRECT });
    const me = await call(platform, '/sync/me', `Bearer ${token}`);
    expect(me.status).toBe(200);
    expect((me.body.user as { email: string }).email).toBe('fac@example.com');
    const refused = await call(platform, '/sync/me', 'Bearer x.y.z');
    expect(refused.status).toBe(401);
    expect(refused.headers.get('x-server-time')).toBe(new Date(clock.ms).toISOString());
    const token400 = await fetch(`${platform.url}/sync/token`, { method: 'POST', body: '{}' });
    expect(token400.status).toBe(400);
    expect(token400.headers.get('x-server-time')).toBe(new Date(clock.ms).toISOString());
    expect(logLines.some((line) => line.startsWith('auth signed-in account=acct-fac'))).toBe(true);
  });

  it('guards every authenticated endpoint: no token, revoked, unpaid and deleted accounts are refused', async () => {
    const account = platform.addAccount({ id: 'acct-guard', email: 'guard@example.com' });
    const { token } = await signIn(platform, { accountId: account.id, redirectUri: REDIRECT });
    expect((await statuses(token)).every((status) => status !== 401 && status !== 402)).toBe(true);

    for (const [method, path] of AUTHENTICATED) {
      const anonymous = await call(platform, path, undefined, method);
      expect(anonymous.status, path).toBe(401);
      expect(errorCode(anonymous.body), path).toBe('unauthorized');
    }

    const unpaid = platform.accounts.get(account.id);
    if (!unpaid) throw new Error('account missing');
    unpaid.paid = false;
    unpaid.plan = 'free';
    clock.ms += AUTH_CACHE_TTL_MS;
    expect(await statuses(token)).toEqual(AUTHENTICATED.map(() => 402));

    platform.accounts.delete(account.id);
    clock.ms += AUTH_CACHE_TTL_MS;
    expect(await statuses(token)).toEqual(AUTHENTICATED.map(() => 401));
  });

  it('revokes at logout on every endpoint at once', async () => {
    const account = platform.addAccount({ id: 'acct-out', email: 'out@example.com' });
    const { token } = await signIn(platform, { accountId: account.id, redirectUri: REDIRECT });
    expect((await call(platform, '/sync/me', `Bearer ${token}`)).status).toBe(200);
    expect((await call(platform, '/sync/logout', `Bearer ${token}`, 'POST')).status).toBe(204);
    expect(await statuses(token)).toEqual(AUTHENTICATED.map(() => 401));
  });

  it('leaves the health probe open', async () => {
    expect((await call(platform, '/sync/health')).status).toBe(200);
  });
});
