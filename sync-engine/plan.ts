// The pure sync planner: local items, remote states and the last-agreed state in, actions out (SPEC.md "Reconcile").

import {
  caseFoldKey,
  checkPath,
  checkSitePath,
  type Entry,
  folderOf,
  isSiteFile,
  MAX_FILE_BYTES,
  nfc,
  platformSitePath,
  siteNameOf,
} from '../protocol/index.js';
import {
  type Action,
  type EntryKey,
  folderKey,
  type LocalItem,
  type RemoteState,
  type StateRecord,
  siteKey,
  uploadKey,
} from './model.js';

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

/** The key of a platform entry: sites by name, uploads and folders by path. */
export function entryKeyOf(entry: Pick<Entry, 'kind' | 'name' | 'path'>): EntryKey {
  if (entry.kind === 'site') return siteKey(entry.name ?? siteNameOf(entry.path));
  return entry.kind === 'folder' ? folderKey(nfc(entry.path)) : uploadKey(nfc(entry.path));
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

/** The key of something found on disk (the scanner classifies `*.html` as sites, folders as folders). */
export function localKeyOf(kind: LocalItem['kind'], localPath: string): EntryKey {
  if (kind === 'site') return siteKey(siteNameOf(localPath));
  return kind === 'folder' ? folderKey(nfc(localPath)) : uploadKey(nfc(localPath));
}

/**
 * The platform's entry as last agreed, for actions that need an entry when the platform said nothing new
 * (a poll or a watcher event): the executor records from it exactly as from a fresh one.
 */
export function agreedEntry(state: StateRecord): Entry {
  const entry: Entry = { kind: state.kind, path: state.platformPath, updatedAt: state.updatedAt ?? '', seq: 0 };
  if (state.name !== undefined) entry.name = state.name;
  if (state.kind !== 'folder') {
    if (state.size !== undefined) entry.size = state.size;
    if (state.sha256 !== undefined) entry.sha256 = state.sha256;
    if (state.version !== undefined) entry.version = state.version;
  }
  return entry;
}

/** How the platform's side looks for one entry once absence has been interpreted. */
type RemoteView =
  | { is: 'none' }
  | { is: 'entry'; entry: Entry }
  /** A poll or watcher event that did not mention an agreed entry: it is as agreed. */
  | { is: 'asAgreed' }
  | { is: 'tombstone' };

type LocalVsState = 'none' | 'new' | 'same' | 'changed' | 'deleted';
type RemoteVsState = 'none' | 'new' | 'same' | 'changed' | 'tombstone';

interface Slot {
  locals: LocalItem[];
  remotes: Array<{ key: EntryKey; remote: RemoteState }>;
  states: readonly StateRecord[];
}

interface Context {
  complete: boolean;
  allowDeletes: boolean;
  fold: (path: string) => string;
  /** Paths on disk, for the file-over-folder rule. */
  localFiles: Set<string>;
  localFolders: Set<string>;
  /** Everything the platform said, by slot (also outside the reconciled slots). */
  remoteBySlot: Map<string, Array<{ key: EntryKey; remote: RemoteState }>>;
  statesIn: (slot: string) => readonly StateRecord[];
  out: Action[];
  again: EntryKey[];
  seen: Map<EntryKey, RemoteState>;
}

/**
 * The slot an entry key falls in: one entry on this disk. Keys are compared in NFC, and case-folded when the
 * disk folds case (`upload:A.png` and `upload:a.png` are then one local file).
 */
export function slotOf(key: EntryKey, caseInsensitive: boolean): string {
  return caseInsensitive ? caseFoldKey(key) : nfc(key);
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

/**
 * Whether the platform holds a file (or a folder) at `path`, as far as this plan knows: what it said now,
 * else what was agreed (unless a complete listing left it out).
 */
function platformHas(kind: 'file' | 'folder', path: string, ctx: Context): boolean {
  const at = ctx.fold(path);
  const slots =
    kind === 'folder'
      ? [ctx.fold(folderKey(path))]
      : [ctx.fold(uploadKey(path)), ...(isSiteFile(path) ? [ctx.fold(siteKey(siteNameOf(path)))] : [])];
  for (const id of slots) {
    const said = ctx.remoteBySlot.get(id) ?? [];
    for (const { remote } of said) {
      if (remote && !isGone(remote) && ctx.fold((remote as { entry: Entry }).entry.path) === at) return true;
    }
    for (const record of ctx.statesIn(id)) {
      if (record.held || ctx.fold(record.platformPath) !== at) continue;
      const now = said.find((r) => r.key === record.key);
      // Said again now: a live entry was checked above (at its current path), a tombstone means gone.
      if (now ? now.remote !== undefined : ctx.complete) continue;
      return true;
    }
  }
  return false;
}

function reconcileSlot(slot: Slot, ctx: Context): void {
  // One agreed record per slot; a stray second one (a case variant) stays as it is.
  const state = [...slot.states].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))[0];
  const { key, remote, successor } = chooseRemote(slot, state, ctx);
  const local = chooseLocal(slot, state, remote, ctx);
  if (!key) return;
  const before = ctx.out.length;
  reconcileChosen(key, local, remote, state, successor, ctx);
  const acted = ctx.out.slice(before);
  if (acted.length > 0) {
    ctx.seen.set(
      key,
      remote.is === 'entry' ? { entry: remote.entry } : remote.is === 'tombstone' ? { tombstone: true } : undefined,
    );
    if (successor) ctx.seen.set(successor.key, { entry: successor.entry });
  }
  const removed = acted.some((a) => a.type === 'removeLocal' || a.type === 'removeLocalFolder');
  const twins = slot.locals.some((item) => item !== local && refusal(item) === null);
  if (removed && twins) ctx.again.push(key);
}

