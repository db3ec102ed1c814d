// What every part of the engine shares: the sync folder and its rules, the log, the local path index, the entry
// memory, and the state store (open between start and stop). The engine sets rules and store; the parts read them.

import { EntryMemory } from './entry-memory.js';
import { createFolderRules, type FolderRules } from './folder-rules.js';
import type { EngineLog } from './log.js';
import { LocalIndex } from './path-index.js';
import type { StateStore } from './state-store.js';
import type { StatusModel } from './status.js';

export class EngineCore {
  readonly folder: string;
  readonly log: EngineLog;
  readonly index = new LocalIndex();
  readonly memory: EntryMemory;
  rules: FolderRules;
  /** Open between start (or a one-off sync) and stop. */
  store: StateStore | null = null;

  constructor(folder: string, log: EngineLog, status: StatusModel) {
    this.folder = folder;
    this.log = log;
    // Every file that does not sync is listed in the status with its reason, whether or not its line was logged.
    this.memory = new EntryMemory(log, (path, reason) => status.fileFailing(path, reason));
    this.rules = createFolderRules(folder);
  }

  /** The open state store; throws when the engine is not started. */
  state(): StateStore {
    if (!this.store) throw new Error('the sync engine is not started');
    return this.store;
  }
}
