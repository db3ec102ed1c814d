// The reconcile of a few entries (a watcher event, a poll's page, a retry): their files as the disk holds them now
// and everything known of the platform into the planner, its actions to the executor.

import type { EngineLog } from './api.js';
import type { EntryMemory } from './entry-memory.js';
import type { Executor } from './executor.js';
import type { FolderRules } from './folder-rules.js';
import { type EntryKey, keyName, type LocalItem, type RemoteState } from './model.js';
import type { LocalIndex } from './path-index.js';
import { type PlanResult, plan } from './plan.js';
import { statItem } from './scan.js';
import type { StateStore } from './state-store.js';
import { TransferQueue } from './transfers.js';

/** Reconciles hash files and plan; they run beside the transfers, a few at a time. */
const RECONCILE_POOL = 8;

export interface ReconcilerParts {
  folder: string;
  log: EngineLog;
  index: LocalIndex;
  memory: EntryMemory;
  executor: Executor;
  state: () => StateStore | null;
  rules: () => FolderRules;
  /** Whether `sync --allow-deletes` is in force. */
  allowDeletes: () => boolean;
}

export class Reconciler {
  readonly #p: ReconcilerParts;
  /**
   * A pool of their own: a reconcile waits for the transfers it plans, so sharing the transfer pool let four
   * simultaneous events take every slot and wait forever for their transfers.
   */
  readonly #pool = new TransferQueue(RECONCILE_POOL);

  constructor(parts: ReconcilerParts) {
    this.#p = parts;
  }

  get pending(): number {
    return this.#pool.pending;
  }

  idle(): Promise<void> {
    return this.#pool.idle();
  }

  /** Reconciles one entry with the disk now and what is known of the platform (one job per entry). */
  reconcileKey(key: EntryKey): Promise<void> {
    if (this.#p.state() === null) return Promise.resolve();
    const done = this.#pool.run(key, async () => {
      try {
        await this.#p.executor.execute(await this.planKeys([key], new Map()));
      } catch (error) {
        this.#p.memory.failed.add(key);
        this.#p.log(
          'error',
          `reconcile ${keyName(key)} failed: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    });
    this.#p.executor.updatePending();
    return done.finally(() => this.#p.executor.updatePending());
  }

  /** Plans the given keys (and every failed one) with what is on disk now and everything known of the platform. */
  async planKeys(keys: EntryKey[], remote: Map<EntryKey, RemoteState>): Promise<PlanResult> {
    const { memory } = this.#p;
    const scope = new Set([...keys, ...memory.failed]);
    for (const key of scope) {
      const known = memory.knownRemote(key);
      if (known && !remote.has(key)) remote.set(key, known);
    }
    const local = await this.#freshLocal(scope);
    const s = this.#state();
    return plan({
      local,
      remote,
      // A scoped plan only looks records up by key (on a case-sensitive disk): no copy of the whole state per event.
      state: { get: (key) => s.get(key), keys: () => s.all().keys(), values: () => s.all().values() },
      options: {
        scope,
        failedKeys: memory.failed,
        caseInsensitive: this.#p.index.caseInsensitive,
        allowDeletes: this.#p.allowDeletes(),
        localFileCount: this.#p.index.fileCount(),
      },
    });
  }

  #state(): StateStore {
    const s = this.#p.state();
    if (!s) throw new Error('the sync engine is not started');
    return s;
  }

  /** Fresh local items (re-stat and re-hash) for the given keys, from the index and the agreed local paths. */
  async #freshLocal(keys: Iterable<EntryKey>): Promise<LocalItem[]> {
    const { index } = this.#p;
    const paths = new Set<string>();
    for (const key of keys) {
      for (const p of index.pathsOf(key)) paths.add(p);
      const agreed = this.#p.state()?.get(key)?.localPath;
      if (agreed) paths.add(agreed);
    }
    const items: LocalItem[] = [];
    for (const localPath of paths) {
      const result = await statItem(this.#p.folder, localPath, this.#p.rules());
      if (result.status === 'item') {
        index.add(result.item);
        items.push(result.item);
      } else {
        index.remove(localPath);
        if (result.status === 'skipped') this.#p.memory.skipOnce(localPath, result.skipped.message);
      }
    }
    return items;
  }
}
