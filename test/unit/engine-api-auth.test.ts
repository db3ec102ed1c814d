// The client side of sign-in (PROTOCOL.md "Auth", SPEC.md "Auth and account"): PKCE, the loopback listener,
// the strict deep-link check, the code exchange and logout.
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { type SavedToken, signOut, type TokenStore } from '../../sync-engine/auth.js';
import { createApiClient } from '../../sync-engine/endpoints.js';
import { SignInError } from '../../sync-engine/errors.js';
import {
  checkRedirectUri,
  codeChallengeFor,
  createCodeVerifier,
  createSignIn,
  type SignIn,
} from '../../sync-engine/sign-in.js';
import { parseCallbackUrl } from '../../sync-engine/sign-in-callback.js';
import { sendError, sendJson, startServer, type TestServer } from './engine-api-helpers.js';

const servers: TestServer[] = [];
const signIns: SignIn[] = [];
afterEach(async () => {
  for (const signIn of signIns.splice(0)) signIn.cancel();
  for (const server of servers.splice(0)) await server.close();
});

function memoryStore(initial: SavedToken | null = null): TokenStore & { value: SavedToken | null } {
  const store = {
    value: initial,
    load: () => store.value,
    save: (token: SavedToken) => {
      store.value = token;
    },
    clear: () => {
      store.value = null;
    },
  };
  return store;
}

const TOKEN_ANSWER = {
  token: 'jwt.token.here',
  expiresAt: '2026-12-05T13:24:11.123Z',
  user: { id: 'u1', email: 'ada@example.com', plan: 'paid' },
};

async function platform(): Promise<TestServer> {
  const server = await startServer((q, s) => {
    if (q.url === '/sync/token') {
      const body = JSON.parse(q.body.toString()) as { code: string };
      if (body.code === 'good-code-123') return sendJson(s, 200, TOKEN_ANSWER);
      return sendError(s, 400, 'invalid_grant', 'Unknown code.');
    }
    if (q.url === '/sync/logout') {
      s.writeHead(204);
      return s.end();
    }
    sendError(s, 404, 'not_found', 'No.');
  });
  servers.push(server);
  return server;
}

function loopbackSignIn(origin: string, store?: TokenStore): SignIn {
  const signIn = createSignIn({
    origin,
    redirectUri: 'loopback',
    deviceName: 'test laptop',
    ...(store ? { tokenStore: store } : {}),
  });
  signIns.push(signIn);
  return signIn;
}

describe('PKCE', () => {
  it('makes a random verifier of 43-128 characters and its S256 challenge', () => {
    const verifier = createCodeVerifier();
    expect(verifier).toMatch(/^[A-Za-z0-9._~-]{43,128}$/);
    expect(createCodeVerifier()).not.toBe(verifier);
    expect(codeChallengeFor(verifier)).toBe(createHash('sha256').update(verifier).digest('base64url'));
  });

  it('builds the authorize URL with every parameter, and a random state per sign-in', () => {
    const signIn = createSignIn({
      origin: 'https://hyperclay.com',
      redirectUri: 'hyperclay://auth/callback',
      deviceName: 'Ada <Mac>',
    });
    const url = new URL(signIn.authorizeUrl ?? '');
    expect(url.origin + url.pathname).toBe('https://hyperclay.com/sync/authorize');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      redirect_uri: 'hyperclay://auth/callback',
      state: signIn.state,
      code_challenge: signIn.codeChallenge,
      code_challenge_method: 'S256',
      device_name: 'Ada <Mac>',
    });
    expect(signIn.state.length).toBeGreaterThanOrEqual(32);
    const other = createSignIn({
      origin: 'https://hyperclay.com',
      redirectUri: 'hyperclay://auth/callback',
      deviceName: 'x',
    });
    expect(other.state).not.toBe(signIn.state);
    expect(other.codeChallenge).not.toBe(signIn.codeChallenge);
  });

  it('refuses insecure origins and foreign redirect addresses', () => {
    expect(() => createSignIn({ origin: 'http://hyperclay.com', redirectUri: 'loopback', deviceName: 'x' })).toThrow();
    for (const bad of [
      'https://evil.example/callback',
      'javascript://auth/callback',
      'http://evil.example:80/callback',
      'hyperclay://evil/callback',
      'hyperclay://auth/callback?x=1',
    ]) {
      expect(checkRedirectUri(bad), bad).toBe(false);
      expect(() => createSignIn({ origin: 'https://hyperclay.com', redirectUri: bad, deviceName: 'x' }), bad).toThrow(
        SignInError,
      );
    }
    expect(checkRedirectUri('hyperclay://auth/callback')).toBe(true);
    expect(checkRedirectUri('http://127.0.0.1:5555/callback')).toBe(true);
    expect(checkRedirectUri('http://[::1]:5555/callback')).toBe(true);
  });
});

