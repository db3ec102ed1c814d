// SPEC.md "Configuration" and the CLI's HYPERCLAY_SYNC_HOME: defaults, .env loading, validation, data-folder paths.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ConfigError,
  checkPlatformUrl,
  dataPathsFor,
  defaultDataHome,
  defaultSyncFolder,
  ensureDataDirs,
  loadConfig,
  stateFileFor,
} from '../../sync-engine/config.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hc-config-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({ env: {}, envFile: false, platform: 'linux', homedir: '/home/ada' });
    expect(config).toMatchObject({
      url: 'https://localhyperclay.com',
      origin: 'https://localhyperclay.com',
      protocol: 'hyperclay',
      pollSeconds: 10,
    });
    expect(config.paths).toEqual({
      home: '/home/ada/.config/hyperclay-sync',
      logsDir: '/home/ada/.config/hyperclay-sync/logs',
      logFile: '/home/ada/.config/hyperclay-sync/logs/sync.log',
      stateDir: '/home/ada/.config/hyperclay-sync/state',
      settingsFile: '/home/ada/.config/hyperclay-sync/settings.json',
      statusFile: '/home/ada/.config/hyperclay-sync/status.json',
      locksDir: '/home/ada/.config/hyperclay-sync/locks',
    });
    expect(loadConfig({ env: {}, envFile: false, defaultUrl: 'https://hyperclay.com' }).url).toBe(
      'https://hyperclay.com',
    );
  });

  it('puts the data folder in each platform’s config folder', () => {
    expect(defaultDataHome('linux', { XDG_CONFIG_HOME: '/x/cfg' }, '/home/ada')).toBe('/x/cfg/hyperclay-sync');
    expect(defaultDataHome('linux', { XDG_CONFIG_HOME: 'relative' }, '/home/ada')).toBe(
      '/home/ada/.config/hyperclay-sync',
    );
    expect(defaultDataHome('darwin', {}, '/Users/ada')).toBe('/Users/ada/Library/Application Support/Hyperclay Sync');
    expect(defaultDataHome('win32', { APPDATA: 'C:\\Users\\ada\\AppData\\Roaming' }, 'C:\\Users\\ada')).toBe(
      'C:\\Users\\ada\\AppData\\Roaming\\Hyperclay Sync',
    );
    expect(defaultSyncFolder('/home/ada')).toBe('/home/ada/Hyperclay');
  });

  it('loads .env, and the environment wins over it', () => {
    const envFile = join(dir, '.env');
    writeFileSync(
      envFile,
      'HYPERCLAY_URL=http://localhost:4321/\nSYNC_POLL_SECONDS=0.5\nHYPERCLAY_PROTOCOL=hyperclay-dev\nHYPERCLAY_SYNC_HOME=./data\n',
    );
    const env: NodeJS.ProcessEnv = { HYPERCLAY_PROTOCOL: 'hyperclay-test' };
    const config = loadConfig({ env, envFile });
    expect(config.url).toBe('http://localhost:4321');
    expect(config.origin).toBe('http://localhost:4321');
    expect(config.pollSeconds).toBe(0.5);
    expect(config.protocol).toBe('hyperclay-test');
    expect(config.paths.home).toBe(join(process.cwd(), 'data'));
    expect(env.HYPERCLAY_URL).toBe('http://localhost:4321/');
  });

  it.each([
    [{ HYPERCLAY_URL: 'http://example.com' }, 'HYPERCLAY_URL'],
    [{ HYPERCLAY_URL: 'ftp://example.com' }, 'HYPERCLAY_URL'],
    [{ HYPERCLAY_URL: 'not a url' }, 'HYPERCLAY_URL'],
    [{ HYPERCLAY_URL: 'https://user:pw@hyperclay.com' }, 'HYPERCLAY_URL'],
    [{ SYNC_POLL_SECONDS: 'soon' }, 'SYNC_POLL_SECONDS'],
    [{ SYNC_POLL_SECONDS: '0' }, 'SYNC_POLL_SECONDS'],
    [{ HYPERCLAY_PROTOCOL: 'https' }, 'HYPERCLAY_PROTOCOL'],
    [{ HYPERCLAY_PROTOCOL: 'bad scheme' }, 'HYPERCLAY_PROTOCOL'],
  ])('refuses %j, naming %s', (env, variable) => {
    const error = (() => {
      try {
        loadConfig({ env, envFile: false });
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
    expect((error as ConfigError).code).toBe('bad_config');
    expect((error as ConfigError).message).toContain(variable);
  });

  it('allows plain http only on loopback', () => {
    for (const url of ['http://localhost:4321', 'http://127.0.0.1:4321', 'http://[::1]:4321']) {
      expect(checkPlatformUrl(url).origin).toBe(new URL(url).origin);
    }
    expect(() => checkPlatformUrl('http://127.0.0.1.example.com')).toThrow(ConfigError);
    expect(() => checkPlatformUrl('http://10.0.0.1')).toThrow(ConfigError);
  });
});

describe('data paths', () => {
  it('creates the data folders readable by the owner only', () => {
    const paths = dataPathsFor(join(dir, 'data'));
    ensureDataDirs(paths);
    for (const folder of [paths.home, paths.logsDir, paths.stateDir, paths.locksDir]) {
      expect(statSync(folder).isDirectory()).toBe(true);
      if (process.platform !== 'win32') expect(statSync(folder).mode & 0o777).toBe(0o700);
    }
  });

  it('gives each account and folder its own state file', () => {
    const paths = dataPathsFor(dir);
    const a = stateFileFor(paths, 'acct-1', '/home/ada/Hyperclay');
    expect(a.startsWith(paths.stateDir)).toBe(true);
    expect(stateFileFor(paths, 'acct-1', '/home/ada/Hyperclay')).toBe(a);
    expect(stateFileFor(paths, 'acct-2', '/home/ada/Hyperclay')).not.toBe(a);
    expect(stateFileFor(paths, 'acct-1', '/home/ada/Other')).not.toBe(a);
  });
});

describe('.env.example', () => {
  it('documents every variable', () => {
    const text = readFileSync(join(import.meta.dirname, '..', '..', '.env.example'), 'utf8');
    for (const name of ['HYPERCLAY_URL', 'HYPERCLAY_PROTOCOL', 'SYNC_POLL_SECONDS', 'HYPERCLAY_SYNC_HOME']) {
      expect(text).toContain(name);
    }
  });
});
