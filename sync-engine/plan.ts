// The pure sync planner: local items, remote states and the last-agreed state in, actions out (SPEC.md "Reconcile").

import { caseFoldKey, type Entry, nfc } from '../protocol/index.js';
import { type Action, type EntryKey, entryKeyOf, type LocalItem, type RemoteState, type StateRecord } from './model.js';
import { type Context, type Slot, slotOf } from './plan-context.js';
import { reconcileSlot } from './plan-slot.js';

export { agreedEntry, slotOf } from './plan-context.js';

/** The delete brake of SPEC.md: hold every removal when a plan would remove more than both of these. */
export interface BrakeThresholds {
  /** Fraction of the local files (0.5: "more than 50%"). */
  ratio: number;
  /** Absolute count ("and more than 10"). */
  minimum: number;
}

export const DEFAULT_BRAKE: BrakeThresholds = { ratio: 0.5, minimum: 10 };

export interface PlanOptions {
  /**
   * The remote map is a session's complete listing: an agreed entry absent from it is a tombstone, and every
   * key found anywhere (local, remote, state) is reconciled. `scope` is then ignored.
   */
  complete?: boolean;
  /**
   * Polls and watcher events: only these keys are reconciled (plus `failedKeys`). A remote key that is not
   * in the remote map means "unchanged since agreed"; a scoped key with no local item means "not on disk".
   * Without `complete` and without `scope`, the keys of the local items and of the remote map are reconciled.
   */
  scope?: Iterable<EntryKey>;
  /** The sync folder's disk folds case: paths differing only in case are one local file. */
  caseInsensitive?: boolean;
  /** Entries whose last push or pull failed: reconciled again whatever the scope. */
  failedKeys?: Iterable<EntryKey>;
  /** `sync --allow-deletes`: no brake, and held removals are applied. */
  allowDeletes?: boolean;
  brake?: BrakeThresholds;
  /**
   * How many files the sync folder holds, for the brake. Defaults to the number of file items passed in,
   * which is right for a full scan; a scoped plan should pass the real figure.
   */
  localFileCount?: number;
}

export interface PlanInput {
  /**
   * What the disk holds for the reconciled keys. Several items may share a key (two files that are one
   * site by name, or case variants): pass them all, the planner chooses one and skips the others.
   */
  local: readonly LocalItem[];
  /** The platform's side, keyed by `entryKeyOf(entry)`: an entry, a tombstone, or absent. */
  remote: ReadonlyMap<EntryKey, RemoteState>;
  /**
   * What was last agreed, by key (a Map, or the state store itself). A scoped plan only calls `get` (and, on a
   * case-insensitive disk without `stateInSlot`, `values` once); a complete one iterates it.
   */
  state: Pick<ReadonlyMap<EntryKey, StateRecord>, 'get' | 'keys' | 'values'>;
  /**
   * Optional: the agreed records of one slot (`slotOf`), from an index the state store keeps. Only matters
   * on a case-insensitive disk, where a scoped plan without it indexes the whole state once (O(n)).
   */
  stateInSlot?: (slot: string) => readonly StateRecord[];
  options?: PlanOptions;
}

/**
 * What the executor does with the state after each action (the planner relies on it):
 * - push saved: put {key, kind, name, localPath: the file pushed, platformPath/version/updatedAt/sha256/size
 *   from the platform's answer, mtimeMs: the pushed file's}. `409 conflict`: back up L, install `current` at
 *   localPath, put the record from `current` (mtimeMs = the installed file's).
 * - pull / record: put the record from `entry` (platformPath = entry.path) with localPath and mtimeMs of the
 *   file now on disk (record: of `local`). Either clears `localDeleted` and `held`.
 * - rememberDelete: set `localDeleted` and clear `held` (a held entry only gets one once the platform has
 *   it again). hold: set `held`, clear `localDeleted`, and set `localPath` to the action's.
 * - removeLocal: after the move into sites-versions, delete the record. forget: delete the record.
 * - createFolder / makeLocalFolder: put a folder record. removeLocalFolder: delete the record if the folder
 *   was empty and removed; if it still holds something, keep it and treat it as `hold` (not tried again
 *   until either side changes).
 * - skip: log once per entry and rule. A skip with `entry` (a platform case twin) is carried to the next plans
 *   like a failed pull (see `remoteSeen`).
 * - A failed push or pull: keep the key in `failedKeys` and pass `remoteSeen.get(key)` in the next remote map.
 */
export interface PlanResult {
  /**
   * In an order that can be run phase by phase: skips and state-only actions, then folder creation
   * (parents first), then transfers, then removals (files before folders, deepest folders first), then holds.
   * Different entries are independent within a phase.
   */
  actions: Action[];
  /** The delete brake held this plan's removals (log it, show `delete_brake`). */
  brake: boolean;
  /** How many removals the brake turned into holds. */
  held: number;
  /** How many removals the plan wanted before the brake. */
  removals: number;
  /**
   * Keys to reconcile once more as soon as this plan is carried out (a scoped plan, like a watcher event):
   * a file that was skipped as another's twin takes over once that one is removed.
   */
  again: EntryKey[];
  /**
   * For every key this plan acted on, the platform's side as the planner understood it (a complete listing's
   * silence is a tombstone). When a transfer fails, pass this again with the key in `failedKeys`.
   */
  remoteSeen: Map<EntryKey, RemoteState>;
}

