// Unit tests of the sign-in building blocks: tokens, redirect targets, PKCE, CSRF, escaping, the embedded store.

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import jwt from 'jsonwebtoken';
import { afterEach, describe, expect, it } from 'vitest';
import { checkRedirectUri } from '../../protocol/index.js';
import {
  type AuthorizeParams,
  checkAuthorizeParams,
  csrfToken,
  csrfValid,
  formActionSource,
  hashCode,
  newCode,
  verifierMatches,
} from '../../server-endpoints/auth/grant.js';
import { escapeHtml } from '../../server-endpoints/auth/pages.js';
import { openEmbeddedAuthStore } from '../../server-endpoints/auth/store.js';
import { signToken, verifyToken } from '../../server-endpoints/auth/tokens.js';

const SECRET = 'unit-secret-0123456789-0123456789-0123456789';
const NOW = Date.UTC(2026, 10, 25, 13, 24, 11, 123);

describe('tokens', () => {
  it('signs HS256 with sub, sid, iat and exp ten days later, and verifies its own token', () => {
    const { token, expiresAt } = signToken(SECRET, { sub: 'a1', sid: 's1' }, NOW);
    const header = JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString());
    expect(header.alg).toBe('HS256');
    const claims = verifyToken(SECRET, token, NOW);
    expect(claims).toEqual({ sub: 'a1', sid: 's1', iat: Math.floor(NOW / 1000), exp: Math.floor(NOW / 1000) + 864000 });
    expect(expiresAt).toBe(new Date((Math.floor(NOW / 1000) + 864000) * 1000).toISOString());
  });

  it('refuses at exp, not a second before', () => {
    const { token } = signToken(SECRET, { sub: 'a1', sid: 's1' }, NOW);
    const exp = Math.floor(NOW / 1000) + 864000;
    expect(verifyToken(SECRET, token, exp * 1000 - 1)).not.toBeNull();
    expect(verifyToken(SECRET, token, exp * 1000)).toBeNull();
  });

  it('refuses other secrets, other algorithms, no exp, missing claims and garbage', () => {
    const iat = Math.floor(NOW / 1000);
    const claims = { sub: 'a1', sid: 's1', iat, exp: iat + 60 };
    expect(verifyToken('x'.repeat(40), signToken(SECRET, claims, NOW).token, NOW)).toBeNull();
    expect(verifyToken(SECRET, jwt.sign(claims, SECRET, { algorithm: 'HS384' }), NOW)).toBeNull();
    expect(verifyToken(SECRET, jwt.sign(claims, '', { algorithm: 'none' }), NOW)).toBeNull();
    expect(verifyToken(SECRET, jwt.sign({ sub: 'a1', sid: 's1' }, SECRET, { algorithm: 'HS256' }), NOW)).toBeNull();
    expect(
      verifyToken(SECRET, jwt.sign({ sub: 'a1', iat, exp: iat + 60 }, SECRET, { algorithm: 'HS256' }), NOW),
    ).toBeNull();
    expect(verifyToken(SECRET, jwt.sign({ ...claims, sid: 7 }, SECRET, { algorithm: 'HS256' }), NOW)).toBeNull();
    for (const garbage of ['', 'a.b.c', 'not a token', 'x'.repeat(5000)])
      expect(verifyToken(SECRET, garbage, NOW)).toBeNull();
  });
});

describe('redirect targets', () => {
  it('accepts exactly the app scheme callback and loopback /callback with a port', () => {
    for (const ok of [
      'hyperclay://auth/callback',
      'http://127.0.0.1:1/callback',
      'http://127.0.0.1:65535/callback',
      'http://[::1]:8080/callback',
    ]) {
      expect(checkRedirectUri(ok, 'hyperclay'), ok).toBe(ok);
    }
    expect(checkRedirectUri('myapp://auth/callback', 'myapp')).toBe('myapp://auth/callback');
    expect(checkRedirectUri('hyperclay://auth/callback', 'myapp')).toBeNull();
  });

  it('refuses every other shape', () => {
    for (const bad of [
      'HTTP://127.0.0.1:8080/callback',
      'http://127.0.0.1:8080/Callback',
      'http://127.0.0.1:8080/callback/',
      'http://127.0.0.1:8080//callback',
      'http://127.0.0.1:8080/%63allback',
      'http://127.0.0.1:08080/callback',
      'http://127.0.0.1:80/callback',
      'http://0x7f.0.0.1:8080/callback',
      'http://[0:0:0:0:0:0:0:1]:8080/callback',
      'http://127.0.0.1:8080/callback?',
      'http://127.0.0.1:8080/callback?x=1',
      'http://127.0.0.1:8080/callback#',
      'http://:pw@127.0.0.1:8080/callback',
      'http://127.0.0.1:99999/callback',
      ' http://127.0.0.1:8080/callback',
      'hyperclay://auth/callback?x=1',
      'hyperclay://AUTH/callback',
      'file:///callback',
      'data:text/html,hi',
    ]) {
      expect(checkRedirectUri(bad, 'hyperclay'), bad).toBeNull();
    }
  });

  it('lets the consent form redirect only to the target origin', () => {
    expect(formActionSource('hyperclay://auth/callback', 'hyperclay')).toBe('hyperclay:');
    expect(formActionSource('http://127.0.0.1:4000/callback', 'hyperclay')).toBe('http://127.0.0.1:4000');
    expect(formActionSource('http://[::1]:4000/callback', 'hyperclay')).toBe('http:');
  });
});

