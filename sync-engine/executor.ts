// The executor: carries a plan's actions out, phase by phase and one transfer per entry at a time: pushes, pulls
// (download, check, back up, install), local removals into sites-versions, and the state records that follow.

import { rmdir } from 'node:fs/promises';
import { moveToBackup } from './backup.js';
import type { ApiClient } from './endpoints.js';
import type { EngineCore } from './engine-core.js';
import { classify } from './failures.js';
import { errnoOf, makeFoldersInside, resolveInside } from './fsutil.js';
import { type Action, type EntryKey, keyName, recordOf } from './model.js';
import type { PlanResult } from './plan.js';
import { statItem } from './scan.js';
import { NOTICE_TEXT, type StatusModel } from './status.js';
import {
  GroupRunner,
  groupTransfers,
  MIN_GROUP,
  PENDING,
  type Settled,
  type Transfer,
  type TransferGroup,
} from './transfer-groups.js';
import { type ActionOutcome, outcomeOf, pathOf, TransferSteps } from './transfer-steps.js';
import type { TransferQueue } from './transfers.js';

export type { ActionOutcome } from './transfer-steps.js';
export { pathOf } from './transfer-steps.js';

export interface ExecutorParts {
  api: ApiClient;
  now: () => Date;
  status: StatusModel;
  /** Transfers: one job per entry at a time, a few entries at once. */
  queue: TransferQueue;
  /** Small transfers may go in batches (PROTOCOL.md "Batches"). */
  batches: boolean;
  /** Reconcile `key` once more with the disk as it is now (a save landed meanwhile, a twin takes over). */
  again: (key: EntryKey) => void;
  /** An action failed: the engine's one reaction to the classified failure. */
  failed: (action: Action, error: unknown) => void;
}

export class Executor {
  readonly #c: EngineCore;
  readonly #p: ExecutorParts;
  readonly #steps: TransferSteps;
  readonly #groups: GroupRunner;

