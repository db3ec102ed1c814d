// The executor: carries a plan's actions out, phase by phase and one transfer per entry at a time: pushes, pulls
// (download, check, back up, install), local removals into sites-versions, and the state records that follow.

import { createHash } from 'node:crypto';
import { lstat, rmdir, utimes } from 'node:fs/promises';
import { type Entry, MAX_FILE_BYTES, siteNameOf } from '../protocol/index.js';
import { installFile, moveToBackup } from './backup.js';
import type { ApiClient, PutFileResult } from './endpoints.js';
import type { EngineCore } from './engine-core.js';
import { ConflictError } from './errors.js';
import { classify } from './failures.js';
import { errnoOf, makeFoldersInside, makeParentsInside, readStable, resolveInside, tempPathFor } from './fsutil.js';
import { formatBytes } from './log.js';
import { type Action, type EntryKey, keyName, type LocalItem, recordOf } from './model.js';
import type { PlanResult } from './plan.js';
import { statItem } from './scan.js';
import { NOTICE_TEXT, type StatusModel } from './status.js';
import type { TransferQueue } from './transfers.js';

export interface ExecutorParts {
  api: ApiClient;
  now: () => Date;
  status: StatusModel;
  /** Transfers: one job per entry at a time, a few entries at once. */
  queue: TransferQueue;
  /** Reconcile `key` once more with the disk as it is now (a save landed meanwhile, a twin takes over). */
  again: (key: EntryKey) => void;
  /** An action failed: the engine's one reaction to the classified failure. */
  failed: (action: Action, error: unknown) => void;
}

type Push = Extract<Action, { type: 'push' }>;

/**
 * What became of one action (the CLI's `sync` counts and prints them, its progress line adds them up): a transfer
 * done, a local removal, a hold, a lost conflict (the platform's version pulled), or nothing synced (`failed`: tried
 * again later; `skipped`: not until it changes).
 */
export interface ActionOutcome {
  result: 'pushed' | 'pulled' | 'removed' | 'held' | 'conflict' | 'failed' | 'skipped';
  action: Action['type'];
  /** In the sync folder; a folder's ends in `/`. */
  path: string;
  /** Bytes sent or received. */
  bytes: number;
  /** Why it failed or was skipped, or where the replaced copy went. */
  detail?: string;
}

const outcomeOf = (
  action: Action,
  result: ActionOutcome['result'],
  bytes = 0,
  detail?: string,
  path = pathOf(action),
): ActionOutcome => ({ result, action: action.type, path, bytes, ...(detail === undefined ? {} : { detail }) });

export class Executor {
  readonly #c: EngineCore;
  readonly #p: ExecutorParts;

