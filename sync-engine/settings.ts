// The settings file in the data folder (conf, mode 0600): the sign-in token bound to its origin, the sync folder,
// and whether sync is on. The one settings module of the CLI and the desktop app (which opens the same store through
// electron-store, conf with Electron's paths).

import { mkdirSync } from 'node:fs';
import Conf from 'conf';
import { checkPlatformUrl } from './config.js';
import { EngineError } from './errors.js';

export const SETTINGS_NAME = 'settings';

export interface TokenUser {
  id: string;
  email: string;
  plan: string;
}

export interface StoredToken {
  token: string;
  /** The origin that issued the token; it is never sent anywhere else. */
  origin: string;
  /** ISO times. */
  expiresAt: string;
  issuedAt: string;
  user: TokenUser;
}

/** What the settings file holds (the token possibly encoded by a TokenCodec). */
export interface SettingsData {
  token: (StoredToken & { codec?: string }) | null;
  folder: string | null;
  syncOn: boolean;
}

/**
 * Optional extra protection for the token at rest, e.g. the desktop app's OS keychain (Electron safeStorage).
 * A token written with one codec is only read back with the same one.
 */
export interface TokenCodec {
  name: string;
  encode(plain: string): string;
  decode(stored: string): string;
}

export interface TokenStore {
  /** The token, only if it was issued by `origin`; null when there is none, it is malformed or for another origin. */
  load(origin: string): StoredToken | null;
  save(token: StoredToken): void;
  clear(): void;
  /** Who is signed in, without the token itself (for status lines). */
  account(): { origin: string; user: TokenUser; expiresAt: string; issuedAt: string } | null;
}

export interface Settings {
  readonly file: string;
  readonly tokens: TokenStore;
  getFolder(): string | null;
  setFolder(folder: string | null): void;
  getSyncOn(): boolean;
  setSyncOn(on: boolean): void;
}

/** The store's options: conf's, which electron-store takes as well (with `name` for conf's `configName`). */
export interface SettingsStoreOptions {
  cwd: string;
  configName: string;
  configFileMode: number;
  clearInvalidConfig: boolean;
  defaults: SettingsData;
}

/** The part of a conf store the settings use. */
export type SettingsStore = Pick<Conf<SettingsData>, 'get' | 'set' | 'path'>;

/** Opens the store: conf by default; the desktop app passes electron-store's constructor. */
export type OpenSettingsStore = (options: SettingsStoreOptions) => SettingsStore;

export class SettingsError extends EngineError {
  declare readonly code: 'bad_token';
  constructor(message: string) {
    super('bad_token', message);
  }
}

const isIsoTime = (value: unknown): value is string => typeof value === 'string' && !Number.isNaN(Date.parse(value));

function parseUser(value: unknown): TokenUser | null {
  if (typeof value !== 'object' || value === null) return null;
  const { id, email, plan } = value as Record<string, unknown>;
  if (typeof id !== 'string' || typeof email !== 'string' || typeof plan !== 'string') return null;
  return { id, email, plan };
}

/** The stored token record, checked; null if anything is off (a hand-edited or damaged file means signed out). */
function parseStored(value: unknown): (StoredToken & { codec?: string }) | null {
  if (typeof value !== 'object' || value === null) return null;
  const r = value as Record<string, unknown>;
  const user = parseUser(r.user);
  if (typeof r.token !== 'string' || r.token.length === 0 || typeof r.origin !== 'string' || !user) return null;
  if (!isIsoTime(r.expiresAt) || !isIsoTime(r.issuedAt)) return null;
  if (r.codec !== undefined && typeof r.codec !== 'string') return null;
  const stored: StoredToken & { codec?: string } = {
    token: r.token,
    origin: r.origin,
    expiresAt: r.expiresAt,
    issuedAt: r.issuedAt,
    user,
  };
  if (typeof r.codec === 'string') stored.codec = r.codec;
  return stored;
}

function originOf(value: string): string | null {
  try {
    return checkPlatformUrl(value, 'origin').origin;
  } catch {
    return null;
  }
}

/** Opens the settings file `<home>/settings.json`, created with mode 0600 (and its folder 0700). */
export function openSettings(home: string, options: { codec?: TokenCodec; open?: OpenSettingsStore } = {}): Settings {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const open = options.open ?? ((storeOptions: SettingsStoreOptions) => new Conf<SettingsData>(storeOptions));
  const store = open({
    cwd: home,
    configName: SETTINGS_NAME,
    configFileMode: 0o600,
    // A damaged file reads as the defaults (signed out, no folder) rather than stopping the app.
    clearInvalidConfig: true,
    defaults: { token: null, folder: null, syncOn: true },
  });
  const codec = options.codec;

  const tokens: TokenStore = {
    load(origin) {
      const wanted = originOf(origin);
      const stored = parseStored(store.get('token'));
      if (!wanted || !stored || stored.origin !== wanted) return null;
      if ((stored.codec ?? null) !== (codec?.name ?? null)) return null;
      let token = stored.token;
      if (codec) {
        try {
          token = codec.decode(stored.token);
        } catch {
          return null;
        }
      }
      return {
        token,
        origin: stored.origin,
        expiresAt: stored.expiresAt,
        issuedAt: stored.issuedAt,
        user: stored.user,
      };
    },
    save(token) {
      const origin = originOf(token.origin);
      const user = parseUser(token.user);
      if (!origin)
        throw new SettingsError(
          `A token may only be kept for an https:// (or loopback) origin, not "${token.origin}".`,
        );
      if (typeof token.token !== 'string' || token.token.length === 0 || !user) {
        throw new SettingsError('The sign-in answer had no usable token; sign in again.');
      }
      if (!isIsoTime(token.expiresAt) || !isIsoTime(token.issuedAt)) {
        throw new SettingsError('The sign-in answer had no valid expiry time; sign in again.');
      }
      const record: StoredToken & { codec?: string } = {
        token: codec ? codec.encode(token.token) : token.token,
        origin,
        expiresAt: token.expiresAt,
        issuedAt: token.issuedAt,
        user,
      };
      if (codec) record.codec = codec.name;
      store.set('token', record);
    },
    clear() {
      store.set('token', null);
    },
    account() {
      const stored = parseStored(store.get('token'));
      if (!stored) return null;
      return { origin: stored.origin, user: stored.user, expiresAt: stored.expiresAt, issuedAt: stored.issuedAt };
    },
  };

  return {
    file: store.path,
    tokens,
    getFolder() {
      const folder = store.get('folder');
      return typeof folder === 'string' && folder.length > 0 ? folder : null;
    },
    setFolder(folder) {
      store.set('folder', folder);
    },
    getSyncOn() {
      const on = store.get('syncOn');
      return typeof on === 'boolean' ? on : true;
    },
    setSyncOn(on) {
      store.set('syncOn', on === true);
    },
  };
}
