// The reconcile of a few entries (a watcher event, a poll's page, a retry): their files as the disk holds them now
// and everything known of the platform into the planner, its actions to the executor.

import type { EngineCore } from './engine-core.js';
import type { Executor } from './executor.js';
import { type EntryKey, keyName, type LocalItem, type RemoteState } from './model.js';
import { type PlanResult, plan } from './plan.js';
import { statItem } from './scan.js';
import { MIN_GROUP } from './transfer-groups.js';
import { TransferQueue } from './transfers.js';

/** Reconciles hash files and plan; they run beside the transfers, a few at a time. */
const RECONCILE_POOL = 8;

export interface ReconcilerParts {
  executor: Executor;
  /** Whether `sync --allow-deletes` is in force. */
  allowDeletes: () => boolean;
}

export class Reconciler {
  readonly #c: EngineCore;
  readonly #p: ReconcilerParts;
  /**
   * A pool of their own: a reconcile waits for the transfers it plans, so sharing the transfer pool let four
   * simultaneous events take every slot and wait forever for their transfers.
   */
  readonly #pool = new TransferQueue(RECONCILE_POOL);

  constructor(core: EngineCore, parts: ReconcilerParts) {
    this.#c = core;
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
    if (this.#c.store === null) return Promise.resolve();
    const done = this.#pool.run(key, this.#job([key]));
    this.#p.executor.updatePending();
    return done.finally(() => this.#p.executor.updatePending());
  }

  /**
   * Reconciles many entries in one plan (a burst of local changes), so that their transfers can go in batches; an
   * entry already being reconciled is done again after that, alone. A few go one by one.
   */
  reconcileKeys(keys: EntryKey[]): Promise<void> {
    if (this.#c.store === null) return Promise.resolve();
    if (keys.length < MIN_GROUP) return Promise.all(keys.map((key) => this.reconcileKey(key))).then(() => undefined);
    const entries = keys.map((key) => ({ key, job: this.#job([key]) }));
    const done = this.#pool.runGroup(entries, (free) => this.#job(free)());
    this.#p.executor.updatePending();
    return done.finally(() => this.#p.executor.updatePending());
  }

  #job(keys: EntryKey[]): () => Promise<void> {
    return async () => {
      try {
        await this.#p.executor.execute(await this.planKeys(keys, new Map()));
      } catch (error) {
        for (const key of keys) this.#c.memory.failed.add(key);
        const what = keys.length === 1 ? keyName(keys[0]!) : `of ${keys.length} entries`;
        this.#c.log('error', `reconcile ${what} failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    };
  }

  /** Plans the given keys (and every failed one) with what is on disk now and everything known of the platform. */
  async planKeys(keys: EntryKey[], remote: Map<EntryKey, RemoteState>): Promise<PlanResult> {
    const { memory } = this.#c;
    const scope = new Set([...keys, ...memory.failed]);
    for (const key of scope) {
      const known = memory.knownRemote(key);
      if (known && !remote.has(key)) remote.set(key, known);
    }
    const local = await this.#freshLocal(scope);
    const s = this.#c.state();
    return plan({
      local,
      remote,
      // A scoped plan only looks records up by key (on a case-sensitive disk): no copy of the whole state per event.
      state: { get: (key) => s.get(key), keys: () => s.all().keys(), values: () => s.all().values() },
      options: {
        scope,
        failedKeys: memory.failed,
        caseInsensitive: this.#c.index.caseInsensitive,
        allowDeletes: this.#p.allowDeletes(),
        localFileCount: this.#c.index.fileCount(),
      },
    });
  }

  /** Fresh local items (re-stat and re-hash) for the given keys, from the index and the agreed local paths. */
  async #freshLocal(keys: Iterable<EntryKey>): Promise<LocalItem[]> {
    const { index } = this.#c;
    const paths = new Set<string>();
    for (const key of keys) {
      for (const p of index.pathsOf(key)) paths.add(p);
      const agreed = this.#c.store?.get(key)?.localPath;
      if (agreed) paths.add(agreed);
    }
    const items: LocalItem[] = [];
    for (const localPath of paths) {
      const result = await statItem(this.#c.folder, localPath, this.#c.rules);
      if (result.status === 'item') {
        index.add(result.item);
        items.push(result.item);
      } else {
        index.remove(localPath);
        if (result.status === 'skipped') this.#c.memory.skipOnce(localPath, result.skipped.message);
      }
    }
    return items;
  }
}
