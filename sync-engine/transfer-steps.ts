// A push and a pull in two halves each (prepare: read and hash the file, or choose the temp file; complete: record
// the entry, install, back up), shared by single transfers and batches, with the one handling of each outcome.

import { createHash } from 'node:crypto';
import { lstat, utimes } from 'node:fs/promises';
import { type Entry, MAX_FILE_BYTES, siteNameOf } from '../protocol/index.js';
import { installFile } from './backup.js';
import type { DownloadExpectation, FileHeaders } from './download.js';
import type { ApiClient, PutFileResult } from './endpoints.js';
import type { EngineCore } from './engine-core.js';
import { ConflictError } from './errors.js';
import { classify } from './failures.js';
import { makeParentsInside, readStable, resolveInside, tempPathFor } from './fsutil.js';
import { formatBytes } from './log.js';
import { type Action, type EntryKey, keyName, type LocalItem, recordOf } from './model.js';
import type { StatusModel } from './status.js';

export type Push = Extract<Action, { type: 'push' }>;
export type Pull = Extract<Action, { type: 'pull' }>;

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

/** Where an action happens, as a path in the folder (the entry's name when it has no local path). */
export function pathOf(action: Action): string {
  return 'localPath' in action ? action.localPath : keyName(action.key);
}

export const outcomeOf = (
  action: Action,
  result: ActionOutcome['result'],
  bytes = 0,
  detail?: string,
  path = pathOf(action),
): ActionOutcome => ({ result, action: action.type, path, bytes, ...(detail === undefined ? {} : { detail }) });

/** A push whose file is read and hashed, ready to send (alone or in a batch). */
export interface PreparedPush {
  action: Push;
  read: { content: Buffer; size: number; mtimeMs: number };
  sha256: string;
  baseVersion: number;
  /** The site name or upload path on the wire. */
  fileKey: string;
}

/** A pull whose temp file is chosen (next to its target, inside the folder), ready to download (alone or fetched). */
export interface PreparedPull {
  key: EntryKey;
  entry: Entry & { kind: 'site' | 'upload'; sha256: string };
  localPath: string;
  compared: LocalItem | undefined;
  temp: string;
  fileKey: string;
  expect: DownloadExpectation;
}

export interface StepParts {
  api: ApiClient;
  now: () => Date;
  status: StatusModel;
  again: (key: EntryKey) => void;
}

export class TransferSteps {
  readonly #c: EngineCore;
  readonly #p: StepParts;

  constructor(core: EngineCore, parts: StepParts) {
    this.#c = core;
    this.#p = parts;
  }

  /** A push alone: prepare, one PUT, complete (or the refusal's handling). */
  async push(action: Push): Promise<ActionOutcome | null> {
    const prepared = await this.preparePush(action);
    if ('outcome' in prepared) return prepared.outcome;
    return this.sendPush(prepared.ready);
  }

  /** Reads and hashes the file; an outcome when there is nothing to send (gone, too large, unchanged, refused). */
  async preparePush(action: Push): Promise<{ outcome: ActionOutcome | null } | { ready: PreparedPush }> {
    const { memory } = this.#c;
    const s = this.#c.state();
    const read = await readStable(await resolveInside(this.#c.folder, action.localPath), MAX_FILE_BYTES);
    if (!read) return { outcome: null }; // gone meanwhile: its removal is a watcher event of its own
    if (read.size > MAX_FILE_BYTES) {
      const why = `it is larger than 20 MiB (${formatBytes(read.size)}); skipped until it changes`;
      memory.skipOnce(action.localPath, why);
      return { outcome: outcomeOf(action, 'skipped', 0, why) };
    }
    const sha256 = createHash('sha256').update(read.content).digest('hex');
    const record = s.get(action.key);
    if (record && record.sha256 === sha256 && !record.localDeleted && !this.#sendsAnew(action)) {
      // Nothing new (also the echo of a file this engine just wrote); follow a local move.
      if (record.localPath !== action.localPath || record.mtimeMs !== read.mtimeMs) {
        s.put({ ...record, localPath: action.localPath, mtimeMs: read.mtimeMs, held: false });
      }
      return { outcome: null };
    }
    if (memory.isRefused(action.key, sha256)) {
      const why = 'the platform refused this content before; skipped until it changes';
      return { outcome: outcomeOf(action, 'skipped', 0, why) };
    }
    const baseVersion = action.baseVersion === 0 ? 0 : (record?.version ?? 0);
    const fileKey = action.kind === 'site' ? siteNameOf(action.localPath) : keyName(action.key);
    return { ready: { action, read, sha256, baseVersion, fileKey } };
  }

  /**
   * A push planned as new while the platform deleted the entry: the local edit survives as a new entry even when the
   * agreed record holds its content. A push planned as new before a transfer of the same content was recorded (a
   * burst seen while a batch was under way) has nothing to send.
   */
  #sendsAnew(action: Push): boolean {
    if (action.baseVersion !== 0) return false;
    const known = this.#c.memory.knownRemote(action.key);
    return known !== undefined && 'tombstone' in known;
  }

  /** The PUT's fields of a prepared push (the same for a single PUT and a batch item). */
  writeOf(p: PreparedPush) {
    return {
      sha256: p.sha256,
      baseVersion: p.baseVersion,
      modifiedAtIso: new Date(this.#p.api.toServerTime(p.read.mtimeMs)).toISOString(),
      localPath: p.action.localPath,
    };
  }

  async sendPush(p: PreparedPush): Promise<ActionOutcome | null> {
    const started = Date.now();
    try {
      const result = await this.#p.api.putFile(p.action.kind, p.fileKey, {
        content: p.read.content,
        ...this.writeOf(p),
      });
      return this.completePush(p, result, started);
    } catch (error) {
      return this.pushRefused(p, error);
    }
  }

