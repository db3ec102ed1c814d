// SPEC.md "Auth and account": the token is stored with mode 0600 with the origin that issued it and is never handed
// out for another origin; the sync folder and on/off persist.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSettings, SettingsError, type StoredToken, type TokenCodec } from '../../sync-engine/settings.js';

let home: string;
beforeEach(() => {
  home = join(mkdtempSync(join(tmpdir(), 'hc-settings-')), 'data');
});
afterEach(() => {
  rmSync(join(home, '..'), { recursive: true, force: true });
});

const token: StoredToken = {
  token: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSJ9.signature-part',
  origin: 'https://hyperclay.com',
  expiresAt: '2026-12-05T13:24:11.123Z',
  issuedAt: '2026-11-25T13:24:11.123Z',
  user: { id: 'u1', email: 'ada@example.com', plan: 'pro' },
};

describe('settings', () => {
  it('stores the token in a file of mode 0600 inside a 0700 folder', () => {
    const settings = openSettings(home);
    settings.tokens.save(token);
    expect(settings.file).toBe(join(home, 'settings.json'));
    if (process.platform !== 'win32') {
      expect(statSync(settings.file).mode & 0o777).toBe(0o600);
      expect(statSync(home).mode & 0o777).toBe(0o700);
    }
    expect(JSON.parse(readFileSync(settings.file, 'utf8')).token.origin).toBe('https://hyperclay.com');
  });

  it('returns the token only for the origin that issued it', () => {
    const settings = openSettings(home);
    settings.tokens.save({ ...token, origin: 'https://hyperclay.com/' });
    expect(settings.tokens.load('https://hyperclay.com')).toEqual(token);
    expect(settings.tokens.load('https://hyperclay.com/some/path')).toEqual(token);
    expect(settings.tokens.load('https://evil.example')).toBeNull();
    expect(settings.tokens.load('http://hyperclay.com')).toBeNull();
    expect(settings.tokens.load('https://hyperclay.com:8443')).toBeNull();
    expect(settings.tokens.load('not a url')).toBeNull();
    expect(settings.tokens.account()).toEqual({
      origin: token.origin,
      user: token.user,
      expiresAt: token.expiresAt,
      issuedAt: token.issuedAt,
    });
  });

  it('refuses to keep a token for a plain-http origin that is not loopback, or a malformed answer', () => {
    const settings = openSettings(home);
    expect(() => settings.tokens.save({ ...token, origin: 'http://hyperclay.com' })).toThrow(SettingsError);
    expect(() => settings.tokens.save({ ...token, token: '' })).toThrow(SettingsError);
    expect(() => settings.tokens.save({ ...token, expiresAt: 'soon' })).toThrow(SettingsError);
    settings.tokens.save({ ...token, origin: 'http://localhost:4321' });
    expect(settings.tokens.load('http://localhost:4321')?.token).toBe(token.token);
  });

  it('forgets the token on clear, and another process (a new instance) sees every change', () => {
    const app = openSettings(home);
    const cli = openSettings(home);
    app.tokens.save(token);
    expect(cli.tokens.load(token.origin)?.token).toBe(token.token);
    cli.tokens.clear();
    expect(app.tokens.load(token.origin)).toBeNull();
    expect(app.tokens.account()).toBeNull();
  });

  it('keeps the sync folder and on/off (sync is on by default)', () => {
    const settings = openSettings(home);
    expect(settings.getFolder()).toBeNull();
    expect(settings.getSyncOn()).toBe(true);
    settings.setFolder('/home/ada/Hyperclay');
    settings.setSyncOn(false);
    const again = openSettings(home);
    expect(again.getFolder()).toBe('/home/ada/Hyperclay');
    expect(again.getSyncOn()).toBe(false);
  });

  it('reads a damaged or hand-edited file as signed out instead of failing', () => {
    const settings = openSettings(home);
    settings.tokens.save(token);
    writeFileSync(settings.file, '{"token": {"token": 42');
    expect(openSettings(home).tokens.load(token.origin)).toBeNull();
    writeFileSync(settings.file, JSON.stringify({ token: { ...token, user: 'nobody' }, folder: 7, syncOn: 'yes' }));
    const odd = openSettings(home);
    expect(odd.tokens.load(token.origin)).toBeNull();
    expect(odd.getFolder()).toBeNull();
    expect(odd.getSyncOn()).toBe(true);
  });

  it('encodes the token at rest with a codec (the desktop app’s keychain), and reads it back only with it', () => {
    const reverse: TokenCodec = {
      name: 'test-reverse',
      encode: (plain) => Buffer.from(plain).reverse().toString('base64'),
      decode: (stored) => Buffer.from(stored, 'base64').reverse().toString(),
    };
    const withCodec = openSettings(home, { codec: reverse });
    withCodec.tokens.save(token);
    expect(readFileSync(withCodec.file, 'utf8')).not.toContain(token.token);
    expect(withCodec.tokens.load(token.origin)?.token).toBe(token.token);
    expect(openSettings(home).tokens.load(token.origin)).toBeNull();
  });
});