  constructor(core: EngineCore, parts: ExecutorParts) {
    this.#c = core;
    this.#p = parts;
    this.#steps = new TransferSteps(core, parts);
    this.#groups = new GroupRunner(core, {
      api: parts.api,
      steps: this.#steps,
      // As #perform does for a single transfer: what was known when it started is consumed once it succeeds.
      settle: (action, seen, work) =>
        this.#settle(action, async () => {
          const outcome = await work();
          if (outcome !== PENDING)
            core.memory.consumed(action.key, seen, action.type === 'pull' ? action.entry : undefined);
          return outcome;
        }),
      alone: (action) => void this.#run(action),
      on: parts.batches,
    });
  }

  /** Transfers waiting for a slot and under way, by path (for the status). */
  readonly #queued = new Map<EntryKey, string>();
  readonly #inFlight = new Map<EntryKey, string>();
  readonly #watchers = new Set<(outcome: ActionOutcome) => void>();

  /** Calls `watcher` with what becomes of each action from now on; returns the unwatch. */
  watchOutcomes(watcher: (outcome: ActionOutcome) => void): () => void {
    this.#watchers.add(watcher);
    return () => this.#watchers.delete(watcher);
  }

  #tell(outcome: ActionOutcome | null): void {
    if (outcome !== null) for (const watcher of this.#watchers) watcher(outcome);
  }

  /** Publishes the transfers queued or running. */
  updatePending(): void {
    this.#p.status.transfersChanged(this.#queued.values(), this.#inFlight.values(), this.#p.queue.pending);
  }

  /**
   * Runs a plan's actions in the planner's phases, each phase's entries in parallel, one job per entry. Transfers
   * are started, not awaited: no transfer holds up the plan's other actions, a poll, or other entries (idle() waits
   * for them; a failed one is remembered and reconciled again).
   */
  async execute(result: PlanResult): Promise<void> {
    this.#c.memory.noteSeen(result.remoteSeen);
    if (result.brake) {
      this.#c.log(
        'error',
        `delete brake: the platform removed ${result.removals} of ${this.#c.index.fileCount()} local files; none removed (held)`,
      );
      this.#p.status.needsAttention({ code: 'delete_brake', text: NOTICE_TEXT.delete_brake });
    }
    let phase: Promise<void>[] = [];
    let transfers: Transfer[] = [];
    let phaseType: string | null = null;
    for (const action of result.actions) {
      const type = phaseOf(action);
      if (phaseType !== null && type !== phaseType) {
        if (phaseType === 'transfer') await this.#transfer(transfers);
        else await Promise.allSettled(phase);
        phase = [];
        transfers = [];
      }
      phaseType = type;
      if (action.type === 'push' || action.type === 'pull') transfers.push(action);
      else phase.push(this.#run(action));
    }
    if (phaseType === 'transfer') await this.#transfer(transfers);
    else await Promise.allSettled(phase);
    for (const key of result.again) this.#p.again(key);
  }

  /**
   * Starts a phase's transfers without waiting for them: small files in groups (one /sync/batch or /sync/fetch each)
   * when there are more than a few, the rest alone. A lone transfer (a save) starts at once, never held for a group.
   */
  async #transfer(actions: Transfer[]): Promise<void> {
    // Fewer than a group's minimum (a save is one) start at once, without even a look at their sizes.
    if (actions.length < MIN_GROUP || this.#groups.off) {
      for (const action of actions) void this.#run(action);
      return;
    }
    const { alone, groups } = await groupTransfers(this.#c.folder, actions);
    for (const action of alone) void this.#run(action);
    for (const group of groups) void this.#runGroup(group);
  }

  /** A group in one queue slot; its entries count as in flight until it ends (one request carries them all). */
  #runGroup(group: TransferGroup): Promise<void> {
    for (const action of group.actions)
      if (!this.#inFlight.has(action.key)) this.#queued.set(action.key, pathOf(action));
    const entries = group.actions.map((action) => ({ key: action.key, job: this.#job(action) }));
    const done = this.#p.queue.runGroup(entries, async (keys) => {
      const mine = new Set(keys);
      const actions = group.actions.filter((action) => mine.has(action.key));
      for (const action of actions) this.#starts(action);
      try {
        await this.#groups.run({ ...group, actions } as TransferGroup);
      } catch (error) {
        // Not a refusal or a failed request (those are each item's): a bug; every item is tried again later.
        for (const action of actions) this.#p.failed(action, error);
      } finally {
        for (const action of actions) this.#inFlight.delete(action.key);
        this.updatePending();
      }
    });
    this.updatePending();
    return done.finally(() => this.updatePending());
  }

  #starts(action: Action): void {
    this.#queued.delete(action.key);
    this.#inFlight.set(action.key, pathOf(action));
  }

  /** Runs `work` for `action` and takes its outcome, or its failure (the engine's one reaction), as every action's. */
  async #settle(action: Action, work: () => Promise<Settled>): Promise<void> {
    try {
      const outcome = await work();
      if (outcome === PENDING) return;
      this.#tell(outcome);
    } catch (error) {
      this.#p.failed(action, error);
      this.#tell(failedOutcome(action, error));
    }
    this.#p.queue.progressed();
  }

  /** One action's job: one queue slot, its outcome taken by #settle. */
  #job(action: Action): () => Promise<void> {
    return async () => {
      this.#starts(action);
      this.updatePending();
      try {
        await this.#settle(action, () => this.#perform(action));
      } finally {
        this.#inFlight.delete(action.key);
        this.updatePending();
      }
    };
  }

  #run(action: Action): Promise<void> {
    if (!this.#inFlight.has(action.key)) this.#queued.set(action.key, pathOf(action));
    const done = this.#p.queue.run(action.key, this.#job(action));
    this.updatePending();
    // The queue counts a job until it has fully ended: count again once it has.
    return done.finally(() => this.updatePending());
  }

  async #perform(action: Action): Promise<ActionOutcome | null> {
    const { memory } = this.#c;
    const seen = memory.knownRemote(action.key);
    const s = this.#c.state();
    let outcome: ActionOutcome | null = null;
    switch (action.type) {
      case 'push':
        outcome = await this.#steps.push(action);
        break;
      case 'pull':
        outcome = await this.#steps.pull(action.key, action.entry, action.localPath, action.local);
        break;
      case 'record':
        s.put(recordOf(action.key, action.entry, action.local));
        this.#p.status.fileFine(action.local.localPath);
        break;
      case 'createFolder':
        await this.#createFolder(action.key, action.localPath);
        outcome = outcomeOf(action, 'pushed', 0, undefined, `${action.localPath}/`);
        break;
      case 'makeLocalFolder':
        await makeFoldersInside(this.#c.folder, action.localPath);
        s.put({ key: action.key, kind: 'folder', localPath: action.localPath, platformPath: action.entry.path });
        outcome = outcomeOf(action, 'pulled', 0, undefined, `${action.localPath}/`);
        break;
      case 'rememberDelete':
        this.#rememberDelete(action.key);
        break;
      case 'removeLocal':
        outcome = await this.#removeLocal(action.key, action.localPath);
        break;
      case 'removeLocalFolder':
        outcome = await this.#removeLocalFolder(action.key, action.localPath);
        break;
      case 'forget':
        s.delete(action.key);
        break;
      case 'hold':
        this.#hold(action.key, action.localPath, action.why);
        outcome = outcomeOf(action, 'held', 0, action.why);
        break;
      case 'skip':
        memory.skipOnce(action.localPath, action.why);
        if (action.entry) memory.failed.add(action.key);
        return outcomeOf(action, 'skipped', 0, action.why);
    }
    memory.consumed(action.key, seen, action.type === 'pull' ? action.entry : undefined);
    return outcome;
  }

  async #createFolder(key: EntryKey, localPath: string): Promise<void> {
    const result = await this.#p.api.putFolder(keyName(key));
    this.#c.state().put({ key, kind: 'folder', localPath, platformPath: result.entry.path });
    if (result.status === 'created') this.#c.log('info', `folder ${localPath} created on the platform`);
  }

  #rememberDelete(key: EntryKey): void {
    const s = this.#c.state();
    const record = s.get(key);
    if (record) s.put({ ...record, localDeleted: true, held: false });
    this.#c.log('info', `deleted locally ${record?.localPath ?? keyName(key)}: kept on the platform`);
  }

  #hold(key: EntryKey, localPath: string, why: string): void {
    const s = this.#c.state();
    const record = s.get(key);
    if (record) s.put({ ...record, held: true, localDeleted: false, localPath });
    this.#c.log('warn', `held ${localPath}: ${why}`);
  }

  async #removeLocal(key: EntryKey, localPath: string): Promise<ActionOutcome | null> {
    const s = this.#c.state();
    const record = s.get(key);
    const current = await statItem(this.#c.folder, localPath, this.#c.rules);
    if (current.status !== 'item') {
      s.delete(key);
      return null;
    }
    if (record?.sha256 !== undefined && current.item.sha256 !== record.sha256) {
      // Edited since it was compared: the local edit survives (the next plan pushes it as new).
      this.#p.again(key);
      return null;
    }
    const backup = await moveToBackup(this.#c.folder, localPath, this.#p.now());
    this.#c.index.remove(localPath);
    s.delete(key);
    this.#c.log('info', `removed ${localPath}: deleted on the platform (kept in ${backup.path})`);
    return { result: 'removed', action: 'removeLocal', path: localPath, bytes: 0, detail: `kept in ${backup.path}` };
  }

  async #removeLocalFolder(key: EntryKey, localPath: string): Promise<ActionOutcome | null> {
    const s = this.#c.state();
    try {
      await rmdir(await resolveInside(this.#c.folder, localPath));
      this.#c.index.remove(localPath);
      this.#c.log('info', `removed empty folder ${localPath}: deleted on the platform`);
    } catch (error) {
      const code = errnoOf(error);
      if (code === 'ENOTEMPTY' || code === 'EEXIST') {
        // Sync never deletes a folder's contents: the folder stays, held, and is not tried again every session.
        const record = s.get(key);
        if (record) s.put({ ...record, held: true, localDeleted: false });
        this.#c.log('info', `kept folder ${localPath}: deleted on the platform, but it still holds files`);
        return null;
      }
      if (code !== 'ENOENT') throw error;
      s.delete(key);
      return null;
    }
    s.delete(key);
    return { result: 'removed', action: 'removeLocalFolder', path: `${localPath}/`, bytes: 0 };
  }
}

/** A failed action as an outcome: skipped when the platform refused it for good, failed when it is tried again. */
function failedOutcome(action: Action, error: unknown): ActionOutcome | null {
  const failure = classify(error);
  // Stopped mid-way (the sync is ending): nothing happened to report.
  if (failure.kind === 'stopped') return null;
  if (failure.kind === 'skip') return outcomeOf(action, 'skipped', 0, `${failure.message} (${failure.code})`);
  const message = failure.kind === 'retry' ? failure.message : error instanceof Error ? error.message : String(error);
  return outcomeOf(action, 'failed', 0, message.replace(/\.$/, ''));
}

function phaseOf(action: Action): string {
  switch (action.type) {
    case 'skip':
    case 'record':
    case 'rememberDelete':
    case 'forget':
      return 'state';
    case 'createFolder':
    case 'makeLocalFolder':
      return `folder:${action.localPath.split('/').length}`;
    case 'push':
    case 'pull':
      return 'transfer';
    case 'removeLocal':
      return 'remove';
    case 'removeLocalFolder':
      return `removeFolder:${action.localPath.split('/').length}`;
    case 'hold':
      return 'hold';
  }
}
