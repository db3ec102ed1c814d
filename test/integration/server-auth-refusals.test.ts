// Every refusal of the sign-in endpoints over real HTTP: bad grants, foreign redirects, CSRF, bad tokens, plans.

import { generateKeyPairSync } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_CACHE_TTL_MS } from '../../server-endpoints/auth/middleware.js';
import { signToken } from '../../server-endpoints/auth/tokens.js';
import {
  authorizeQuery,
  COOKIE,
  call,
  errorCode,
  exchange,
  openConsent,
  pkcePair,
  type Rig,
  SECRET,
  shownCode,
  signIn,
  signInCode,
  startRig,
  submitConsent,
} from './server-auth-helpers.js';

let rig: Rig;
const LOOPBACK = 'http://127.0.0.1:50123/callback';

beforeAll(async () => {
  rig = await startRig();
  rig.identity.add('acct-ann', 'ann@example.com');
  rig.identity.add('acct-eve', 'eve@example.com');
  rig.identity.add('acct-free', 'free@example.com', false);
});

afterAll(async () => {
  await rig.close();
});

describe('token exchange refusals (400 invalid_grant)', () => {
  it('refuses a wrong verifier, and the code is gone afterwards', async () => {
    const { code, verifier } = await signInCode(rig, { accountId: 'acct-ann', redirectUri: LOOPBACK });
    const wrong = await exchange(rig, { code, code_verifier: pkcePair().verifier, redirect_uri: LOOPBACK });
    expect(wrong.status).toBe(400);
    expect(errorCode(wrong.body)).toBe('invalid_grant');
    expect(typeof (wrong.body.error as { message?: unknown }).message).toBe('string');
    const retry = await exchange(rig, { code, code_verifier: verifier, redirect_uri: LOOPBACK });
    expect(retry.status).toBe(400);
    expect(errorCode(retry.body)).toBe('invalid_grant');
  });

  it('refuses a code used twice, even when both exchanges race', async () => {
    const { code, verifier } = await signInCode(rig, { accountId: 'acct-ann', redirectUri: LOOPBACK });
    const body = { code, code_verifier: verifier, redirect_uri: LOOPBACK };
    const results = await Promise.all([exchange(rig, body), exchange(rig, body), exchange(rig, body)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 400, 400]);
    const again = await exchange(rig, body);
    expect(again.status).toBe(400);
    expect(errorCode(again.body)).toBe('invalid_grant');
  });

  it('refuses a code older than 5 minutes, and takes one just inside them', async () => {
    const late = await signInCode(rig, { accountId: 'acct-ann', redirectUri: LOOPBACK });
    const inTime = await signInCode(rig, { accountId: 'acct-ann', redirectUri: LOOPBACK });
    rig.clock.ms += 5 * 60 * 1000 - 1;
    const ok = await exchange(rig, { code: inTime.code, code_verifier: inTime.verifier, redirect_uri: LOOPBACK });
    expect(ok.status).toBe(200);
    rig.clock.ms += 1;
    const expired = await exchange(rig, { code: late.code, code_verifier: late.verifier, redirect_uri: LOOPBACK });
    expect(expired.status).toBe(400);
    expect(errorCode(expired.body)).toBe('invalid_grant');
  });

  it('refuses a redirect_uri other than the one the code was issued for', async () => {
    const { code, verifier } = await signInCode(rig, { accountId: 'acct-ann', redirectUri: LOOPBACK });
    const other = await exchange(rig, {
      code,
      code_verifier: verifier,
      redirect_uri: 'http://127.0.0.1:50124/callback',
    });
    expect(other.status).toBe(400);
    expect(errorCode(other.body)).toBe('invalid_grant');
  });

  it('refuses an unknown code and malformed bodies', async () => {
    const unknown = await exchange(rig, {
      code: 'x'.repeat(43),
      code_verifier: pkcePair().verifier,
      redirect_uri: LOOPBACK,
    });
    expect(unknown.status).toBe(400);
    expect(errorCode(unknown.body)).toBe('invalid_grant');
    const missing = await exchange(rig, { code: 'abc' });
    expect(missing.status).toBe(400);
    expect(errorCode(missing.body)).toBe('bad_request');
    const notJson = await fetch(`${rig.url}/sync/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{nope',
    });
    expect(notJson.status).toBe(400);
    expect(errorCode((await notJson.json()) as Record<string, unknown>)).toBe('bad_request');
  });
});

describe('authorize refusals: pages, never redirects', () => {
  const foreign = [
    'https://evil.example/callback',
    'http://evil.example:8080/callback',
    'http://localhost:8080/callback',
    'http://127.0.0.1.evil.example:8080/callback',
    'http://127.0.0.1:8080/callback/../../evil',
    'http://127.0.0.1:8080/other',
    'http://127.0.0.1:8080/callback?next=https://evil.example',
    'http://127.0.0.1:8080/callback#x',
    'http://user@127.0.0.1:8080/callback',
    'http://127.0.0.1/callback',
    'http://127.1:8080/callback',
    'https://127.0.0.1:8080/callback',
    'http://[::2]:8080/callback',
    'hyperclay://auth/callback/extra',
    'hyperclay://evil/callback',
    'otherapp://auth/callback',
    'javascript:alert(1)//auth/callback',
    '',
  ];

  it('refuses every foreign redirect_uri with a page and no Location', async () => {
    const { challenge } = pkcePair();
    for (const redirectUri of foreign) {
      const query = authorizeQuery({
        redirect_uri: redirectUri,
        state: 's',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        device_name: 'Laptop',
      });
      const response = await fetch(`${rig.url}/sync/authorize?${query}`, {
        headers: { cookie: `${COOKIE}=acct-ann` },
        redirect: 'manual',
      });
      const html = await response.text();
      expect(response.status, redirectUri).toBe(400);
      expect(response.headers.get('location'), redirectUri).toBeNull();
      expect(response.headers.get('content-type')).toContain('text/html');
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      expect(html).toContain('This sign-in link is not valid');
      expect(html).not.toContain('<form');
    }
  });

  it('refuses a foreign redirect_uri in the consent POST too, even with a valid CSRF token for it', async () => {
    const { challenge } = pkcePair();
    const consent = await openConsent(rig, { accountId: 'acct-ann', redirectUri: LOOPBACK, challenge });
    const posted = await submitConsent(rig, 'acct-ann', {
      ...consent.fields,
      redirect_uri: 'https://evil.example/callback',
      decision: 'allow',
    });
    expect(posted.response.status).toBe(400);
    expect(posted.response.headers.get('location')).toBeNull();
    expect(shownCode(posted.html)).toBeNull();
  });

  it('refuses a duplicated redirect_uri and missing or wrong PKCE and device parameters', async () => {
    const { challenge } = pkcePair();
    const base = {
      redirect_uri: LOOPBACK,
      state: 's',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      device_name: 'Laptop',
    };
    const queries = [
      `${authorizeQuery(base)}&redirect_uri=${encodeURIComponent('https://evil.example/callback')}`,
      authorizeQuery({ ...base, state: '' }),
      authorizeQuery({ ...base, code_challenge_method: 'plain' }),
      authorizeQuery({ ...base, code_challenge: 'short' }),
      authorizeQuery({ ...base, device_name: '' }),
      authorizeQuery({ ...base, device_name: 'two\nlines' }),
      authorizeQuery({ ...base, device_name: 'x'.repeat(101) }),
    ];
    for (const query of queries) {
      const response = await fetch(`${rig.url}/sync/authorize?${query}`, {
        headers: { cookie: `${COOKIE}=acct-ann` },
        redirect: 'manual',
      });
      expect(response.status, query).toBe(400);
      expect(response.headers.get('location'), query).toBeNull();
      expect(await response.text()).not.toContain('<form');
    }
  });

  it('refuses a free-plan account with a clear page and no form', async () => {
    const { challenge } = pkcePair();
    const consent = await openConsent(rig, { accountId: 'acct-free', redirectUri: LOOPBACK, challenge });
    expect(consent.response.status).toBe(402);
    expect(consent.response.headers.get('location')).toBeNull();
    expect(consent.html).toContain('Sync needs a paid plan');
    expect(consent.html).toContain('free@example.com');
    expect(consent.html).not.toContain('<form');
  });
});

describe('consent CSRF', () => {
  async function freshConsent() {
    const { challenge } = pkcePair();
    const consent = await openConsent(rig, {
      accountId: 'acct-ann',
      redirectUri: LOOPBACK,
      challenge,
      state: 'csrf-s',
    });
    expect(consent.response.status).toBe(200);
    return consent.fields;
  }

  async function expectRefused(
    accountId: string,
    fields: Record<string, string>,
    headers: Record<string, string> = { origin: rig.url },
  ) {
    const posted = await submitConsent(rig, accountId, fields, headers);
    expect(posted.response.status).toBe(403);
    expect(posted.response.headers.get('location')).toBeNull();
    expect(shownCode(posted.html)).toBeNull();
  }

  it('refuses a missing, tampered or doubled CSRF token', async () => {
    const fields = await freshConsent();
    const { csrf, ...withoutCsrf } = fields;
    await expectRefused('acct-ann', { ...withoutCsrf, decision: 'allow' });
    const tampered = `${csrf?.slice(0, -2)}${csrf?.endsWith('AA') ? 'BB' : 'AA'}`;
    await expectRefused('acct-ann', { ...fields, csrf: tampered, decision: 'allow' });
    await expectRefused('acct-ann', {
      ...fields,
      csrf: `${Number(csrf?.split('.')[0]) + 1}.${csrf?.split('.')[1]}`,
      decision: 'allow',
    });
    const doubled = new URLSearchParams({ ...fields, decision: 'allow' });
    doubled.append('csrf', csrf ?? '');
    const response = await fetch(`${rig.url}/sync/authorize`, {
      method: 'POST',
      headers: { cookie: `${COOKIE}=acct-ann`, origin: rig.url, 'content-type': 'application/x-www-form-urlencoded' },
      body: doubled.toString(),
      redirect: 'manual',
    });
    expect(response.status).toBe(403);
  });

  it('refuses a CSRF token issued to another account or for other parameters', async () => {
    const fields = await freshConsent();
    await expectRefused('acct-eve', { ...fields, decision: 'allow' });
    await expectRefused('acct-ann', { ...fields, state: 'other-state', decision: 'allow' });
    await expectRefused('acct-ann', { ...fields, device_name: 'Other device', decision: 'allow' });
    await expectRefused('acct-ann', { ...fields, code_challenge: pkcePair().challenge, decision: 'allow' });
    await expectRefused('acct-ann', { ...fields, redirect_uri: 'http://127.0.0.1:50999/callback', decision: 'allow' });
  });

  it('refuses a post from another origin or an opaque one', async () => {
    const fields = await freshConsent();
    await expectRefused('acct-ann', { ...fields, decision: 'allow' }, { origin: 'https://evil.example' });
    await expectRefused('acct-ann', { ...fields, decision: 'allow' }, { origin: 'null' });
    await expectRefused('acct-ann', { ...fields, decision: 'allow' }, { 'sec-fetch-site': 'cross-site' });
    // Cancel is held to the same checks.
    await expectRefused('acct-ann', { ...fields, decision: 'cancel' }, { origin: 'https://evil.example' });
  });

  it('accepts the origin a proxy names in X-Forwarded-Host, and only that one', async () => {
    const fields = await freshConsent();
    await expectRefused(
      'acct-ann',
      { ...fields, decision: 'allow' },
      {
        origin: 'https://sync.example',
        'x-forwarded-host': 'other.example',
      },
    );
    const posted = await submitConsent(
      rig,
      'acct-ann',
      { ...fields, decision: 'allow' },
      {
        origin: 'https://sync.example',
        'x-forwarded-host': 'sync.example',
      },
    );
    expect(posted.response.status).toBe(200);
    expect(shownCode(posted.html)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('refuses a consent form older than 30 minutes', async () => {
    const fields = await freshConsent();
    rig.clock.ms += 30 * 60 * 1000 + 1000;
    await expectRefused('acct-ann', { ...fields, decision: 'allow' });
  });

  it('sends a consent POST without a platform session to the login, issuing no code', async () => {
    const fields = await freshConsent();
    const response = await fetch(`${rig.url}/sync/authorize`, {
      method: 'POST',
      headers: { origin: rig.url, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...fields, decision: 'allow' }).toString(),
      redirect: 'manual',
    });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toMatch(/^\/login\?return_to=/);
  });
});

describe('bearer token refusals (401 unauthorized)', () => {
  async function expect401(authorization: string | undefined) {
    const result = await call(rig, '/sync/whoami', authorization);
    expect(result.status, authorization).toBe(401);
    expect(errorCode(result.body), authorization).toBe('unauthorized');
    expect((await call(rig, '/sync/token/refresh', authorization, 'POST')).status, authorization).toBe(401);
  }

  let valid: string;
  let sid: string;
  beforeAll(async () => {
    valid = (await signIn(rig, { accountId: 'acct-ann', redirectUri: LOOPBACK })).token;
    sid = (jwt.decode(valid) as { sid: string }).sid;
    expect((await call(rig, '/sync/whoami', `Bearer ${valid}`)).status).toBe(200);
  });

  it('refuses missing and malformed Authorization headers', async () => {
    for (const header of [
      undefined,
      '',
      'Bearer',
      'Bearer ',
      `Basic ${valid}`,
      `Bearer ${valid}x`,
      `Bearer ${valid} extra`,
      'Bearer a.b',
      `Bearer ${valid.split('.').slice(0, 2).join('.')}`,
    ]) {
      await expect401(header);
    }
  });

  it('refuses a token signed with another secret', async () => {
    const forged = signToken('another-secret-of-the-same-length-0123456789', { sub: 'acct-ann', sid }, rig.clock.ms);
    await expect401(`Bearer ${forged.token}`);
  });

  it('refuses alg none, HS512 and RS256 tokens carrying valid claims', async () => {
    const now = Math.floor(rig.clock.ms / 1000);
    const claims = { sub: 'acct-ann', sid, iat: now, exp: now + 3600 };
    const none = jwt.sign(claims, '', { algorithm: 'none' });
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const noneWithSignature = `${header}.${none.split('.')[1]}.${valid.split('.')[2]}`;
    const hs512 = jwt.sign(claims, SECRET, { algorithm: 'HS512' });
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const rs256 = jwt.sign(claims, privateKey, { algorithm: 'RS256' });
    for (const token of [none, noneWithSignature, hs512, rs256]) await expect401(`Bearer ${token}`);
  });

  it('refuses a well-signed token whose connection is unknown or belongs to another account', async () => {
    await expect401(`Bearer ${signToken(SECRET, { sub: 'acct-ann', sid: 'no-such-sid' }, rig.clock.ms).token}`);
    await expect401(`Bearer ${signToken(SECRET, { sub: 'acct-eve', sid }, rig.clock.ms).token}`);
  });

  it('refuses an expired token, and lets it neither refresh nor log out', async () => {
    const token = (await signIn(rig, { accountId: 'acct-ann', redirectUri: LOOPBACK })).token;
    rig.clock.ms += 10 * 24 * 3600 * 1000 - 1000;
    expect((await call(rig, '/sync/whoami', `Bearer ${token}`)).status).toBe(200);
    rig.clock.ms += 1000;
    await expect401(`Bearer ${token}`);
    expect((await call(rig, '/sync/logout', `Bearer ${token}`, 'POST')).status).toBe(401);
  });

  it('refuses a revoked token, and a second logout of it', async () => {
    const token = (await signIn(rig, { accountId: 'acct-ann', redirectUri: LOOPBACK })).token;
    expect((await call(rig, '/sync/logout', `Bearer ${token}`, 'POST')).status).toBe(204);
    await expect401(`Bearer ${token}`);
    expect((await call(rig, '/sync/logout', 'Bearer nope.nope.nope', 'POST')).status).toBe(401);
  });
});

describe('account and plan checked on every request', () => {
  it('answers 402 subscription_required once the plan is no longer paid, and 200 again when it is', async () => {
    rig.identity.add('acct-lapse', 'lapse@example.com');
    const token = (await signIn(rig, { accountId: 'acct-lapse', redirectUri: LOOPBACK })).token;
    expect((await call(rig, '/sync/whoami', `Bearer ${token}`)).status).toBe(200);
    rig.identity.add('acct-lapse', 'lapse@example.com', false);
    rig.clock.ms += AUTH_CACHE_TTL_MS;
    const unpaid = await call(rig, '/sync/whoami', `Bearer ${token}`);
    expect(unpaid.status).toBe(402);
    expect(errorCode(unpaid.body)).toBe('subscription_required');
    expect((await call(rig, '/sync/token/refresh', `Bearer ${token}`, 'POST')).status).toBe(402);
    rig.identity.add('acct-lapse', 'lapse@example.com', true);
    rig.clock.ms += AUTH_CACHE_TTL_MS;
    expect((await call(rig, '/sync/whoami', `Bearer ${token}`)).status).toBe(200);
    // Logging out still works without a paid plan.
    rig.identity.add('acct-lapse', 'lapse@example.com', false);
    expect((await call(rig, '/sync/logout', `Bearer ${token}`, 'POST')).status).toBe(204);
  });

  it('answers 402 at the token exchange when the plan lapsed after consent', async () => {
    rig.identity.add('acct-late', 'late@example.com');
    const { code, verifier } = await signInCode(rig, { accountId: 'acct-late', redirectUri: LOOPBACK });
    rig.identity.add('acct-late', 'late@example.com', false);
    const result = await exchange(rig, { code, code_verifier: verifier, redirect_uri: LOOPBACK });
    expect(result.status).toBe(402);
    expect(errorCode(result.body)).toBe('subscription_required');
  });

  it('answers 401 once the account is deleted', async () => {
    rig.identity.add('acct-gone', 'gone@example.com');
    const token = (await signIn(rig, { accountId: 'acct-gone', redirectUri: LOOPBACK })).token;
    expect((await call(rig, '/sync/whoami', `Bearer ${token}`)).status).toBe(200);
    rig.identity.accounts.delete('acct-gone');
    rig.clock.ms += AUTH_CACHE_TTL_MS;
    const gone = await call(rig, '/sync/whoami', `Bearer ${token}`);
    expect(gone.status).toBe(401);
    expect(errorCode(gone.body)).toBe('unauthorized');
  });
});
