// What every command shares: the configuration, the settings file, the log file, the token for this platform, an
// API client bound to it, and the sync folder choice.

import { hostname } from 'node:os';
import { type SavedToken, settingsTokenStore, type TokenStore, tokenAccess } from '../sync-engine/auth.js';
import {
  ConfigError,
  defaultSyncFolder,
  ensureDataDirs,
  loadConfig,
  type SyncConfig,
  stateFileFor,
} from '../sync-engine/config.js';
import { type ApiClient, createApiClient } from '../sync-engine/endpoints.js';
import { checkSyncFolder, SyncFolderError } from '../sync-engine/folder-rules.js';
import { createLogger, type EngineLog, type Logger, logTo } from '../sync-engine/log.js';
import { FolderSync, type FolderSyncOptions } from '../sync-engine/runner.js';
import { openSettings, type Settings } from '../sync-engine/settings.js';
import { CliError, EXIT } from './errors.js';
import { clientVersion } from './install.js';

export interface CliOutput {
  out(line: string): void;
  err(line: string): void;
}

export interface CliContext {
  config: SyncConfig;
  settings: Settings;
  tokens: TokenStore;
  logger: Logger;
  log: EngineLog;
  io: CliOutput;
  clientVersion: string;
  deviceName: string;
  /** The saved token for this platform, or null. */
  token(): SavedToken | null;
  /** A client bound to the configured origin and the saved token (refreshes are saved back). */
  api(options?: { timeoutMs?: number }): ApiClient;
  /** The sync folder: `--dir` (checked and saved), else the saved one, else ~/Hyperclay. */
  folder(dir: string | undefined, options?: { save?: boolean }): string;
  close(): Promise<void>;
}

/** A folder's sync (lock, status file, engine) for a command, built from the context's settings the same way by each. */
export function createCliRunner(
  ctx: CliContext,
  options: Pick<FolderSyncOptions, 'api' | 'folder' | 'account' | 'holder' | 'onSignedOut'>,
): FolderSync {
  const { paths } = ctx.config;
  return new FolderSync({
    ...options,
    stateFile: stateFileFor(paths, options.account.id, options.folder),
    locksDir: paths.locksDir,
    statusFile: paths.statusFile,
    log: ctx.log,
    deviceName: ctx.deviceName,
    pollSeconds: ctx.config.pollSeconds,
    live: ctx.config.live,
    forgetToken: () => ctx.tokens.clear(),
  });
}

export interface ContextOptions {
  io: CliOutput;
  /** Log lines also go to stderr (a foreground `start`). */
  echoLog?: boolean;
  env?: NodeJS.ProcessEnv;
}

export function openContext(options: ContextOptions): CliContext {
  let config: SyncConfig;
  try {
    config = loadConfig({ env: options.env ?? process.env });
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(EXIT.usage, error.code, error.message);
    throw error;
  }
  ensureDataDirs(config.paths);
  const settings = openSettings(config.paths.home);
  const tokens = settingsTokenStore(settings.tokens, config.origin);
  const logger = createLogger({
    file: config.paths.logFile,
    echo: options.echoLog ? (line) => process.stderr.write(`${line}\n`) : undefined,
  });
  const log = logTo(logger);
  const clients: ApiClient[] = [];
  const version = clientVersion();

  return {
    config,
    settings,
    tokens,
    logger,
    log,
    io: options.io,
    clientVersion: version,
    deviceName: `hyperclay-sync on ${hostname()}`.slice(0, 100),
    token() {
      const stored = settings.tokens.load(config.origin);
      if (!stored) return null;
      const obtainedAtMs = Date.parse(stored.issuedAt);
      return { ...stored, obtainedAtMs: Number.isNaN(obtainedAtMs) ? 0 : obtainedAtMs };
    },
    api(apiOptions = {}) {
      const client = createApiClient({
        origin: config.origin,
        ...tokenAccess(tokens),
        clientVersion: version,
        log,
        ...(apiOptions.timeoutMs ? { timeoutMs: apiOptions.timeoutMs } : {}),
      });
      clients.push(client);
      return client;
    },
    folder(dir, folderOptions = {}) {
      const chosen = dir ?? settings.getFolder() ?? defaultSyncFolder();
      let folder: string;
      try {
        folder = checkSyncFolder(chosen, { dataHome: config.paths.home });
      } catch (error) {
        if (error instanceof SyncFolderError) throw new CliError(EXIT.failed, error.code, error.message);
        throw error;
      }
      if (dir !== undefined && folderOptions.save !== false && settings.getFolder() !== folder) {
        settings.setFolder(folder);
      }
      return folder;
    },
    async close() {
      for (const client of clients) client.close();
      await logger.close();
    },
  };
}
