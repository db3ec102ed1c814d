// The app's configuration: which platform origin it talks to and which deep-link scheme it owns.

import { isValidScheme } from '../../protocol/index.js';
import { liveOf } from '../../sync-engine/config.js';

export interface AppConfig {
  /** The platform's origin, e.g. `https://hyperclay.com`; tokens and openExternal are bound to it. */
  origin: string;
  /** The deep-link scheme (`hyperclay` unless HYPERCLAY_PROTOCOL says otherwise). */
  scheme: string;
  /** Seconds between polls of the change feed (SYNC_POLL_SECONDS, default 10). */
  pollSeconds: number;
  /** Live polls (SYNC_LIVE, default on). */
  live: boolean;
}

export const DEVELOPMENT_URL = 'https://localhyperclay.com';
export const RELEASE_URL = 'https://hyperclay.com';
export const DEFAULT_SCHEME = 'hyperclay';
export const DEFAULT_POLL_SECONDS = 10;

export class ConfigError extends Error {
  readonly code = 'bad_config';
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** The origin of a platform URL, or a ConfigError: `https://`, or `http://` only on loopback. */
export function platformOrigin(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`HYPERCLAY_URL "${url.slice(0, 100)}" is not a URL; set it to e.g. ${RELEASE_URL}.`);
  }
  const loopback = LOOPBACK.has(parsed.hostname) || parsed.hostname.endsWith('.localhost');
  if (parsed.username || parsed.password) throw new ConfigError('HYPERCLAY_URL must not hold a user name or password.');
  if (parsed.protocol === 'https:' || (parsed.protocol === 'http:' && loopback)) return parsed.origin;
  throw new ConfigError('HYPERCLAY_URL must start with https:// (http:// is allowed only for localhost).');
}

/**
 * Release builds use the URL baked in at build time and ignore the environment, so that nothing outside the
 * app can point its token at another server; development builds read HYPERCLAY_URL.
 */
export function resolveAppConfig(input: {
  env: Readonly<Record<string, string | undefined>>;
  bakedUrl: string | null;
}): AppConfig {
  // An empty variable (a blank line in .env) means unset.
  const url = input.bakedUrl ?? (input.env.HYPERCLAY_URL || DEVELOPMENT_URL);
  const scheme = (input.env.HYPERCLAY_PROTOCOL || DEFAULT_SCHEME).toLowerCase();
  if (!isValidScheme(scheme)) {
    throw new ConfigError(
      `HYPERCLAY_PROTOCOL "${scheme.slice(0, 40)}" is not a usable scheme; leave it unset for "hyperclay".`,
    );
  }
  return {
    origin: platformOrigin(url),
    scheme,
    pollSeconds: pollSecondsOf(input.env.SYNC_POLL_SECONDS),
    live: liveOf(input.env.SYNC_LIVE),
  };
}

/** SYNC_POLL_SECONDS: the same range the CLI accepts (0.1 to 3600 seconds); unset or empty means the default. */
export function pollSecondsOf(text: string | undefined): number {
  const trimmed = text?.trim();
  if (!trimmed) return DEFAULT_POLL_SECONDS;
  const seconds = Number(trimmed);
  if (!Number.isFinite(seconds) || seconds < 0.1 || seconds > 3600) {
    throw new ConfigError(
      `SYNC_POLL_SECONDS must be a number of seconds between 0.1 and 3600, got "${trimmed.slice(0, 40)}".`,
    );
  }
  return seconds;
}

/** openExternal's allowlist: only http(s) pages of the configured platform origin. */
export function isAllowedExternalUrl(url: unknown, origin: string): boolean {
  if (typeof url !== 'string' || url.length > 8192) return false;
  try {
    const parsed = new URL(url);
    return (
      (parsed.protocol === 'https:' || parsed.protocol === 'http:') && parsed.origin === origin && !parsed.username
    );
  } catch {
    return false;
  }
}
