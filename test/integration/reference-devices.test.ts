// The account's own security on the reference platform's dashboard: the list of signed-in devices (name, last
// seen) with Revoke, a password change that signs every device and every other browser out, and names shown with
// their bidi and control characters escaped on the pages and in the log. Real server, real HTTP.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  openReferenceStores,
  type ReferenceServer,
  startReferenceServer,
} from '../../server-endpoints/reference/server.js';
import { until } from '../helpers/engine.js';
import { call, cookieOf, form, postLogin, type Reply, signInDevice } from '../helpers/reference.js';
import { unescapeHtml } from './server-auth-helpers.js';

const PASSWORD = 'first password here';
const NEW_PASSWORD = 'second password now';
/** Shows as "Laptop exe.jpg" where the override reaches a page or a terminal raw. */
const SPOOFED = 'Laptop \u202egpj.exe';

describe('devices and password on the reference dashboard', () => {
  let dir: string;
  let server: ReferenceServer;
  const lines: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hc-devices-'));
    const stores = await openReferenceStores(dir);
    try {
      for (const email of ['alice@example.com', 'bob@example.com', 'carl@example.com']) {
        await stores.accounts.create({ email, password: PASSWORD });
      }
    } finally {
      await stores.close();
    }
    server = await startReferenceServer({ port: 0, dataDir: dir, log: (line) => lines.push(line) });
  });

  afterAll(async () => {
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function cookieFor(email: string, password = PASSWORD): Promise<string> {
    const reply = await postLogin(server.url, { email, password });
    expect(reply.status).toBe(303);
    return cookieOf(reply);
  }

  const me = (token: string) => call(server.url, { path: '/sync/me', headers: { authorization: `Bearer ${token}` } });
  const dashboard = (cookie: string) => call(server.url, { path: '/', headers: { cookie } });
  const post = (path: string, cookie: string, fields: Record<string, string>, origin = server.url): Promise<Reply> =>
    call(server.url, {
      method: 'POST',
      path,
      headers: { cookie, origin, 'content-type': 'application/x-www-form-urlencoded' },
      body: form(fields),
    });

  /** The dashboard's devices as rows: sid, the name as the page shows it, last seen. */
  function devices(html: string): Array<{ sid: string; name: string; lastSeen: string }> {
    return [
      ...html.matchAll(
        /<tr data-device="([^"]+)">\s*<td class="device-name">([^<]*)<\/td>[\s\S]*?<td class="last-seen">([^<]*)<\/td>/g,
      ),
    ].map((m) => ({ sid: unescapeHtml(m[1] ?? ''), name: unescapeHtml(m[2] ?? ''), lastSeen: m[3] ?? '' }));
  }

  function csrfOf(html: string): string {
    return unescapeHtml(/name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? '');
  }

  it('lists the signed-in devices with their last request, names escaped, and Revoke signs one out', async () => {
    const cookie = await cookieFor('alice@example.com');
    const laptop = await signInDevice(server.url, cookie, SPOOFED);
    const phone = await signInDevice(server.url, cookie, 'Phone');
    expect((await me(laptop)).status).toBe(200);

    const page = await dashboard(cookie);
    const listed = devices(page.text);
    expect(listed.map((d) => d.name).sort()).toEqual(['Laptop \\u202egpj.exe', 'Phone']);
    expect(page.text).not.toContain('\u202e');
    const laptopRow = listed.find((d) => d.name.startsWith('Laptop'));
    expect(laptopRow?.lastSeen).toMatch(/^\d{4}-\d\d-\d\dT/);

    // Another account cannot revoke it, even knowing its id.
    const bob = await cookieFor('bob@example.com');
    const phoneSid = listed.find((d) => d.name === 'Phone')?.sid ?? '';
    const foreign = await post('/dashboard/devices/revoke', bob, {
      csrf: csrfOf((await dashboard(bob)).text),
      sid: phoneSid,
    });
    expect(foreign.status).toBe(404);
    // Nor a form without this login's CSRF token, or from another origin.
    const csrf = csrfOf(page.text);
    expect((await post('/dashboard/devices/revoke', cookie, { csrf: 'forged', sid: phoneSid })).status).toBe(403);
    expect(
      (await post('/dashboard/devices/revoke', cookie, { csrf, sid: phoneSid }, 'http://evil.example')).status,
    ).toBe(403);
    expect((await me(phone)).status).toBe(200);

    const revoked = await post('/dashboard/devices/revoke', cookie, { csrf, sid: phoneSid });
    expect(revoked.status).toBe(303);
    // The endpoints reuse a connection's check for up to 5 s: the device is refused within that.
    await until(async () => (await me(phone)).status === 401, 'the revoked device refused');
    expect((await me(laptop)).status).toBe(200);
    expect(devices((await dashboard(cookie)).text).map((d) => d.name)).toEqual(['Laptop \\u202egpj.exe']);
    // The log names the device with the override escaped, and never raw.
    expect(lines.join('\n')).not.toContain('\u202e');
    expect(lines.some((line) => line.includes('device="Laptop \\u202egpj.exe"'))).toBe(true);
  });

  it('changes the password: every device and every other browser is signed out, this browser stays in', async () => {
    const cookie = await cookieFor('carl@example.com');
    const other = await cookieFor('carl@example.com');
    const device = await signInDevice(server.url, cookie, 'Desktop');
    expect((await me(device)).status).toBe(200);
    const form = await call(server.url, { path: '/account/password', headers: { cookie } });
    expect(form.status).toBe(200);
    const csrf = csrfOf(form.text);
    const change = (fields: Record<string, string>, origin?: string) =>
      post('/account/password', cookie, { csrf, ...fields }, origin);

    const wrong = await change({ current: 'not it at all', password: NEW_PASSWORD, confirm: NEW_PASSWORD });
    expect(wrong.status).toBe(401);
    expect(wrong.text).toContain('The current password is not right.');
    const mismatch = await change({ current: PASSWORD, password: NEW_PASSWORD, confirm: 'something else' });
    expect(mismatch.status).toBe(400);
    const short = await change({ current: PASSWORD, password: 'short', confirm: 'short' });
    expect(short.status).toBe(400);
    expect(
      (await change({ current: PASSWORD, password: NEW_PASSWORD, confirm: NEW_PASSWORD }, 'http://evil.example'))
        .status,
    ).toBe(403);
    expect(
      (
        await post('/account/password', cookie, {
          csrf: 'forged',
          current: PASSWORD,
          password: NEW_PASSWORD,
          confirm: NEW_PASSWORD,
        })
      ).status,
    ).toBe(403);
    // Nothing changed so far.
    expect((await me(device)).status).toBe(200);
    expect((await dashboard(other)).text).toContain('carl@example.com');

    const done = await change({ current: PASSWORD, password: NEW_PASSWORD, confirm: NEW_PASSWORD });
    expect(done.status).toBe(200);
    expect(done.text).toContain('1 device was signed out');
    const fresh = cookieOf(done);
    expect(fresh).toMatch(/^hc_session=/);
    expect((await dashboard(fresh)).text).toContain('carl@example.com');
    for (const old of [cookie, other]) expect((await dashboard(old)).text).toContain('id="login-link"');
    await until(async () => (await me(device)).status === 401, 'the device signed out');
    expect((await postLogin(server.url, { email: 'carl@example.com', password: PASSWORD })).status).toBe(401);
    expect((await postLogin(server.url, { email: 'carl@example.com', password: NEW_PASSWORD })).status).toBe(303);
    expect(
      lines.some((line) => line.startsWith('password changed account=') && line.endsWith('devices-signed-out=1')),
    ).toBe(true);
    expect(lines.join('\n')).not.toContain(NEW_PASSWORD);
  });

  it('shows a bidi device name escaped on the consent page', async () => {
    const cookie = await cookieFor('bob@example.com');
    const query = new URLSearchParams({
      redirect_uri: 'http://127.0.0.1:9/callback',
      state: 's',
      code_challenge: 'c'.repeat(43),
      code_challenge_method: 'S256',
      device_name: SPOOFED,
    });
    const consent = await call(server.url, { path: `/sync/authorize?${query}`, headers: { cookie } });
    expect(consent.status).toBe(200);
    expect(/<strong id="device">([^<]*)<\/strong>/.exec(consent.text)?.[1]).toBe('Laptop \\u202egpj.exe');
    expect(/<title>([^<]*)<\/title>/.exec(consent.text)?.[1]).toBe('Connect Laptop \\u202egpj.exe');
    // The form still carries the name exactly as the app sent it (it is the device's name, escaped only when shown).
    expect(consent.text).toContain(`name="device_name" value="${SPOOFED}"`);
  });
});
