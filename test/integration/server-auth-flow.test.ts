// The browser sign-in end to end over real HTTP: authorize, login redirect, consent, Allow, code, token, refresh, logout.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_CACHE_TTL_MS } from '../../server-endpoints/auth/middleware.js';
import {
  authorizeQuery,
  call,
  errorCode,
  exchange,
  openConsent,
  pkcePair,
  type Rig,
  shownCode,
  signIn,
  signInCode,
  startRig,
  submitConsent,
  unescapeHtml,
} from './server-auth-helpers.js';

let rig: Rig;

beforeAll(async () => {
  rig = await startRig();
  rig.identity.add('acct-ann', 'ann@example.com');
  rig.identity.add('acct-bob', 'bob@example.com');
});

afterAll(async () => {
  await rig.close();
});

function payloadOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;
}

describe('sign-in flow (PROTOCOL.md Auth 1-5)', () => {
  it('sends a browser that is not signed in to the platform login, returning to the same authorize request', async () => {
    const { challenge } = pkcePair();
    const query = authorizeQuery({
      redirect_uri: 'http://127.0.0.1:5555/callback',
      state: 'abc',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      device_name: 'Laptop',
    });
    const response = await fetch(`${rig.url}/sync/authorize?${query}`, { redirect: 'manual' });
    expect(response.status).toBe(303);
    const location = response.headers.get('location') ?? '';
    expect(location.startsWith('/login?return_to=')).toBe(true);
    const returnTo = decodeURIComponent(location.slice('/login?return_to='.length));
    const back = new URL(returnTo, rig.url);
    expect(back.pathname).toBe('/sync/authorize');
    expect(back.searchParams.get('redirect_uri')).toBe('http://127.0.0.1:5555/callback');
    expect(back.searchParams.get('state')).toBe('abc');
    expect(back.searchParams.get('code_challenge')).toBe(challenge);
    expect(back.searchParams.get('device_name')).toBe('Laptop');
  });

  it('goes authorize -> consent -> Allow -> code -> token -> API -> refresh -> logout, then refuses the token', async () => {
    const redirectUri = 'http://127.0.0.1:49152/callback';
    const { verifier, challenge } = pkcePair();
    const consent = await openConsent(rig, { accountId: 'acct-ann', redirectUri, challenge, state: 's-1' });
    expect(consent.response.status).toBe(200);
    expect(consent.response.headers.get('x-frame-options')).toBe('DENY');
    const csp = consent.response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("form-action 'self' http://127.0.0.1:49152");
    expect(unescapeHtml(consent.html)).toContain('Connect <strong id="device">Test laptop</strong> to');
    expect(consent.html).toContain('ann@example.com');
    expect(consent.html).toMatch(/<button type="submit" name="decision" value="allow">Allow<\/button>/);
    expect(consent.html).toMatch(/<button type="submit" name="decision" value="cancel">Cancel<\/button>/);
    expect(consent.fields.csrf).toMatch(/^\d+\.[A-Za-z0-9_-]{43}$/);

    const allowed = await submitConsent(rig, 'acct-ann', { ...consent.fields, decision: 'allow' });
    expect(allowed.response.status).toBe(200);
    expect(allowed.response.headers.get('location')).toBeNull();
    expect(allowed.response.headers.get('x-frame-options')).toBe('DENY');
    const code = shownCode(allowed.html);
    expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // A loopback return is never a blind meta refresh (an address nobody listens on would replace the code with the
    // browser's error page): the link, which the page's script follows once the app answers.
    expect(allowed.html).not.toContain('http-equiv="refresh"');
    expect(allowed.response.headers.get('content-security-policy')).toContain(
      "script-src 'self'; connect-src http://127.0.0.1:49152;",
    );
    const link = /<a id="callback" class="button" href="([^"]+)">/.exec(allowed.html)?.[1];
    const callback = new URL(unescapeHtml(link ?? ''));
    expect(`${callback.origin}${callback.pathname}`).toBe(redirectUri);
    expect(callback.searchParams.get('code')).toBe(code);
    expect(callback.searchParams.get('state')).toBe('s-1');

    const exchanged = await exchange(rig, { code, code_verifier: verifier, redirect_uri: redirectUri });
    expect(exchanged.status).toBe(200);
    expect(exchanged.body.user).toEqual({ id: 'acct-ann', email: 'ann@example.com', plan: 'paid' });
    const token = exchanged.body.token as string;
    const claims = payloadOf(token);
    expect(Object.keys(claims).sort()).toEqual(['exp', 'iat', 'sid', 'sub']);
    expect(claims.sub).toBe('acct-ann');
    expect((claims.exp as number) - (claims.iat as number)).toBe(10 * 24 * 3600);
    expect(exchanged.body.expiresAt).toBe(new Date((claims.exp as number) * 1000).toISOString());

    const me = await call(rig, '/sync/whoami', `Bearer ${token}`);
    expect(me.status).toBe(200);
    expect(me.body).toEqual({ id: 'acct-ann', sid: claims.sid });

    rig.clock.ms += 25 * 3600 * 1000;
    const refreshed = await call(rig, '/sync/token/refresh', `Bearer ${token}`, 'POST');
    expect(refreshed.status).toBe(200);
    const newToken = refreshed.body.token as string;
    const newClaims = payloadOf(newToken);
    expect(newClaims.sid).toBe(claims.sid);
    expect(newClaims.exp as number).toBeGreaterThan(claims.exp as number);
    expect(refreshed.body.expiresAt).toBe(new Date((newClaims.exp as number) * 1000).toISOString());
    expect((await call(rig, '/sync/whoami', `Bearer ${newToken}`)).status).toBe(200);

    // Both tokens were just used, so the instance has the connection cached: logout must still end it at once.
    const logout = await call(rig, '/sync/logout', `Bearer ${newToken}`, 'POST');
    expect(logout.status).toBe(204);
    for (const t of [token, newToken]) {
      const refused = await call(rig, '/sync/whoami', `Bearer ${t}`);
      expect(refused.status).toBe(401);
      expect(errorCode(refused.body)).toBe('unauthorized');
      expect((await call(rig, '/sync/token/refresh', `Bearer ${t}`, 'POST')).status).toBe(401);
    }

    // Every sign-in event is one line, and no line carries the code or a token.
    expect(rig.logLines.some((line) => line.includes('signed-in') && line.includes('acct-ann'))).toBe(true);
    expect(rig.logLines.some((line) => line.includes('signed-out'))).toBe(true);
    for (const line of rig.logLines) {
      expect(line).not.toMatch(/[\r\n]/);
      for (const secret of [code ?? '', token, newToken, verifier]) expect(line).not.toContain(secret);
    }
  });

  it('Cancel redirects to the app with access_denied and the state, and creates no code', async () => {
    const redirectUri = 'hyperclay://auth/callback';
    const { challenge } = pkcePair();
    const consent = await openConsent(rig, { accountId: 'acct-bob', redirectUri, challenge, state: 'st~8' });
    expect(consent.response.headers.get('content-security-policy')).toContain("form-action 'self' hyperclay:");
    const cancelled = await submitConsent(rig, 'acct-bob', { ...consent.fields, decision: 'cancel' });
    expect(cancelled.response.status).toBe(303);
    expect(cancelled.response.headers.get('location')).toBe(
      'hyperclay://auth/callback?error=access_denied&state=st%7E8',
    );
    expect(shownCode(cancelled.html)).toBeNull();
  });

  it('accepts the desktop scheme and the IPv6 loopback as redirect targets', async () => {
    for (const redirectUri of ['hyperclay://auth/callback', 'http://[::1]:61000/callback']) {
      const token = await signIn(rig, { accountId: 'acct-bob', redirectUri });
      expect((await call(rig, '/sync/whoami', `Bearer ${token.token}`)).status).toBe(200);
    }
  });

  it('keeps each device its own connection: logging one out leaves the other signed in', async () => {
    const redirectUri = 'http://127.0.0.1:40000/callback';
    const first = await signIn(rig, { accountId: 'acct-bob', redirectUri, deviceName: 'Desk' });
    const second = await signIn(rig, { accountId: 'acct-bob', redirectUri, deviceName: 'Laptop' });
    expect(payloadOf(first.token).sid).not.toBe(payloadOf(second.token).sid);
    expect((await call(rig, '/sync/logout', `Bearer ${first.token}`, 'POST')).status).toBe(204);
    expect((await call(rig, '/sync/whoami', `Bearer ${first.token}`)).status).toBe(401);
    expect((await call(rig, '/sync/whoami', `Bearer ${second.token}`)).status).toBe(200);
  });

  it('escapes the device name and everything else it echoes', async () => {
    const hostile = `<script>alert(1)</script>"'&<img src=x onerror=alert(2)>`;
    const { challenge } = pkcePair();
    const consent = await openConsent(rig, {
      accountId: 'acct-ann',
      redirectUri: 'http://127.0.0.1:5000/callback',
      challenge,
      deviceName: hostile,
      state: `"><script>x</script>`,
    });
    expect(consent.response.status).toBe(200);
    expect(consent.html).not.toContain('<script');
    expect(consent.html).not.toContain('<img');
    expect(consent.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;&lt;img');
    // The escaped value round-trips through the form unchanged.
    expect(consent.fields.device_name).toBe(hostile);
    const allowed = await submitConsent(rig, 'acct-ann', { ...consent.fields, decision: 'allow' });
    expect(allowed.response.status).toBe(200);
    // The one script is the page's own, from the platform; nothing echoed becomes markup.
    expect(allowed.html.match(/<script/g)).toEqual(['<script']);
    expect(allowed.html).toContain('<script src="/sync/authorize/return.js"></script>');
    expect(allowed.html).not.toContain('<img');
    expect(shownCode(allowed.html)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const signedIn = rig.logLines.filter((line) => line.includes('consent-allowed'));
    expect(signedIn.at(-1)).toContain(JSON.stringify(hostile));
  });

  it('lets another instance over the same store see a revocation within the cache time', async () => {
    const other = await startRig({ authStore: rig.authStore, identity: rig.identity });
    try {
      other.clock.ms = rig.clock.ms;
      const token = await signIn(rig, { accountId: 'acct-ann', redirectUri: 'http://127.0.0.1:7000/callback' });
      expect((await call(other, '/sync/whoami', `Bearer ${token.token}`)).status).toBe(200);
      expect((await call(rig, '/sync/logout', `Bearer ${token.token}`, 'POST')).status).toBe(204);
      other.clock.ms += AUTH_CACHE_TTL_MS;
      expect((await call(other, '/sync/whoami', `Bearer ${token.token}`)).status).toBe(401);
    } finally {
      await other.close();
    }
  });

  it('shows the code on the page even when the browser cannot follow the redirect', async () => {
    const { code, html } = await signInCode(rig, { accountId: 'acct-ann', redirectUri: 'hyperclay://auth/callback' });
    expect(html).toContain(`<code id="code">${code}</code>`);
    expect(html).toContain('href="hyperclay://auth/callback?code=');
    // A deep link is tried after a moment; when no app handles the scheme the browser stays on this page.
    expect(html).toContain('<meta http-equiv="refresh" content="1; url=hyperclay://auth/callback?code=');
  });
});
