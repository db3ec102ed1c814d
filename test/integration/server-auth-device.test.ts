// The device sign-in (PROTOCOL.md "Device sign-in") over real HTTP with a moved clock: the device code, the /device
// page (login, CSRF, origin, the same sentence for every wrong code, its rate limit), and every answer of a poll.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEVICE_CODE_GRANT } from '../../protocol/index.js';
import { COOKIE, hiddenFields, type Rig, startRig, unescapeHtml } from './server-auth-helpers.js';

let rig: Rig;

beforeAll(async () => {
  rig = await startRig();
  rig.identity.add('acct-dev', 'dev@example.com');
  rig.identity.add('acct-free', 'free@example.com', false);
  for (let i = 0; i < 3; i++) rig.identity.add(`acct-guess-${i}`, `guess${i}@example.com`);
});

afterAll(async () => {
  await rig.close();
});

interface DeviceCodes {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

async function newDeviceCode(deviceName = 'build-server <b>'): Promise<DeviceCodes> {
  const response = await fetch(`${rig.url}/sync/device/code`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ device_name: deviceName }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as DeviceCodes;
}

async function poll(deviceCode: unknown): Promise<{ status: number; code?: string; body: Record<string, unknown> }> {
  const response = await fetch(`${rig.url}/sync/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: DEVICE_CODE_GRANT, device_code: deviceCode }),
  });
  const body = (await response.json()) as Record<string, unknown>;
  const code = (body.error as { code?: string } | undefined)?.code;
  return { status: response.status, ...(code ? { code } : {}), body };
}

/** The /device page as `account` sees it (a browser's same-origin form posts), from the code entry on. */
async function devicePage(account: string, query = '') {
  const response = await fetch(`${rig.url}/device${query}`, {
    headers: { cookie: `${COOKIE}=${account}` },
    redirect: 'manual',
  });
  const html = await response.text();
  return { response, html, fields: hiddenFields(html) };
}

async function postDevice(account: string, fields: Record<string, string>, origin = rig.url) {
  const response = await fetch(`${rig.url}/device`, {
    method: 'POST',
    headers: { cookie: `${COOKIE}=${account}`, 'content-type': 'application/x-www-form-urlencoded', origin },
    body: new URLSearchParams(fields).toString(),
    redirect: 'manual',
  });
  const html = await response.text();
  return { response, html, fields: hiddenFields(html) };
}

/** Types `userCode` on the device page and answers the consent step with `decision`. */
async function enterAndDecide(account: string, userCode: string, decision: 'allow' | 'cancel') {
  const entry = await devicePage(account);
  const consent = await postDevice(account, { csrf: entry.fields.csrf ?? '', user_code: userCode });
  expect(consent.response.status).toBe(200);
  return postDevice(account, { ...consent.fields, decision });
}

const WRONG = 'That code is not valid, or it has expired or been used.';

describe('device sign-in (real HTTP)', () => {
  it('gives a device code, a short code without vowels, the /device address, 600 s and 5 s', async () => {
    const codes = await newDeviceCode();
    expect(codes.user_code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    expect(Buffer.from(codes.device_code, 'base64url').length).toBeGreaterThanOrEqual(32);
    expect(codes.verification_uri).toBe(`${rig.url}/device`);
    expect(codes.verification_uri_complete).toBe(`${rig.url}/device?user_code=${codes.user_code}`);
    expect(codes).toMatchObject({ expires_in: 600, interval: 5 });
    for (const body of ['{}', '{"device_name":""}', '{"device_name":"a\\u0000b"}', 'not json', '[]']) {
      const response = await fetch(`${rig.url}/sync/device/code`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('bad_request');
    }
  });

  it('polls pending, slow_down when too fast; Allow on /device gives one token, the code then works no more', async () => {
    const codes = await newDeviceCode('build-server <b>');
    expect(await poll(codes.device_code)).toMatchObject({ status: 400, code: 'authorization_pending' });
    expect(await poll(codes.device_code)).toMatchObject({ status: 400, code: 'slow_down' });
    rig.clock.ms += 5000;
    expect(await poll(codes.device_code)).toMatchObject({ status: 400, code: 'authorization_pending' });

    // Not signed in: the platform's login first, coming back to this page and code.
    const anonymous = await fetch(`${rig.url}/device?user_code=${codes.user_code}`, { redirect: 'manual' });
    expect(anonymous.status).toBe(303);
    expect(decodeURIComponent(anonymous.headers.get('location') ?? '')).toContain(
      `/device?user_code=${codes.user_code}`,
    );
    // The complete address prefills the code; the code typed in lower case without the dash is the same code.
    const entry = await devicePage('acct-dev', `?user_code=${codes.user_code}`);
    expect(entry.response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(entry.response.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(entry.html).toContain(`value="${codes.user_code}"`);
    const typed = codes.user_code.replace('-', '').toLowerCase();
    const consent = await postDevice('acct-dev', { csrf: entry.fields.csrf ?? '', user_code: typed });
    expect(consent.response.status).toBe(200);
    // Which device asks, as text.
    expect(consent.html).toContain('<strong id="device">build-server &lt;b&gt;</strong>');
    expect(consent.html).not.toContain('<b>');
    const allowed = await postDevice('acct-dev', { ...consent.fields, decision: 'allow' });
    expect(allowed.response.status).toBe(200);
    expect(unescapeHtml(allowed.html)).toContain(
      'build-server <b> is now signed in to Hyperclay Sync as dev@example.com',
    );

    rig.clock.ms += 5000;
    const granted = await poll(codes.device_code);
    expect(granted.status).toBe(200);
    expect(granted.body.user).toEqual({ id: 'acct-dev', email: 'dev@example.com', plan: 'paid' });
    const whoami = await fetch(`${rig.url}/sync/whoami`, {
      headers: { authorization: `Bearer ${granted.body.token}` },
    });
    expect(whoami.status).toBe(200);
    const devices = await rig.authStore.connections('acct-dev');
    expect(devices.map((d) => d.deviceName)).toContain('build-server <b>');

    // Single use: the device code a second time, and the user code a second time.
    rig.clock.ms += 5000;
    expect(await poll(codes.device_code)).toMatchObject({ status: 400, code: 'invalid_grant' });
    const again = await devicePage('acct-dev');
    const reused = await postDevice('acct-dev', { csrf: again.fields.csrf ?? '', user_code: codes.user_code });
    expect(reused.response.status).toBe(400);
    expect(reused.html).toContain(WRONG);
    expect(rig.logLines.join('\n')).not.toContain(codes.device_code);
    expect(rig.logLines.join('\n')).not.toContain(codes.user_code);
  });

  it('Cancel is access_denied once; an expired code is expired_token; forged and garbage codes are refused', async () => {
    const denied = await newDeviceCode();
    const cancelled = await enterAndDecide('acct-dev', denied.user_code, 'cancel');
    expect(cancelled.html).toContain('Sign-in cancelled');
    expect(await poll(denied.device_code)).toMatchObject({ status: 400, code: 'access_denied' });
    rig.clock.ms += 5000;
    expect(await poll(denied.device_code)).toMatchObject({ status: 400, code: 'invalid_grant' });

    const late = await newDeviceCode();
    rig.clock.ms += 600_000;
    expect(await poll(late.device_code)).toMatchObject({ status: 400, code: 'expired_token' });
    // An expired code can no longer be entered either, with the sentence every wrong code gets.
    const entry = await devicePage('acct-dev');
    const tooLate = await postDevice('acct-dev', { csrf: entry.fields.csrf ?? '', user_code: late.user_code });
    expect(tooLate.response.status).toBe(400);
    expect(tooLate.html).toContain(WRONG);

    const forged = Buffer.alloc(32, 7).toString('base64url');
    expect(await poll(forged)).toMatchObject({ status: 400, code: 'invalid_grant' });
    expect(await poll('x'.repeat(5000))).toMatchObject({ status: 400, code: 'bad_request' });
    expect(await poll(12345)).toMatchObject({ status: 400, code: 'bad_request' });
    expect(await poll('')).toMatchObject({ status: 400, code: 'bad_request' });
  });

  it('a wrong code and an expired one read the same; only this origin with a valid form may enter or decide', async () => {
    const codes = await newDeviceCode();
    const entry = await devicePage('acct-guess-0');
    const wrong = await postDevice('acct-guess-0', { csrf: entry.fields.csrf ?? '', user_code: 'BCDF-GHJK' });
    const garbage = await postDevice('acct-guess-0', { csrf: entry.fields.csrf ?? '', user_code: '<script>' });
    for (const page of [wrong, garbage]) {
      expect(page.response.status).toBe(400);
      expect(page.html).toContain(WRONG);
      expect(page.html).not.toContain('<script>');
    }
    // Another origin, a missing or another account's CSRF token: refused, and nothing is looked up or decided.
    const crossSite = await postDevice(
      'acct-guess-0',
      { csrf: entry.fields.csrf ?? '', user_code: codes.user_code },
      'http://evil.example',
    );
    expect(crossSite.response.status).toBe(403);
    const noCsrf = await postDevice('acct-guess-0', { user_code: codes.user_code });
    expect(noCsrf.response.status).toBe(403);
    const consent = await postDevice('acct-guess-0', { csrf: entry.fields.csrf ?? '', user_code: codes.user_code });
    const stolen = await postDevice('acct-guess-1', { ...consent.fields, decision: 'allow' });
    expect(stolen.response.status).toBe(403);
    // A free plan cannot allow a device.
    expect((await devicePage('acct-free')).response.status).toBe(402);
    expect(await poll(codes.device_code)).toMatchObject({ code: 'authorization_pending' });
  });

  it('limits code entries (per account and per address): past 10 at once, 429 with Retry-After, even for the right code', async () => {
    const codes = await newDeviceCode();
    const entry = await devicePage('acct-guess-2');
    let status = 0;
    let tries = 0;
    while (status !== 429 && tries < 20) {
      tries++;
      const page = await postDevice('acct-guess-2', { csrf: entry.fields.csrf ?? '', user_code: 'ZZZZ-ZZZZ' });
      status = page.response.status;
    }
    expect(status).toBe(429);
    expect(tries).toBeLessThanOrEqual(11);
    const right = await postDevice('acct-guess-2', { csrf: entry.fields.csrf ?? '', user_code: codes.user_code });
    expect(right.response.status).toBe(429);
    expect(Number(right.response.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(right.html).toContain('Too many codes');
  });
});
