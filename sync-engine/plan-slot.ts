// One slot of a plan (the entries that are one file or folder on this disk): which platform entry and which local
// file stand for it (twins by name or by case are skipped, never overwriting each other), then the reconcile table.

import { checkPath, checkSitePath, type Entry } from '../protocol/index.js';
import { type EntryKey, keyName, type LocalItem, type StateRecord } from './model.js';
import { type Context, isGone, type RemoteView, type Slot } from './plan-context.js';
import { compareLocal, reconcileFile, reconcileFolder } from './plan-entry.js';

export function reconcileSlot(slot: Slot, ctx: Context): void {
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
      why: `case twin of ${keyName(key)}: this disk does not tell them apart, so it is not synced`,
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
      why: `case twin of ${key === undefined ? '' : keyName(key)}: this disk does not tell them apart, so it is not synced`,
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
  // The remembered spelling exactly first: an NFC and an NFD spelling fold to one path, yet only one is synced.
  const chosen =
    valid.find((item) => item.localPath === state?.localPath) ??
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
          ? `another file is already the site "${keyName(item.key)}": ${chosen.localPath}`
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