  /** The platform took the push (saved, created, or already there): record it. */
  completePush(p: PreparedPush, result: PutFileResult, started: number): ActionOutcome {
    const { action, read } = p;
    const { status } = this.#p;
    this.#c.state().put(recordOf(action.key, result.entry, { localPath: action.localPath, mtimeMs: read.mtimeMs }));
    this.#c.memory.accepted(action.key);
    status.fileFine(action.localPath);
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
    return outcomeOf(action, 'pushed', read.size, result.status === 'unchanged' ? 'already there' : undefined);
  }

  /** The platform refused the push: a lost conflict pulls the winner, a final refusal skips; anything else throws. */
  async pushRefused(p: PreparedPush, error: unknown): Promise<ActionOutcome | null> {
    const { action, read, sha256 } = p;
    const { memory } = this.#c;
    if (error instanceof ConflictError) {
      const pulled = await this.#lostConflict(action, read, sha256, error.current);
      const why = "the platform's newer version won; yours is kept in sites-versions";
      return outcomeOf(action, 'conflict', pulled?.bytes ?? 0, why);
    }
    const failure = classify(error);
    if (failure.kind !== 'skip') throw error;
    memory.refuse(action.key, sha256, failure.notice !== undefined);
    if (failure.notice) this.#p.status.limitReached(failure.notice);
    const why = `${failure.message} (${failure.code}); skipped until it changes`;
    memory.skipOnce(action.localPath, why);
    return outcomeOf(action, 'skipped', 0, why);
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
    return this.pull(action.key, current, action.localPath, local);
  }

  /** A pull alone: prepare, one GET into the temp file, complete. */
  async pull(
    key: EntryKey,
    entry: Entry,
    localPath: string,
    compared: LocalItem | undefined,
  ): Promise<ActionOutcome | null> {
    const p = await this.preparePull(key, entry, localPath, compared);
    if (p === null) return null;
    const started = Date.now();
    const headers = await this.#p.api.download(p.entry.kind, p.fileKey, p.temp, p.expect);
    return this.completePull(p, headers, started);
  }

  /** The temp file next to the target, inside the folder (its parents made); null for what has no content. */
  async preparePull(
    key: EntryKey,
    entry: Entry,
    localPath: string,
    compared: LocalItem | undefined,
  ): Promise<PreparedPull | null> {
    const { folder } = this.#c;
    if (entry.kind === 'folder' || entry.sha256 === undefined) return null;
    await makeParentsInside(folder, localPath);
    // The parent may have been created just now: check again that nothing symlinked got in between.
    const abs = await resolveInside(folder, localPath);
    const fileKey = entry.kind === 'site' ? (entry.name ?? siteNameOf(entry.path)) : entry.path;
    const expect: DownloadExpectation = { sha256: entry.sha256 };
    if (entry.size !== undefined) expect.size = entry.size;
    if (entry.version !== undefined) expect.version = entry.version;
    const file = { ...entry, kind: entry.kind, sha256: entry.sha256 };
    return { key, entry: file, localPath, compared, temp: tempPathFor(abs), fileKey, expect };
  }

  /** The downloaded, checked temp file: its mtime set, the target backed up, the file installed and recorded. */
  async completePull(p: PreparedPull, headers: FileHeaders, started: number): Promise<ActionOutcome | null> {
    const { api } = this.#p;
    const { key, entry, localPath, compared, temp } = p;
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
    const installed = await installFile(this.#c.folder, localPath, temp, comparedStat, this.#p.now());
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
    const oldCopy =
      installed.status === 'installed' && installed.backup ? `old copy: ${installed.backup.path}` : undefined;
    const took = `${formatBytes(headers.size)} ${Date.now() - started} ms`;
    this.#c.log('info', `pull ${localPath} v${headers.version} ${took}${oldCopy ? ` (${oldCopy})` : ''}`);
    if (installed.status === 'restored') {
      this.#c.log('info', `pull ${localPath}: a save landed during the install; it is kept and sent`);
      this.#p.again(key);
    }
    return {
      result: 'pulled',
      action: 'pull',
      path: localPath,
      bytes: headers.size,
      ...(oldCopy ? { detail: oldCopy } : {}),
    };
  }
}
