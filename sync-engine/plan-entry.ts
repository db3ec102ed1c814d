// The reconcile table of SPEC.md for one chosen entry: its local file or folder, its platform side and its agreed
// state in, the actions that make them agree out. Pure.

import { type Entry, folderOf, MAX_FILE_BYTES, nfc, platformSitePath, siteNameOf } from '../protocol/index.js';
import { type EntryKey, keyName, type LocalItem, type StateRecord } from './model.js';
import { agreedEntry, type Context, platformHas, type RemoteView } from './plan-context.js';

type LocalVsState = 'none' | 'new' | 'same' | 'changed' | 'deleted';
type RemoteVsState = 'none' | 'new' | 'same' | 'changed' | 'tombstone';

export function compareLocal(local: LocalItem | undefined, state: StateRecord | undefined): LocalVsState {
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
  return keyName(key);
}

export function reconcileFile(
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

export function reconcileFolder(
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
      if (platformHas('file', keyName(key), ctx)) {
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