describe('PKCE and codes', () => {
  it('matches the RFC 7636 appendix B example and nothing else', () => {
    const verifier = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
    const challenge = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
    expect(verifierMatches(verifier, challenge)).toBe(true);
    expect(verifierMatches(`${verifier.slice(0, -1)}l`, challenge)).toBe(false);
    expect(verifierMatches(verifier, challenge.slice(0, -1))).toBe(false);
  });

  it('issues distinct 256-bit codes and stores only their hash', () => {
    const a = newCode();
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(newCode()).not.toBe(a);
    expect(hashCode(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashCode(a)).not.toContain(a);
  });

  it('checks the authorize parameters', () => {
    const good = {
      state: ['s'],
      code_challenge: ['E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'],
      code_challenge_method: ['S256'],
      device_name: ['  Café laptop  '],
    };
    const check = (values: Record<string, string[]>) =>
      checkAuthorizeParams('hyperclay://auth/callback', (name) => values[name] ?? []);
    const ok = check(good);
    expect(ok.ok && ok.params.device_name).toBe('Café laptop');
    expect(check({ ...good, state: ['a', 'b'] }).ok).toBe(false);
    expect(check({ ...good, state: ['has space'] }).ok).toBe(false);
    expect(check({ ...good, code_challenge_method: ['s256'] }).ok).toBe(false);
    expect(check({ ...good, device_name: ['\u0007bell'] }).ok).toBe(false);
    expect(check({ ...good, device_name: ['   '] }).ok).toBe(false);
    expect(check({ ...good, device_name: ['é'.repeat(100)] }).ok).toBe(true);
  });
});

describe('consent CSRF token', () => {
  const params: AuthorizeParams = {
    redirect_uri: 'http://127.0.0.1:4000/callback',
    state: 'st',
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256',
    device_name: 'Laptop',
  };

  it('is valid for the same account, parameters and secret within 30 minutes only', () => {
    const token = csrfToken(SECRET, 'a1', params, NOW);
    expect(csrfValid(SECRET, 'a1', params, token, NOW + 29 * 60 * 1000)).toBe(true);
    expect(csrfValid(SECRET, 'a1', params, token, NOW + 31 * 60 * 1000)).toBe(false);
    expect(csrfValid(SECRET, 'a2', params, token, NOW)).toBe(false);
    expect(csrfValid(SECRET.replace('0', '1'), 'a1', params, token, NOW)).toBe(false);
    expect(csrfValid(SECRET, 'a1', { ...params, state: 'other' }, token, NOW)).toBe(false);
    expect(csrfValid(SECRET, 'a1', params, '', NOW)).toBe(false);
  });
});

describe('escapeHtml', () => {
  it('escapes the five characters that can break out of text or an attribute', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
  });
});

describe('embedded auth store', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  function tempDir(): string {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'server-auth-store-'));
    dirs.push(dir);
    return dir;
  }
  const record = {
    accountId: 'a1',
    redirectUri: 'hyperclay://auth/callback',
    codeChallenge: 'c',
    deviceName: 'Laptop',
    expiresAtMs: NOW + 300_000,
  };

  it('gives a code back once, then never again', async () => {
    const store = openEmbeddedAuthStore({ dir: tempDir(), now: () => NOW });
    await store.saveCode('h1', record);
    const taken = await Promise.all([store.takeCode('h1'), store.takeCode('h1')]);
    expect(taken.filter((r) => r !== null)).toEqual([record]);
    expect(await store.takeCode('h1')).toBeNull();
    expect(await store.takeCode('unknown')).toBeNull();
    await store.close();
  });

  it('prunes codes that have expired when new ones are saved', async () => {
    let now = NOW;
    const store = openEmbeddedAuthStore({ dir: tempDir(), now: () => now });
    await store.saveCode('old', record);
    now = record.expiresAtMs + 1;
    await store.saveCode('new', { ...record, expiresAtMs: now + 300_000 });
    expect(await store.takeCode('old')).toBeNull();
    expect(await store.takeCode('new')).not.toBeNull();
    await store.close();
  });

  it('keeps connections and their revocation across a restart', async () => {
    const dir = tempDir();
    const first = openEmbeddedAuthStore({ dir });
    const sid = await first.createConnection('a1', 'Laptop');
    const other = await first.createConnection('a1', 'Desk');
    expect(sid).not.toBe(other);
    await first.revokeConnection(sid);
    await first.close();
    const second = openEmbeddedAuthStore({ dir });
    expect(await second.connection(sid)).toEqual({ accountId: 'a1', revoked: true });
    expect(await second.connection(other)).toEqual({ accountId: 'a1', revoked: false });
    expect(await second.connection('nope')).toBeNull();
    await second.close();
  });
});
