// What every command shares: the configuration, the settings file, the log file, the token for this platform, an
// API client bound to it, and the sync folder choice.

import { statSync } from 'node:fs';
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
  /** Standard output when it is a terminal (progress lines are drawn there); absent for pipes, files and tests. */
  terminal?: NodeJS.WriteStream;
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
  /**
   * A client bound to the configured origin and the saved token (refreshes are saved back); with `token`, bound to
   * that token only (`logout` revokes a token it has already forgotten).
   */
  api(options?: { timeoutMs?: number; token?: SavedToken }): ApiClient;
  /** The sync folder: `--dir`, else the saved one, else ~/Hyperclay; checked (not a root, home or data folder). */
  folder(dir: string | undefined): string;
  /**
   * The folder a command is about to sync: as folder(), and it must exist (`--dir` names an existing folder, and a
   * saved folder that went away is not made again empty) unless `create`; only the never-saved default is made.
   */
  syncFolder(dir: string | undefined, options?: { create?: boolean }): string;
  /** Keeps `folder` as the default for later runs: a command calls it once it has succeeded, never before. */
  rememberFolder(folder: string): void;
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

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** A path as a POSIX shell would take it back (for the commands our sentences suggest). */
export function shellQuote(path: string): string {
  return /^[\w@%+=:,./~-]+$/.test(path) ? path : `'${path.replaceAll("'", "'\\''")}'`;
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
      const fixed = apiOptions.token;
      const client = createApiClient({
        origin: config.origin,
        ...(fixed ? { getToken: () => fixed } : tokenAccess(tokens)),
        clientVersion: version,
        log,
        ...(apiOptions.timeoutMs ? { timeoutMs: apiOptions.timeoutMs } : {}),
      });
      clients.push(client);
      return client;
    },
    folder(dir) {
      const chosen = dir ?? settings.getFolder() ?? defaultSyncFolder();
      try {
        return checkSyncFolder(chosen, { dataHome: config.paths.home });
      } catch (error) {
        if (error instanceof SyncFolderError) throw new CliError(EXIT.failed, error.code, error.message);
        throw error;
      }
    },
    syncFolder(dir, folderOptions = {}) {
      const folder = this.folder(dir);
      if (folderOptions.create === true || isFolder(folder)) return folder;
      if (dir !== undefined) {
        throw new CliError(
          EXIT.usage,
          'no_such_folder',
          `The folder ${folder} does not exist. Check the path, or make it and sync it with: hyperclay-sync start --dir ${shellQuote(folder)} --create`,
        );
      }
      if (settings.getFolder() === null) return folder;
      throw new CliError(
        EXIT.failed,
        'folder_missing',
        `The sync folder ${folder} is not there (moved, renamed, or on a disk that is not mounted?). Put it back, choose another with --dir, or make it again empty with: hyperclay-sync start --create`,
      );
    },
    rememberFolder(folder) {
      if (settings.getFolder() !== folder) settings.setFolder(folder);
    },
    async close() {
      for (const client of clients) client.close();
      await logger.close();
    },
  };
}
