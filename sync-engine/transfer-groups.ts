// Many small transfers in few requests (PROTOCOL.md "Batches"): which of a plan's pushes and pulls go in groups, and
// a group's run: each file prepared as for a single transfer, one /sync/batch or /sync/fetch, each item completed.

import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { MAX_BATCHED_FILE_BYTES } from '../protocol/index.js';
import type { ApiClient } from './endpoints.js';
import type { EngineCore } from './engine-core.js';
import type { KnownRemote } from './entry-memory.js';
import { ApiError } from './errors.js';
import type { EntryKey } from './model.js';
import type { ActionOutcome, PreparedPull, PreparedPush, Pull, Push, TransferSteps } from './transfer-steps.js';

/** Fewer small transfers than this go alone: a batch only pays off for more than a few. */
export const MIN_GROUP = 4;
/** A group's bounds: small enough that a failed one costs little to send again, and that several run side by side. */
export const MAX_GROUP_ITEMS = 200;
export const MAX_GROUP_BYTES = 4 * 1024 * 1024;

export type Transfer = Push | Pull;
/** A prepared item whose outcome comes with its group's answer: settle takes nothing yet. */
export const PENDING: unique symbol = Symbol('pending');
export type Settled = ActionOutcome | null | typeof PENDING;
export type TransferGroup = { direction: 'push'; actions: Push[] } | { direction: 'pull'; actions: Pull[] };

/** What a group's run needs of the executor: the one way an action's outcome or failure is taken. */
export interface GroupParts {
  api: ApiClient;
  steps: TransferSteps;
  /** Runs `work` for `action` and takes its outcome or failure as any transfer's. */
  settle: (action: Transfer, seen: KnownRemote | undefined, work: () => Promise<Settled>) => Promise<void>;
  /** Runs `action` as a single transfer (after the group, when the group holds its entry). */
  alone: (action: Transfer) => void;
  /** Batches are used at all (the engine's option). */
  on: boolean;
}

/**
 * Splits transfers into groups of small files (when a direction has at least MIN_GROUP of them) and the rest, which
 * go alone. A push's size is the file's now (one that grows past the bound by the time it is read is sent alone).
 */
export async function groupTransfers(
  folder: string,
  actions: Transfer[],
): Promise<{ alone: Transfer[]; groups: TransferGroup[] }> {
  const pushes: Array<{ action: Push; size: number }> = [];
  const pulls: Array<{ action: Pull; size: number }> = [];
  const alone: Transfer[] = [];
  const keys = new Set<EntryKey>();
  for (const action of actions) {
    // One transfer per entry: a second action for an entry goes alone (the queue runs it after the first).
    const size = keys.has(action.key) ? null : await sizeOf(folder, action);
    keys.add(action.key);
    if (size === null || size > MAX_BATCHED_FILE_BYTES) alone.push(action);
    else if (action.type === 'push') pushes.push({ action, size });
    else pulls.push({ action, size });
  }
  const groups: TransferGroup[] = [];
  for (const actions of chunks(pushes, alone)) groups.push({ direction: 'push', actions });
  for (const actions of chunks(pulls, alone)) groups.push({ direction: 'pull', actions });
  return { alone, groups };
}

async function sizeOf(folder: string, action: Transfer): Promise<number | null> {
  if (action.type === 'pull') return action.entry.size ?? null;
  const info = await lstat(join(folder, action.localPath)).catch(() => null);
  return info?.isFile() ? info.size : null;
}