describe('loopback listener', () => {
  it('ignores other paths, a missing state and a wrong state, then takes the right callback', async () => {
    const server = await platform();
    const store = memoryStore();
    const lines: string[] = [];
    const signIn = createSignIn({
      origin: server.origin,
      redirectUri: 'loopback',
      deviceName: 'test laptop',
      tokenStore: store,
      log: (_level, line) => lines.push(line),
    });
    signIns.push(signIn);
    expect(signIn.authorizeUrl).toBeNull();
    const listener = await signIn.startLoopbackListener();
    expect(listener.redirectUri).toBe(`http://127.0.0.1:${listener.port}/callback`);
    expect(new URL(listener.authorizeUrl).searchParams.get('redirect_uri')).toBe(listener.redirectUri);
    const base = `http://127.0.0.1:${listener.port}`;
    let got: string | null = null;
    void listener.code.then((code) => {
      got = code;
    });

    expect((await fetch(`${base}/other?code=good-code-123&state=${signIn.state}`)).status).toBe(404);
    expect((await fetch(`${base}/callback?code=good-code-123`)).status).toBe(400);
    const wrong = await fetch(`${base}/callback?code=good-code-123&state=${signIn.state}x`);
    expect(wrong.status).toBe(400);
    expect(await wrong.text()).not.toContain('good-code-123');
    await new Promise((resolve) => setImmediate(resolve));
    expect(got).toBeNull();
    expect(lines.filter((l) => l.includes('ignored'))).toHaveLength(3);
    expect(lines.join('\n')).not.toContain('good-code-123');

    const right = await fetch(`${base}/callback?code=good-code-123&state=${encodeURIComponent(signIn.state)}`);
    expect(right.status).toBe(200);
    expect(right.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(right.headers.get('referrer-policy')).toBe('no-referrer');
    expect(await right.text()).toContain('You can close this tab');
    const code = await listener.code;
    expect(code).toBe('good-code-123');

    const signedIn = await signIn.exchange(code);
    expect(signedIn).toMatchObject({
      token: 'jwt.token.here',
      origin: server.origin,
      user: { email: 'ada@example.com' },
    });
    expect(store.value?.token).toBe('jwt.token.here');
    const sent = server.requests.find((r) => r.url === '/sync/token');
    expect(JSON.parse(sent?.body.toString() ?? '')).toMatchObject({
      code: 'good-code-123',
      redirect_uri: listener.redirectUri,
    });
    const verifier = (JSON.parse(sent?.body.toString() ?? '') as { code_verifier: string }).code_verifier;
    expect(codeChallengeFor(verifier)).toBe(signIn.codeChallenge);
    expect(signIn.pending).toBe(false);
    // The listener is gone once the sign-in finished.
    await expect(fetch(`${base}/callback?code=x&state=${signIn.state}`)).rejects.toThrow();
  });

  it('error=access_denied with the right state cancels the sign-in', async () => {
    const server = await platform();
    const signIn = loopbackSignIn(server.origin);
    const listener = await signIn.startLoopbackListener();
    const page = await fetch(`http://127.0.0.1:${listener.port}/callback?error=access_denied&state=${signIn.state}`);
    expect(page.status).toBe(200);
    const error = await listener.code.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SignInError);
    expect((error as SignInError).code).toBe('sign_in_cancelled');
  });

  it('an access_denied with a wrong state does not cancel', async () => {
    const server = await platform();
    const signIn = loopbackSignIn(server.origin);
    const listener = await signIn.startLoopbackListener();
    const base = `http://127.0.0.1:${listener.port}`;
    expect((await fetch(`${base}/callback?error=access_denied&state=nope`)).status).toBe(400);
    expect((await fetch(`${base}/callback?code=good-code-123&state=${signIn.state}`)).status).toBe(200);
    await expect(listener.code).resolves.toBe('good-code-123');
  });

  it('times out when nobody comes back', async () => {
    const server = await platform();
    const signIn = loopbackSignIn(server.origin);
    const listener = await signIn.startLoopbackListener({ timeoutMs: 50 });
    await expect(listener.code).rejects.toMatchObject({ code: 'sign_in_timeout' });
  });
});

describe('pasted code and exchange errors', () => {
  it('a pasted code goes through the same exchange; a wrong one is invalid_grant and may be retried', async () => {
    const server = await platform();
    const store = memoryStore();
    const signIn = loopbackSignIn(server.origin, store);
    await signIn.startLoopbackListener();
    await expect(signIn.exchange('wrong-code-456')).rejects.toMatchObject({ code: 'invalid_grant' });
    await expect(signIn.exchange('not a code')).rejects.toMatchObject({ code: 'invalid_grant' });
    expect(store.value).toBeNull();
    await expect(signIn.exchange('  good-code-123\n')).resolves.toMatchObject({ token: 'jwt.token.here' });
    await expect(signIn.exchange('good-code-123')).rejects.toMatchObject({ code: 'sign_in_failed' });
  });
});