function reconcileChosen(
  key: EntryKey,
  local: LocalItem | undefined,
  remote: RemoteView,
  state: StateRecord | undefined,
  successor: { key: EntryKey; entry: Entry } | undefined,
  ctx: Context,
): void {
  if (state && successor && state.kind === 'folder') {
    // The agreed spelling of a folder is gone, its case twin is the first now: the same folder on this disk.
    ctx.out.push({ type: 'forget', key, why: 'deleted on the platform; its case twin takes its place' });
    const why = 'the case twin of a folder deleted on the platform';
    ctx.out.push(
      local
        ? { type: 'record', key: successor.key, entry: successor.entry, local, why }
        : { type: 'makeLocalFolder', key: successor.key, entry: successor.entry, localPath: successor.entry.path, why },
    );
    return;
  }
  if (state && successor) {
    const l = compareLocal(local, state);
    if (l === 'same' || l === 'deleted') {
      // The agreed spelling is gone and its case twin is now the first: it replaces the local file (the
      // pull backs the old content up), neither platform entry overwriting the other.
      ctx.out.push({ type: 'forget', key, why: 'deleted on the platform; its case twin takes its place' });
      const why = 'the case twin of an entry deleted on the platform';
      ctx.out.push(
        local
          ? { type: 'pull', key: successor.key, entry: successor.entry, localPath: local.localPath, local, why }
          : { type: 'pull', key: successor.key, entry: successor.entry, localPath: successor.entry.path, why },
      );
      return;
    }
    ctx.out.push({
      type: 'skip',
      key: successor.key,
      localPath: successor.entry.path,
      entry: successor.entry,
      why: `case twin of ${key.slice(key.indexOf(':') + 1)}: this disk does not tell them apart, so it is not synced`,
    });
  }
  if ((state?.kind ?? remoteKind(remote) ?? local?.kind) === 'folder') {
    reconcileFolder(key, local, remote, state, ctx);
  } else {
    reconcileFile(key, local, remote, state, ctx);
  }
}

function remoteKind(view: RemoteView): Entry['kind'] | undefined {
  return view.is === 'entry' ? view.entry.kind : undefined;
}

const isGone = (remote: RemoteState): boolean =>
  remote !== undefined && ('tombstone' in remote || remote.entry.deleted === true);

