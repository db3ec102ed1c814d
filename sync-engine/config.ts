// Configuration from `.env` and the environment (SPEC.md "Configuration"), and where the data folder's files live.

import { createHash } from 'node:crypto';
import { mkdirSync, realpathSync } from 'node:fs';
import { homedir as osHomedir } from 'node:os';
import { join, resolve, win32 } from 'node:path';
import { config as loadDotenv } from 'dotenv';
import { isLoopbackHost } from '../protocol/index.js';
import { EngineError } from './errors.js';

export const DEFAULT_URL = 'https://localhyperclay.com';
export const DEFAULT_PROTOCOL = 'hyperclay';
export const DEFAULT_POLL_SECONDS = 10;

export class ConfigError extends EngineError {
  declare readonly code: 'bad_config';
  readonly variable: string;
  constructor(variable: string, message: string) {
    super('bad_config', message);
    this.variable = variable;
  }
}

/** Every file the engine keeps in its data folder (never inside the sync folder). */
export interface DataPaths {
  home: string;
  logsDir: string;
  logFile: string;
  stateDir: string;
  settingsFile: string;
  statusFile: string;
  locksDir: string;
}

export interface SyncConfig {
  /** The platform's base URL, without a trailing slash. */
  url: string;
  /** The origin the token is bound to (`https://host[:port]`). */
  origin: string;
  /** The deep-link scheme of the desktop app. */
  protocol: string;
  pollSeconds: number;
  /** Live polls (SYNC_LIVE, default on): each poll a long-poll, so a platform change comes down at once. */
  live: boolean;
  paths: DataPaths;
}

export function dataPathsFor(home: string): DataPaths {
  const abs = resolve(home);
  return {
    home: abs,
    logsDir: join(abs, 'logs'),
    logFile: join(abs, 'logs', 'sync.log'),
    stateDir: join(abs, 'state'),
    settingsFile: join(abs, 'settings.json'),
    statusFile: join(abs, 'status.json'),
    locksDir: join(abs, 'locks'),
  };
}

/** Creates the data folder and its sub-folders, readable by the owner only. */
export function ensureDataDirs(paths: DataPaths): void {
  for (const dir of [paths.home, paths.logsDir, paths.stateDir, paths.locksDir]) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }
}

/** The platform's config folder for the app (used when HYPERCLAY_SYNC_HOME is not set). */
export function defaultDataHome(
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
  home: string = osHomedir(),
): string {
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', 'Hyperclay Sync');
  if (platform === 'win32') return win32.join(env.APPDATA || win32.join(home, 'AppData', 'Roaming'), 'Hyperclay Sync');
  const xdg = env.XDG_CONFIG_HOME;
  // XDG says a relative XDG_CONFIG_HOME is invalid and must be ignored.
  return join(xdg?.startsWith('/') ? xdg : join(home, '.config'), 'hyperclay-sync');
}

/** Where the sync folder goes unless the user picks another: `~/Hyperclay`. */
export function defaultSyncFolder(home: string = osHomedir()): string {
  return join(home, 'Hyperclay');
}

/**
 * Checks a platform URL: `https://`, or `http://` on loopback only, no credentials, query or fragment.
 * Returns it without a trailing slash.
 */
export function checkPlatformUrl(value: string, variable = 'HYPERCLAY_URL'): { url: string; origin: string } {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(variable, `${variable} "${value}" is not a URL; set it like https://hyperclay.com.`);
  }
  const secure = url.protocol === 'https:';
  const loopback = url.protocol === 'http:' && isLoopbackHost(url.hostname);
  if (!secure && !loopback) {
    throw new ConfigError(
      variable,
      `${variable} must start with https:// (plain http:// is only allowed for localhost), got "${value}".`,
    );
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new ConfigError(variable, `${variable} must not hold a user name, password, query or fragment.`);
  }
  const path = url.pathname.replace(/\/+$/, '');
  return { url: `${url.origin}${path}`, origin: url.origin };
}

export interface LoadConfigOptions {
  /** The environment to read (default process.env); `.env` fills in what it does not set. */
  env?: NodeJS.ProcessEnv;
  /** The `.env` file to load (default `.env` in the working folder); false to load none. */
  envFile?: string | false;
  /** The URL used when HYPERCLAY_URL is not set (release builds bake in https://hyperclay.com). */
  defaultUrl?: string;
  platform?: NodeJS.Platform;
  homedir?: string;
}

/** Reads the configuration, validating every variable; throws a ConfigError naming the bad one. */
export function loadConfig(options: LoadConfigOptions = {}): SyncConfig {
  const env = options.env ?? process.env;
  if (options.envFile !== false) {
    // quiet: dotenv would otherwise print a line on stdout, which the CLI's --json output cannot have.
    loadDotenv({ quiet: true, path: options.envFile ?? resolve('.env'), processEnv: env as Record<string, string> });
  }
  const { url, origin } = checkPlatformUrl(env.HYPERCLAY_URL?.trim() || options.defaultUrl || DEFAULT_URL);

  const protocol = (env.HYPERCLAY_PROTOCOL?.trim() || DEFAULT_PROTOCOL).toLowerCase();
  if (!/^[a-z][a-z0-9+.-]*$/.test(protocol) || ['http', 'https', 'file', 'javascript', 'data'].includes(protocol)) {
    throw new ConfigError(
      'HYPERCLAY_PROTOCOL',
      `HYPERCLAY_PROTOCOL "${protocol}" is not a usable deep-link scheme; use letters such as "hyperclay".`,
    );
  }

  const pollText = env.SYNC_POLL_SECONDS?.trim();
  const pollSeconds = pollText ? Number(pollText) : DEFAULT_POLL_SECONDS;
  if (!Number.isFinite(pollSeconds) || pollSeconds < 0.1 || pollSeconds > 3600) {
    throw new ConfigError(
      'SYNC_POLL_SECONDS',
      `SYNC_POLL_SECONDS must be a number of seconds between 0.1 and 3600, got "${pollText}".`,
    );
  }

  const homeText = env.HYPERCLAY_SYNC_HOME?.trim();
  const home = homeText ? resolve(homeText) : defaultDataHome(options.platform, env, options.homedir);
  return { url, origin, protocol, pollSeconds, live: liveOf(env.SYNC_LIVE), paths: dataPathsFor(home) };
}

/** SYNC_LIVE: live polls unless it says 0, false, off or no (SPEC.md "Live polls"). */
export function liveOf(text: string | undefined): boolean {
  return !['0', 'false', 'off', 'no'].includes(text?.trim().toLowerCase() ?? '');
}

function realOrResolved(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

const shortHash = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 32);

/** The state file of one account and one sync folder (state is never shared between accounts). */
export function stateFileFor(paths: DataPaths, accountId: string, folder: string): string {
  return join(paths.stateDir, `${shortHash(`${accountId}\0${realOrResolved(folder)}`)}.json`);
}

/** A folder's identity for its lock: a hash of its real path. */
export function folderId(folder: string): string {
  return shortHash(realOrResolved(folder));
}