  constructor(core: EngineCore, parts: ExecutorParts) {
    this.#c = core;
    this.#p = parts;
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
    let phaseType: string | null = null;
    for (const action of result.actions) {
      const type = phaseOf(action);
      if (phaseType !== null && type !== phaseType) {
        if (phaseType !== 'transfer') await Promise.allSettled(phase);
        phase = [];
      }
      phaseType = type;
      phase.push(this.#run(action));
    }
    if (phaseType !== 'transfer') await Promise.allSettled(phase);
    for (const key of result.again) this.#p.again(key);
  }

  #run(action: Action): Promise<void> {
    const path = pathOf(action);
    const job = async (): Promise<void> => {
      this.#queued.delete(action.key);
      this.#inFlight.set(action.key, path);
      this.updatePending();
      try {
        this.#tell(await this.#perform(action));
      } catch (error) {
        this.#p.failed(action, error);
        this.#tell(failedOutcome(action, error));
      } finally {
        this.#inFlight.delete(action.key);
        this.updatePending();
      }
    };
    if (!this.#inFlight.has(action.key)) this.#queued.set(action.key, path);
    const done = this.#p.queue.run(action.key, job);
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
        outcome = await this.#push(action);
        break;
      case 'pull':
        outcome = await this.#pull(action.key, action.entry, action.localPath, action.local);
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
    memory.consumed(action.key, seen);
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

  async #push(action: Push): Promise<ActionOutcome | null> {
    const { memory } = this.#c;
    const s = this.#c.state();
    const read = await readStable(await resolveInside(this.#c.folder, action.localPath), MAX_FILE_BYTES);
    if (!read) return null; // gone meanwhile: its removal is a watcher event of its own
    if (read.size > MAX_FILE_BYTES) {
      const why = `it is larger than 20 MiB (${formatBytes(read.size)}); skipped until it changes`;
      memory.skipOnce(action.localPath, why);
      return outcomeOf(action, 'skipped', 0, why);
    }
    const sha256 = createHash('sha256').update(read.content).digest('hex');
    const record = s.get(action.key);
    if (record && record.sha256 === sha256 && !record.localDeleted && action.baseVersion !== 0) {
      // Nothing new (also the echo of a file this engine just wrote); follow a local move.
      if (record.localPath !== action.localPath || record.mtimeMs !== read.mtimeMs) {
        s.put({ ...record, localPath: action.localPath, mtimeMs: read.mtimeMs, held: false });
      }
      return null;
    }
    if (memory.isRefused(action.key, sha256)) {
      return outcomeOf(action, 'skipped', 0, 'the platform refused this content before; skipped until it changes');
    }
    try {
      const sent = await this.#send(action, read, sha256, action.baseVersion === 0 ? 0 : (record?.version ?? 0));
      return outcomeOf(action, 'pushed', read.size, sent === 'unchanged' ? 'already there' : undefined);
    } catch (error) {
      if (error instanceof ConflictError) {
        const pulled = await this.#lostConflict(action, read, sha256, error.current);
        return outcomeOf(
          action,
          'conflict',
          pulled?.bytes ?? 0,
          "the platform's newer version won; yours is kept in sites-versions",
        );
      }
      const failure = classify(error);
      if (failure.kind !== 'skip') throw error;
      memory.refuse(action.key, sha256, failure.notice !== undefined);
      if (failure.notice) this.#p.status.limitReached(failure.notice);
      const why = `${failure.message} (${failure.code}); skipped until it changes`;
      memory.skipOnce(action.localPath, why);
      return outcomeOf(action, 'skipped', 0, why);
    }
  }

  async #send(
    action: Push,
    read: { content: Buffer; size: number; mtimeMs: number },
    sha256: string,
    baseVersion: number,
  ): Promise<PutFileResult['status']> {
    const { api, status } = this.#p;
    const started = Date.now();
    const fileKey = action.kind === 'site' ? siteNameOf(action.localPath) : keyName(action.key);
    const result = await api.putFile(action.kind, fileKey, {
      content: read.content,
      sha256,
      baseVersion,
      modifiedAtIso: new Date(api.toServerTime(read.mtimeMs)).toISOString(),
      localPath: action.localPath,
    });
    this.#c.state().put(recordOf(action.key, result.entry, { localPath: action.localPath, mtimeMs: read.mtimeMs }));
    this.#c.memory.accepted(action.key);
    this.#p.status.fileFine(action.localPath);
    // Only a new site shows the plan has room for sites again; a new upload says nothing about that.
    if (action.kind === 'site' && result.status === 'created' && status.current.notice?.code === 'site_limit_reached') {
      status.noticeCleared();
      for (const key of this.#c.memory.releaseLimited()) this.#p.again(key);
    }
    const already = result.status === 'unchanged' ? ' (already there)' : '';
    this.#c.log(
      'info',
      `push ${action.localPath} v${result.entry.version} ${formatBytes(read.size)} ${Date.now() - started} ms${already}`,
    );
    return result.status;
  }

  /** Last write wins on the platform's clock and this write lost: final. Back up L, pull the winner, never resend. */
  async #lostConflict(
    action: Push,
    read: { size: number; mtimeMs: number },
    sha256: string,
    current: Entry,
  ): Promise<ActionOutcome | null> {
    this.#c.memory.refuse(action.key, sha256);
    this.#c.log(
      'info',
      `conflict ${action.localPath}: the platform's newer version wins; local copy kept in sites-versions`,
    );
    const local: LocalItem = {
      key: action.key,
      kind: action.kind,
      localPath: action.localPath,
      sha256,
      size: read.size,
      mtimeMs: read.mtimeMs,
    };
    return this.#pull(action.key, current, action.localPath, local);
  }

