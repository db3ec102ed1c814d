// The app's plain-Node pieces around Electron: configuration, the app:// origin, the token codec, the AppImage
// desktop entry and the log file.

import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { APP_PAGE_URL, resolveAppAsset, WINDOW_CSP } from '../../electron/core/app-protocol.js';
import { isAllowedExternalUrl, platformOrigin, RELEASE_URL, resolveAppConfig } from '../../electron/core/config.js';
import { desktopEntry } from '../../electron/core/desktop-entry.js';
import { chooseProtection, keychainTokenCodec, type SecretCipher } from '../../electron/core/token-codec.js';
import { openAppLog } from '../../electron/main/log.js';
import { openSettings } from '../../sync-engine/settings.js';

const temp = mkdtempSync(join(tmpdir(), 'hc-desktop-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

describe('configuration', () => {
  it('development reads HYPERCLAY_URL; the default is localhyperclay.com', () => {
    expect(resolveAppConfig({ env: {}, bakedUrl: null })).toEqual({
      origin: 'https://localhyperclay.com',
      scheme: 'hyperclay',
      pollSeconds: 10,
      live: true,
    });
    expect(resolveAppConfig({ env: { SYNC_LIVE: '0' }, bakedUrl: null }).live).toBe(false);
    expect(resolveAppConfig({ env: { HYPERCLAY_URL: 'http://127.0.0.1:4321/' }, bakedUrl: null }).origin).toBe(
      'http://127.0.0.1:4321',
    );
    expect(resolveAppConfig({ env: { HYPERCLAY_PROTOCOL: 'hyperclay-dev' }, bakedUrl: null }).scheme).toBe(
      'hyperclay-dev',
    );
  });

  it('SYNC_POLL_SECONDS sets the poll interval; empty means the default; nonsense is refused by name', () => {
    expect(resolveAppConfig({ env: { SYNC_POLL_SECONDS: '0.3' }, bakedUrl: null }).pollSeconds).toBe(0.3);
    expect(resolveAppConfig({ env: { SYNC_POLL_SECONDS: ' ' }, bakedUrl: null }).pollSeconds).toBe(10);
    for (const bad of ['0', '-1', 'ten', '99999', 'NaN']) {
      expect(() => resolveAppConfig({ env: { SYNC_POLL_SECONDS: bad }, bakedUrl: null })).toThrow(/SYNC_POLL_SECONDS/);
    }
  });

  it('a release build uses the baked-in URL whatever the environment says', () => {
    const config = resolveAppConfig({ env: { HYPERCLAY_URL: 'https://evil.example' }, bakedUrl: RELEASE_URL });
    expect(config.origin).toBe('https://hyperclay.com');
  });

  it('refuses plain http except on loopback, credentials, and unusable schemes', () => {
    expect(() => platformOrigin('http://hyperclay.com')).toThrow(/https/);
    expect(() => platformOrigin('https://user:pw@hyperclay.com')).toThrow(/password/);
    expect(() => platformOrigin('not a url')).toThrow(/not a URL/);
    expect(platformOrigin('http://localhost:4321')).toBe('http://localhost:4321');
    expect(() => resolveAppConfig({ env: { HYPERCLAY_PROTOCOL: 'https' }, bakedUrl: null })).toThrow(
      /HYPERCLAY_PROTOCOL/,
    );
    expect(() => resolveAppConfig({ env: { HYPERCLAY_PROTOCOL: 'a b' }, bakedUrl: null })).toThrow(
      /HYPERCLAY_PROTOCOL/,
    );
  });

  it('openExternal opens only pages of the configured origin', () => {
    const origin = 'https://hyperclay.com';
    expect(isAllowedExternalUrl('https://hyperclay.com/sync/authorize?state=x', origin)).toBe(true);
    for (const url of [
      'https://hyperclay.com.evil.example/',
      'https://evil.example/?https://hyperclay.com',
      'http://hyperclay.com/',
      'file:///etc/passwd',
      'javascript:alert(1)',
      'smb://hyperclay.com/share',
      'https://user@hyperclay.com/',
      42,
    ]) {
      expect(isAllowedExternalUrl(url, origin)).toBe(false);
    }
  });
});

describe('the app:// origin', () => {
  const root = '/opt/app/renderer';
  it('serves the renderer files', () => {
    expect(resolveAppAsset(APP_PAGE_URL, root)).toEqual({
      file: join(root, 'index.html'),
      contentType: 'text/html; charset=utf-8',
    });
    expect(resolveAppAsset('app://hyperclay-sync/app.js', root)?.file).toBe(join(root, 'app.js'));
    expect(resolveAppAsset('app://hyperclay-sync/', root)?.file).toBe(join(root, 'index.html'));
  });

  it('serves nothing outside the renderer folder or of another type', () => {
    for (const url of [
      'app://hyperclay-sync/../main/index.js',
      'app://hyperclay-sync/%2e%2e/main/index.js',
      'app://hyperclay-sync/..%2fmain%2findex.js',
      'app://hyperclay-sync/a%5c..%5c..%5cetc%5cpasswd.js',
      'app://hyperclay-sync//etc/passwd.js',
      'app://hyperclay-sync/%E0%A4%A.js',
      'app://other/index.html',
      'https://hyperclay-sync/index.html',
      'app://hyperclay-sync/app.js.map',
      'app://hyperclay-sync/package.json',
      'not a url',
    ]) {
      expect(resolveAppAsset(url, root)).toBeNull();
    }
  });

  it('the response CSP allows only the app itself', () => {
    expect(WINDOW_CSP).toContain("default-src 'none'");
    expect(WINDOW_CSP).toContain("script-src 'self'");
    expect(WINDOW_CSP).not.toContain('unsafe');
  });
});

/** A stand-in keychain: reversible, and visibly not the plain text. */
function cipher(available: boolean, backend: string): SecretCipher {
  return {
    isEncryptionAvailable: () => available,
    backend: () => backend,
    encryptString: (text) => Buffer.from(`enc:${Buffer.from(text).toString('hex')}`),
    decryptString: (data) => {
      const text = data.toString();
      if (!text.startsWith('enc:')) throw new Error('cannot decrypt');
      return Buffer.from(text.slice(4), 'hex').toString();
    },
  };
}

describe('the token at rest', () => {
  const token = {
    token: 'eyJhbGciOiJIUzI1NiJ9.secret-token-body.sig',
    origin: 'https://hyperclay.com',
    expiresAt: '2026-12-05T10:00:00.000Z',
    issuedAt: '2026-11-25T10:00:00.000Z',
    user: { id: 'u1', email: 'ada@example.com', plan: 'paid' },
  };

  it('is encrypted with the keychain in a 0600 file where one exists', () => {
    const home = join(temp, 'keychain');
    const codec = keychainTokenCodec(cipher(true, 'gnome_libsecret'), () => {});
    expect(codec).not.toBeNull();
    const settings = openSettings(home, { codec: codec! });
    settings.tokens.save(token);
    const raw = readFileSync(settings.file, 'utf8');
    expect(raw).not.toContain(token.token);
    expect(statSync(settings.file).mode & 0o777).toBe(0o600);
    expect(settings.tokens.load('https://hyperclay.com')?.token).toBe(token.token);
    expect(settings.tokens.load('https://evil.example')).toBeNull();
  });

  it("on Linux's basic_text backend it is deliberately kept by file mode only, and that is logged", () => {
    const logged: string[] = [];
    expect(keychainTokenCodec(cipher(true, 'basic_text'), (m) => logged.push(m))).toBeNull();
    expect(logged).toEqual([expect.stringContaining('basic_text')]);
    expect(chooseProtection(cipher(false, 'os'))).toEqual({
      kind: 'file-mode-only',
      reason: 'no OS encryption is available',
    });
    expect(chooseProtection(cipher(true, 'os'))).toEqual({ kind: 'os-encryption' });
  });

  it('a token the keychain can no longer decrypt means signed out, not a crash', () => {
    const home = join(temp, 'broken');
    const settings = openSettings(home, { codec: keychainTokenCodec(cipher(true, 'kwallet5'), () => {})! });
    settings.tokens.save(token);
    const broken = {
      ...cipher(true, 'kwallet5'),
      decryptString: (): string => {
        throw new Error('keyring locked');
      },
    };
    const reopened = openSettings(home, { codec: keychainTokenCodec(broken, () => {})! });
    expect(reopened.tokens.load('https://hyperclay.com')).toBeNull();
  });
});

describe('the AppImage desktop entry', () => {
  it('declares the scheme handler and runs the AppImage with the URL', () => {
    const entry = desktopEntry({ appImagePath: '/home/ada/Apps/Hyperclay-Sync-0.1.0.AppImage', scheme: 'hyperclay' });
    expect(entry).toContain('Exec=/home/ada/Apps/Hyperclay-Sync-0.1.0.AppImage %u\n');
    expect(entry).toContain('MimeType=x-scheme-handler/hyperclay;\n');
    expect(entry?.startsWith('[Desktop Entry]\n')).toBe(true);
  });

  it('refuses a path that would inject into the Exec line', () => {
    for (const path of [
      'relative.AppImage',
      '/tmp/a b.AppImage',
      '/tmp/$(rm -rf ~).AppImage',
      '/tmp/x\nExec=evil',
      '/tmp/%f',
    ]) {
      expect(desktopEntry({ appImagePath: path, scheme: 'hyperclay' })).toBeNull();
    }
  });
});

describe('the log file', () => {
  it('writes one line per event with time and level, on one line, and loses nothing in a burst', async () => {
    const dir = join(temp, 'logs');
    const { path, log, close } = openAppLog(dir);
    log('info', 'sync switched on');
    log('warn', 'deep link ignored:\nno sign-in is pending');
    for (let i = 0; i < 2000; i++) log('info', `burst ${i}`);
    await close();
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(2002);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO +sync switched on$/);
    expect(lines[1]).toMatch(/WARN +deep link ignored:.*no sign-in is pending$/);
    expect(lines[2001]).toMatch(/burst 1999$/);
  });
});