/**
 * Picks the platform side for a slot: the agreed key's state, else the first upload by seq among case
 * twins (SPEC.md: the first is synced, the others logged and skipped, neither overwriting the other).
 * `successor` is the first live twin when the agreed spelling is gone from the platform.
 */
function chooseRemote(
  slot: Slot,
  state: StateRecord | undefined,
  ctx: Context,
): { key: EntryKey | undefined; remote: RemoteView; successor: { key: EntryKey; entry: Entry } | undefined } {
  const live = slot.remotes
    .filter((r): r is { key: EntryKey; remote: { entry: Entry } } => r.remote !== undefined && !isGone(r.remote))
    .sort((a, b) => a.remote.entry.seq - b.remote.entry.seq || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

  let key: EntryKey | undefined;
  let remote: RemoteView;
  if (state) {
    key = state.key;
    const own = slot.remotes.find((r) => r.key === state.key)?.remote;
    if (own !== undefined) {
      remote = isGone(own) ? { is: 'tombstone' } : { is: 'entry', entry: (own as { entry: Entry }).entry };
    } else if (ctx.complete || state.held) remote = { is: 'tombstone' };
    else remote = { is: 'asAgreed' };
  } else {
    const first = live[0];
    key = first?.key ?? slot.locals[0]?.key ?? slot.remotes[0]?.key;
    remote = first ? { is: 'entry', entry: first.remote.entry } : { is: 'none' };
  }

  const twins = live.filter((twin) => twin.key !== key);
  const first = twins[0];
  const successor =
    state && remote.is === 'tombstone' && first ? { key: first.key, entry: first.remote.entry } : undefined;
  for (const twin of twins) {
    if (twin === first && successor) continue;
    ctx.out.push({
      type: 'skip',
      key: twin.key,
      localPath: twin.remote.entry.path,
      entry: twin.remote.entry,
      why: `case twin of ${key?.slice(key.indexOf(':') + 1)}: this disk does not tell them apart, so it is not synced`,
    });
  }
  return { key, remote, successor };
}

/**
 * Picks the local file for a slot and skips the others: the one already in the state (by path, else by
 * content), else the one at the platform's path, else the oldest. Files breaking the naming rules are skipped.
 */
function chooseLocal(
  slot: Slot,
  state: StateRecord | undefined,
  remote: RemoteView,
  ctx: Context,
): LocalItem | undefined {
  const valid: LocalItem[] = [];
  for (const item of slot.locals) {
    const refused = refusal(item);
    if (refused) ctx.out.push({ type: 'skip', key: item.key, localPath: item.localPath, why: refused });
    else valid.push(item);
  }
  if (valid.length <= 1) return valid[0];

  const same = (a: string, b: string | undefined): boolean => b !== undefined && ctx.fold(a) === ctx.fold(b);
  const platformPath = remote.is === 'entry' ? remote.entry.path : state?.platformPath;
  const oldest = [...valid].sort(
    (a, b) =>
      (a.mtimeMs ?? Number.POSITIVE_INFINITY) - (b.mtimeMs ?? Number.POSITIVE_INFINITY) ||
      (a.localPath < b.localPath ? -1 : a.localPath > b.localPath ? 1 : 0),
  );
  const chosen =
    valid.find((item) => same(item.localPath, state?.localPath)) ??
    (state?.sha256 !== undefined ? oldest.find((item) => item.sha256 === state.sha256) : undefined) ??
    valid.find((item) => same(item.localPath, platformPath)) ??
    oldest[0]!;
  for (const item of valid) {
    if (item === chosen) continue;
    ctx.out.push({
      type: 'skip',
      key: item.key,
      localPath: item.localPath,
      why:
        item.kind === 'site'
          ? `another file is already the site "${item.key.slice('site:'.length)}": ${chosen.localPath}`
          : `another file has the same path on this disk: ${chosen.localPath}`,
    });
  }
  return chosen;
}

/** Why a local item cannot be synced under PROTOCOL.md's name and path rules, or null. */
function refusal(item: LocalItem): string | null {
  if (item.kind === 'site') {
    const checked = checkSitePath(item.localPath);
    return checked.ok ? null : `not synced: ${checked.message}`;
  }
  const checked = checkPath(item.localPath, item.kind === 'folder' ? 'folder' : 'file');
  return checked.ok ? null : `not synced: ${checked.message}`;
}

function compareLocal(local: LocalItem | undefined, state: StateRecord | undefined): LocalVsState {
  if (!state) return local ? 'new' : 'none';
  if (!local) return 'deleted';
  return local.sha256 === state.sha256 ? 'same' : 'changed';
}

function compareRemote(remote: RemoteView, state: StateRecord | undefined): RemoteVsState {
  if (remote.is === 'none') return 'none';
  if (!state) return remote.is === 'entry' ? 'new' : 'none';
  if (remote.is === 'asAgreed') return 'same';
  if (remote.is === 'tombstone') return 'tombstone';
  return remote.entry.sha256 === state.sha256 ? 'same' : 'changed';
}

/** Where a file pushed from `localPath` lives on the platform (a new site goes to its local folder). */
function pushTarget(key: EntryKey, local: LocalItem, state: StateRecord | undefined, remote: RemoteView): string {
  if (remote.is === 'entry') return remote.entry.path;
  if (state && remote.is === 'asAgreed') return state.platformPath;
  if (local.kind === 'site') return platformSitePath(folderOf(nfc(local.localPath)), siteNameOf(local.localPath));
  return key.slice(key.indexOf(':') + 1);
}

function reconcileFile(
  key: EntryKey,
  local: LocalItem | undefined,
  remote: RemoteView,
  state: StateRecord | undefined,
  ctx: Context,
): void {
  const l = compareLocal(local, state);
  const r = compareRemote(remote, state);
  const entry = remote.is === 'entry' ? remote.entry : undefined;
  const out = ctx.out;
  const kind = (local?.kind ?? state?.kind ?? entry?.kind) === 'site' ? 'site' : 'upload';

  const push = (baseVersion: number, why: string): void => {
    if (!local) return;
    // Only sending is limited: a big file that came down from the platform is still an ordinary entry.
    if ((local.size ?? 0) > MAX_FILE_BYTES) {
      const why = `too_large: the file is over ${MAX_FILE_BYTES / 1024 / 1024} MiB; not sent until it changes`;
      out.push({ type: 'skip', key, localPath: local.localPath, why });
      return;
    }
    const target = pushTarget(key, local, state, remote);
    if (platformHas('folder', target, ctx)) {
      out.push({
        type: 'skip',
        key,
        localPath: local.localPath,
        why: 'path_conflict: the platform has a folder there',
      });
      return;
    }
    out.push({ type: 'push', key, kind, localPath: local.localPath, baseVersion, why });
  };
  const pull = (into: Entry, localPath: string, why: string): void => {
    if (!local && ctx.localFolders.has(ctx.fold(localPath))) {
      out.push({ type: 'skip', key, localPath, why: 'path_conflict: there is a local folder there' });
      return;
    }
    out.push(
      local
        ? { type: 'pull', key, entry: into, localPath, local, why }
        : { type: 'pull', key, entry: into, localPath, why },
    );
  };
  const record = (why: string): void => {
    if (!local || !state) return;
    out.push({ type: 'record', key, entry: entry ?? agreedEntry(state), local, why });
  };

  switch (`${l}/${r}`) {
    case 'none/none':
    case 'none/tombstone':
      return;
    case 'none/new':
      if (entry) pull(entry, entry.path, 'new on the platform');
      return;
    case 'new/none':
      push(0, 'new locally');
      return;
    case 'new/new':
      if (entry && local?.sha256 === entry.sha256) {
        out.push({ type: 'record', key, entry, local: local!, why: 'the same content on both sides' });
      } else {
        // No common ancestor: last write wins on the platform, the loser is backed up on its side.
        push(0, 'changed on both sides (no agreed state): last write wins');
      }
      return;
    case 'same/same':
      if (needsRecord(local!, state!, entry)) record('unchanged content; the agreement moved');
      return;
    case 'changed/same':
      push(entry?.version ?? state?.version ?? 0, 'changed locally');
      return;
    case 'same/changed':
      pull(entry!, local!.localPath, 'changed on the platform');
      return;
    case 'changed/changed':
      if (local?.sha256 === entry?.sha256) record('the same change on both sides');
      else push(state?.version ?? 0, 'changed on both sides: last write wins');
      return;
    case 'deleted/same':
      if (!state?.localDeleted || state.held) {
        out.push({ type: 'rememberDelete', key, why: 'deleted locally; kept on the platform' });
      }
      return;
    case 'deleted/changed':
      pull(entry!, state!.localPath, 'deleted locally, then changed on the platform');
      return;
    case 'same/tombstone':
      if (state?.held && !ctx.allowDeletes) {
        // Still held; a local move of the held file only updates where it is.
        if (local!.localPath !== state.localPath) {
          out.push({ type: 'hold', key, localPath: local!.localPath, why: 'held by the delete brake; moved locally' });
        }
        return;
      }
      out.push({
        type: 'removeLocal',
        key,
        localPath: local!.localPath,
        local: local!,
        why: 'deleted on the platform',
      });
      return;
    case 'changed/tombstone':
      push(0, 'deleted on the platform, changed locally: the local edit survives as a new entry');
      return;
    case 'deleted/tombstone':
      out.push({ type: 'forget', key, why: 'deleted on both sides' });
      return;
  }
}

/** Same content on both sides, yet the state should move: a local move, a platform move, a new version. */
function needsRecord(local: LocalItem, state: StateRecord, entry: Entry | undefined): boolean {
  if (state.localDeleted || state.held) return true;
  if (local.localPath !== state.localPath) return true;
  if (local.mtimeMs !== undefined && local.mtimeMs !== state.mtimeMs) return true;
  if (entry && (entry.version !== state.version || entry.path !== state.platformPath)) return true;
  return false;
}

function reconcileFolder(
  key: EntryKey,
  local: LocalItem | undefined,
  remote: RemoteView,
  state: StateRecord | undefined,
  ctx: Context,
): void {
  const out = ctx.out;
  const entry = remote.is === 'entry' ? remote.entry : undefined;
  const removed = remote.is === 'tombstone' || (remote.is === 'none' && state !== undefined);

  if (!state) {
    if (local && entry) {
      out.push({ type: 'record', key, entry, local, why: 'the folder exists on both sides' });
    } else if (local) {
      if (platformHas('file', key.slice('folder:'.length), ctx)) {
        out.push({
          type: 'skip',
          key,
          localPath: local.localPath,
          why: 'path_conflict: the platform has a file there',
        });
      } else {
        out.push({ type: 'createFolder', key, localPath: local.localPath, why: 'new local folder' });
      }
    } else if (entry) {
      if (ctx.localFiles.has(ctx.fold(entry.path))) {
        out.push({ type: 'skip', key, localPath: entry.path, why: 'path_conflict: there is a local file there' });
      } else {
        out.push({ type: 'makeLocalFolder', key, entry, localPath: entry.path, why: 'new folder on the platform' });
      }
    }
    return;
  }

  if (local) {
    if (removed) {
      if (state.held && !ctx.allowDeletes) {
        if (local.localPath !== state.localPath) {
          out.push({ type: 'hold', key, localPath: local.localPath, why: 'held by the delete brake; moved locally' });
        }
        return;
      }
      out.push({ type: 'removeLocalFolder', key, localPath: local.localPath, why: 'deleted on the platform' });
    } else if (state.localDeleted || state.held || local.localPath !== state.localPath) {
      out.push({ type: 'record', key, entry: entry ?? agreedEntry(state), local, why: 'the folder is back locally' });
    }
    return;
  }
  if (removed) out.push({ type: 'forget', key, why: 'deleted on both sides' });
  else if (!state.localDeleted || state.held) {
    out.push({ type: 'rememberDelete', key, why: 'deleted locally; kept on the platform' });
  }
}