describe('deep link', () => {
  const state = 'S'.repeat(32);
  const ok = `hyperclay://auth/callback?code=good-code-123&state=${state}`;
  const parse = (url: unknown, expectedState: string | null = state) =>
    parseCallbackUrl(url, { scheme: 'hyperclay', expectedState });

  it('accepts exactly the callback of the pending sign-in', () => {
    expect(parse(ok)).toEqual({ type: 'code', code: 'good-code-123' });
    expect(parse(`hyperclay://auth/callback?state=${state}&code=good-code-123`)).toEqual({
      type: 'code',
      code: 'good-code-123',
    });
    expect(parse(`hyperclay://auth/callback?error=access_denied&state=${state}`)).toEqual({ type: 'cancelled' });
    expect(parseCallbackUrl(ok.replace('hyperclay', 'hc-dev'), { scheme: 'hc-dev', expectedState: state })).toEqual({
      type: 'code',
      code: 'good-code-123',
    });
  });

  it('ignores hostile and stray links, each with a reason', () => {
    const hostile: unknown[] = [
      ok.replace('hyperclay://', 'javascript://'),
      `javascript:alert(1)//auth/callback?code=good-code-123&state=${state}`,
      ok.replace('hyperclay://', 'https://'),
      ok.replace('hyperclay://', 'HYPERCLAY://'),
      ok.replace('auth', 'evil'),
      ok.replace('://auth', '://auth.evil.com'),
      ok.replace('://auth', '://user@auth'),
      ok.replace('://auth', '://auth:99'),
      ok.replace('/callback', '/callback/x'),
      ok.replace('/callback', '/%63allback'),
      `${ok}#frag`,
      `${ok}&extra=1`,
      `${ok}&code=again`,
      ok.replace(`state=${state}`, 'state=wrong'),
      ok.replace(`&state=${state}`, ''),
      ok.replace(`state=${state}`, 'state='),
      ok.replace('good-code-123', 'a<script>'),
      ok.replace('good-code-123', 'x'.repeat(600)),
      `hyperclay://auth/callback?error=access_denied&code=good-code-123&state=${state}`,
      `hyperclay://auth/callback?error=server_error&state=${state}`,
      `\thyperclay://auth/callback?code=good-code-123&state=${state}`,
      ok.replace('auth/', 'au\nth/'),
      `${ok}${'&x'.repeat(2000)}`,
      42,
      null,
    ];
    for (const url of hostile) {
      const result = parse(url);
      expect(result.type, String(url)).toBe('ignored');
      if (result.type === 'ignored') {
        expect(result.reason.length).toBeGreaterThan(0);
        expect(result.reason).not.toContain('good-code-123');
      }
    }
  });

  it('ignores a link when no sign-in is pending, including after it finished', async () => {
    expect(parse(ok, null)).toEqual({ type: 'ignored', reason: 'no sign-in is pending' });
    const server = await platform();
    const signIn = createSignIn({ origin: server.origin, redirectUri: 'hyperclay://auth/callback', deviceName: 'mac' });
    signIns.push(signIn);
    const link = `hyperclay://auth/callback?code=good-code-123&state=${signIn.state}`;
    expect(signIn.acceptCallbackUrl(link, 'hyperclay')).toEqual({ type: 'code', code: 'good-code-123' });
    await signIn.exchange('good-code-123');
    expect(signIn.acceptCallbackUrl(link, 'hyperclay')).toMatchObject({ type: 'ignored' });
  });
});

describe('logout', () => {
  it('revokes on the platform, then forgets the token', async () => {
    const server = await platform();
    const store = memoryStore({
      token: 'tok',
      origin: server.origin,
      expiresAt: TOKEN_ANSWER.expiresAt,
      obtainedAtMs: Date.now(),
    });
    const api = createApiClient({ origin: server.origin, getToken: () => store.load(), clientVersion: '1' });
    await signOut({ api, tokenStore: store });
    api.close();
    expect(server.requests).toMatchObject([
      { method: 'POST', url: '/sync/logout', headers: { authorization: 'Bearer tok' } },
    ]);
    expect(store.value).toBeNull();
  });

  it('forgets the token even when the platform cannot be reached', async () => {
    const server = await platform();
    const origin = server.origin;
    await server.close();
    servers.length = 0;
    const store = memoryStore({
      token: 'secret-tok-value',
      origin,
      expiresAt: TOKEN_ANSWER.expiresAt,
      obtainedAtMs: Date.now(),
    });
    const lines: string[] = [];
    const api = createApiClient({ origin, getToken: () => store.load(), clientVersion: '1', retryDelaysMs: [0] });
    await signOut({ api, tokenStore: store, log: (_l, line) => lines.push(line) });
    api.close();
    expect(store.value).toBeNull();
    expect(lines.some((l) => l.includes('signed out locally'))).toBe(true);
    expect(lines.join('\n')).not.toContain('secret-tok-value');
  });
});