/** Even chunks within the bounds; too few to group go to `alone`. */
function chunks<T extends Transfer>(items: Array<{ action: T; size: number }>, alone: Transfer[]): T[][] {
  if (items.length < MIN_GROUP) {
    alone.push(...items.map((item) => item.action));
    return [];
  }
  const bytes = items.reduce((sum, item) => sum + item.size, 0);
  const count = Math.max(Math.ceil(items.length / MAX_GROUP_ITEMS), Math.ceil(bytes / MAX_GROUP_BYTES));
  const target = Math.ceil(bytes / count);
  const per = Math.ceil(items.length / count);
  const out: T[][] = [];
  let current: T[] = [];
  let held = 0;
  for (const { action, size } of items) {
    if (current.length > 0 && (current.length >= per || held + size > Math.max(target, MAX_GROUP_BYTES))) {
      out.push(current);
      current = [];
      held = 0;
    }
    current.push(action);
    held += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** A platform without the batch routes (an older one): 404 or 405 for the request as a whole. */
function unknownRoute(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 404 || error.status === 405);
}

export class GroupRunner {
  readonly #c: EngineCore;
  readonly #p: GroupParts;
  /** Batches are off, or the platform does not know their routes: single transfers for the rest of the process. */
  #off = false;

  constructor(core: EngineCore, parts: GroupParts) {
    this.#c = core;
    this.#p = parts;
    this.#off = !parts.on;
  }

  get off(): boolean {
    return this.#off;
  }

  /** Runs one group; every action ends settled (its outcome or failure taken), or handed back to run alone. */
  async run(group: TransferGroup): Promise<void> {
    if (this.#off) {
      for (const action of group.actions) this.#p.alone(action);
      return;
    }
    // What was known of each entry before its transfer: a poll may bring news while the request runs.
    const seen = new Map(group.actions.map((action) => [action.key, this.#c.memory.knownRemote(action.key)]));
    if (group.direction === 'push') await this.#push(group.actions, seen);
    else await this.#pull(group.actions, seen);
  }

  async #push(actions: Push[], seen: Map<EntryKey, KnownRemote | undefined>): Promise<void> {
    const { steps, api, settle } = this.#p;
    const ready: PreparedPush[] = [];
    for (const action of actions) {
      await settle(action, seen.get(action.key), async () => {
        const prepared = await steps.preparePush(action);
        if ('outcome' in prepared) return prepared.outcome;
        // Grown past the bound since it was sized: a big file goes alone, as it would have.
        if (prepared.ready.read.size > MAX_BATCHED_FILE_BYTES) return steps.sendPush(prepared.ready);
        ready.push(prepared.ready);
        return PENDING;
      });
    }
    if (ready.length === 0) return;
    const started = Date.now();
    const items = ready.map((p) => ({
      kind: p.action.kind,
      key: p.fileKey,
      size: p.read.size,
      read: () => Promise.resolve(p.read.content),
      ...steps.writeOf(p),
    }));
    const outcomes = await this.#whole(
      'batch',
      ready.map((p) => p.action),
      seen,
      () => api.putBatch(items),
    );
    if (outcomes === null) return;
    this.#c.log('info', `batch of ${ready.length} files sent in ${Date.now() - started} ms`);
    for (const [n, p] of ready.entries()) {
      const outcome = outcomes[n]!;
      await settle(p.action, seen.get(p.action.key), () =>
        outcome.ok
          ? Promise.resolve(steps.completePush(p, outcome.value, started))
          : steps.pushRefused(p, outcome.error),
      );
    }
  }

  async #pull(actions: Pull[], seen: Map<EntryKey, KnownRemote | undefined>): Promise<void> {
    const { steps, api, settle } = this.#p;
    const ready: Array<{ action: Pull; p: PreparedPull; size: number }> = [];
    for (const action of actions) {
      await settle(action, seen.get(action.key), async () => {
        const p = await steps.preparePull(action.key, action.entry, action.localPath, action.local);
        if (p === null) return null;
        const size = p.expect.size;
        // Grouped pulls have a listed size; without one it could not be asked for within the bounds.
        if (size === undefined) return steps.pull(action.key, action.entry, action.localPath, action.local);
        ready.push({ action, p, size });
        return PENDING;
      });
    }
    if (ready.length === 0) return;
    const started = Date.now();
    const items = ready.map(({ p, size }) => ({ kind: p.entry.kind, key: p.fileKey, expect: { ...p.expect, size } }));
    const temps = ready.map(({ p }) => p.temp);
    const fetched = ready.map(({ action }) => action);
    const outcomes = await this.#whole('fetch', fetched, seen, () => api.fetchFiles(items, temps));
    if (outcomes === null) return;
    this.#c.log('info', `fetch of ${ready.length} files received in ${Date.now() - started} ms`);
    for (const [n, { action, p }] of ready.entries()) {
      const outcome = outcomes[n]!;
      await settle(action, seen.get(action.key), () =>
        outcome.ok ? steps.completePull(p, outcome.value, started) : Promise.reject(outcome.error),
      );
    }
  }

  /**
   * The request of a whole group. Its failure is each item's (retried as any failed transfer, nothing recorded); a
   * platform that does not know the route turns groups off and sends the items alone.
   */
  async #whole<T>(
    route: 'batch' | 'fetch',
    actions: Transfer[],
    seen: Map<EntryKey, KnownRemote | undefined>,
    request: () => Promise<T>,
  ): Promise<T | null> {
    try {
      return await request();
    } catch (error) {
      if (unknownRoute(error)) {
        if (!this.#off) {
          this.#c.log('warn', `the platform does not know /sync/${route}: files are sent one by one from now on`);
        }
        this.#off = true;
        for (const action of actions) this.#p.alone(action);
        return null;
      }
      for (const action of actions) await this.#p.settle(action, seen.get(action.key), () => Promise.reject(error));
      return null;
    }
  }
}