  async #pull(
    key: EntryKey,
    entry: Entry,
    localPath: string,
    compared: LocalItem | undefined,
  ): Promise<ActionOutcome | null> {
    const { api } = this.#p;
    const { folder } = this.#c;
    if (entry.kind === 'folder' || entry.sha256 === undefined) return null;
    await makeParentsInside(folder, localPath);
    // The parent may have been created just now: check again that nothing symlinked got in between.
    const abs = await resolveInside(folder, localPath);
    const temp = tempPathFor(abs);
    const started = Date.now();
    const fileKey = entry.kind === 'site' ? (entry.name ?? siteNameOf(entry.path)) : entry.path;
    const expect: { size?: number; sha256?: string; version?: number } = { sha256: entry.sha256 };
    if (entry.size !== undefined) expect.size = entry.size;
    if (entry.version !== undefined) expect.version = entry.version;
    const headers = await api.download(entry.kind, fileKey, temp, expect);
    // The platform's updatedAt in local time, so the next comparison sees the file as unchanged.
    const mtime = new Date(Date.parse(headers.updatedAt) - api.clockOffsetMs);
    await utimes(temp, mtime, mtime);
    // Recorded from the temp file (a rename keeps mtime and size): the installed file may be moved or edited by the
    // user the moment it lands, and a failed lstat then made the pull look failed and download it again.
    const installedInfo = await lstat(temp);
    const comparedStat =
      compared?.sha256 !== undefined && compared.size !== undefined && compared.mtimeMs !== undefined
        ? { sha256: compared.sha256, size: compared.size, mtimeMs: compared.mtimeMs }
        : null;
    const installed = await installFile(folder, localPath, temp, comparedStat, this.#p.now());
    if (installed.status === 'local_changed') {
      this.#c.log('info', `pull ${localPath} postponed: it changed on disk meanwhile`);
      this.#c.memory.failed.add(key);
      this.#p.again(key);
      return null;
    }
    const pulled: Entry = { ...entry, size: headers.size, sha256: headers.sha256, version: headers.version };
    pulled.updatedAt = headers.updatedAt;
    this.#c.state().put(recordOf(key, pulled, { localPath, mtimeMs: installedInfo.mtimeMs }));
    this.#c.index.add({ key, localPath });
    this.#p.status.fileFine(localPath);
    const backup = installed.status === 'installed' && installed.backup ? ` (old copy: ${installed.backup.path})` : '';
    const took = `${formatBytes(headers.size)} ${Date.now() - started} ms`;
    this.#c.log('info', `pull ${localPath} v${headers.version} ${took}${backup}`);
    if (installed.status === 'restored') {
      this.#c.log('info', `pull ${localPath}: a save landed during the install; it is kept and sent`);
      this.#p.again(key);
    }
    const oldCopy =
      installed.status === 'installed' && installed.backup ? `old copy: ${installed.backup.path}` : undefined;
    return {
      result: 'pulled',
      action: 'pull',
      path: localPath,
      bytes: headers.size,
      ...(oldCopy ? { detail: oldCopy } : {}),
    };
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

/** Where an action happens, as a path in the folder (the entry's name when it has no local path). */
export function pathOf(action: Action): string {
  return 'localPath' in action ? action.localPath : keyName(action.key);
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
