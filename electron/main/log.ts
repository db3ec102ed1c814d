// The app's log file in app.getPath('logs'): the engine's one logger (rotating, no line lost), seen as an AppLog.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../../sync-engine/log.js';
import type { AppLog } from '../core/controller.js';

export const LOG_FILE_NAME = 'hyperclay-sync.log';

export interface AppLogFile {
  readonly path: string;
  log: AppLog;
  /** Resolves once every line is on disk (awaited on quit). */
  close(): Promise<void>;
}

export function openAppLog(logsDir: string): AppLogFile {
  mkdirSync(logsDir, { recursive: true });
  const logger = createLogger({ file: join(logsDir, LOG_FILE_NAME) });
  return {
    path: logger.file,
    log: (level, message) => logger[level](message),
    close: () => logger.close(),
  };
}