/**
 * The remote map for `plan` from a listing or change pages: keyed by `entryKeyOf`, tombstones as tombstones,
 * the latest state of each entry winning (pages come in seq order).
 */
export function remoteStatesOf(entries: Iterable<Entry>): Map<EntryKey, RemoteState> {
  const map = new Map<EntryKey, RemoteState>();
  for (const entry of entries) {
    const key = entryKeyOf(entry);
    const previous = map.get(key);
    if (previous && 'entry' in previous && previous.entry.seq > entry.seq) continue;
    map.set(key, entry.deleted ? { tombstone: true } : { entry });
  }
  return map;
}

const ORDER: Record<Action['type'], number> = {
  skip: 0,
  record: 1,
  rememberDelete: 1,
  forget: 1,
  createFolder: 2,
  makeLocalFolder: 2,
  push: 3,
  pull: 3,
  removeLocal: 4,
  removeLocalFolder: 5,
  hold: 6,
};

const depth = (path: string): number => path.split('/').length;

function actionPath(action: Action): string {
  if ('localPath' in action) return action.localPath;
  return '';
}

/** Plans one reconcile. Pure: the same input always gives the same actions. */
export function plan(input: PlanInput): PlanResult {
  const options = input.options ?? {};
  const complete = options.complete === true;
  const caseInsensitive = options.caseInsensitive === true;
  const fold = caseInsensitive ? caseFoldKey : nfc;
  const slot = (key: EntryKey): string => fold(key);

  const wanted = new Set<string>();
  if (complete) {
    for (const item of input.local) wanted.add(slot(item.key));
    for (const key of input.remote.keys()) wanted.add(slot(key));
    for (const key of input.state.keys()) wanted.add(slot(key));
  } else {
    const keys: Iterable<EntryKey> = options.scope ?? [...input.local.map((item) => item.key), ...input.remote.keys()];
    for (const key of keys) wanted.add(slot(key));
  }
  for (const key of options.failedKeys ?? []) wanted.add(slot(key));

  const ctx: Context = {
    complete,
    allowDeletes: options.allowDeletes === true,
    fold,
    localFiles: new Set(),
    localFolders: new Set(),
    remoteBySlot: new Map(),
    statesIn: stateLookup(input, caseInsensitive),
    out: [],
    again: [],
    seen: new Map(),
  };
  const slots = new Map<string, Slot>();
  const slotFor = (id: string): Slot => {
    let found = slots.get(id);
    if (!found) {
      found = { locals: [], remotes: [], states: ctx.statesIn(id) };
      slots.set(id, found);
    }
    return found;
  };
  for (const id of wanted) slotFor(id);
  for (const item of input.local) {
    (item.kind === 'folder' ? ctx.localFolders : ctx.localFiles).add(fold(item.localPath));
    slots.get(slot(item.key))?.locals.push(item);
  }
  for (const [key, remote] of input.remote) {
    const id = slot(key);
    const said = ctx.remoteBySlot.get(id) ?? [];
    said.push({ key, remote });
    ctx.remoteBySlot.set(id, said);
    slots.get(id)?.remotes.push({ key, remote });
  }
  for (const id of [...wanted].sort()) reconcileSlot(slots.get(id)!, ctx);

  // The delete brake: counted over file removals, applied to every removal of this plan.
  const removals = ctx.out.filter((action) => action.type === 'removeLocal').length;
  const localFiles = options.localFileCount ?? input.local.filter((item) => item.kind !== 'folder').length;
  const thresholds = options.brake ?? DEFAULT_BRAKE;
  const brake =
    !ctx.allowDeletes && removals > thresholds.minimum && removals > thresholds.ratio * Math.max(localFiles, 0);
  let held = 0;
  const actions = brake
    ? ctx.out.map((action): Action => {
        if (action.type !== 'removeLocal' && action.type !== 'removeLocalFolder') return action;
        held += 1;
        return {
          type: 'hold',
          key: action.key,
          localPath: action.localPath,
          why: `delete brake: this sync would remove ${removals} of ${localFiles} local files`,
        };
      })
    : ctx.out;

  actions.sort((a, b) => {
    const phase = ORDER[a.type] - ORDER[b.type];
    if (phase !== 0) return phase;
    if (a.type === 'createFolder' || a.type === 'makeLocalFolder') {
      return depth(actionPath(a)) - depth(actionPath(b));
    }
    if (a.type === 'removeLocalFolder') return depth(actionPath(b)) - depth(actionPath(a));
    return 0;
  });
  const again = brake ? [] : ctx.again;
  return { actions, brake, held, removals, again, remoteSeen: ctx.seen };
}

/** Agreed records by slot: a direct lookup when keys are compared exactly, else an index (given or built). */
function stateLookup(input: PlanInput, caseInsensitive: boolean): (slot: string) => readonly StateRecord[] {
  if (input.stateInSlot) return input.stateInSlot;
  if (!caseInsensitive) {
    return (id) => {
      const record = input.state.get(id);
      return record ? [record] : [];
    };
  }
  let index: Map<string, StateRecord[]> | undefined;
  return (id) => {
    if (!index) {
      index = new Map();
      for (const record of input.state.values()) {
        const key = slotOf(record.key, true);
        const list = index.get(key) ?? [];
        list.push(record);
        index.set(key, list);
      }
    }
    return index.get(id) ?? [];
  };
}
