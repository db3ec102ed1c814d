// What the engine remembers about entries between plans, in memory only: the ones whose last push or pull failed
// (reconciled again at every plan), the platform side seen but not yet applied, content refused for good, and
// which skip lines were already logged.

import type { EngineLog } from './log.js';
import type { EntryKey, RemoteState } from './model.js';

/** A remote side known but not yet applied for a key: every later reconcile of that key plans with it. */
export type KnownRemote = Exclude<RemoteState, undefined>;

export class EntryMemory {
  /** Entries whose last push or pull failed: every plan takes them in again, whatever its scope. */
  readonly failed = new Set<EntryKey>();
  readonly #known = new Map<EntryKey, KnownRemote>();
  /** Content refused by the platform for good (413, name_taken, invalid_*, 409 conflict): not sent again. */
  readonly #refused = new Map<EntryKey, string>();
  readonly #loggedSkips = new Set<string>();
  readonly #log: EngineLog;

  constructor(log: EngineLog) {
    this.#log = log;
  }

  /** The platform sides a plan acted on: kept until the action for them succeeds. */
  noteSeen(seen: ReadonlyMap<EntryKey, RemoteState>): void {
    for (const [key, remote] of seen) if (remote) this.#known.set(key, remote);
  }

  knownRemote(key: EntryKey): KnownRemote | undefined {
    return this.#known.get(key);
  }

  /** Platform deletes seen but not applied yet (a new listing no longer mentions them). */
  *knownTombstones(): Iterable<[EntryKey, KnownRemote]> {
    for (const entry of this.#known) if ('tombstone' in entry[1]) yield entry;
  }

  /** The action for `key` succeeded with what was known when it started (`seen`): nothing is pending for it. */
  consumed(key: EntryKey, seen: KnownRemote | undefined): void {
    this.failed.delete(key);
    if (seen === undefined || this.#known.get(key) === seen) this.#known.delete(key);
  }

  refuse(key: EntryKey, sha256: string): void {
    this.#refused.set(key, sha256);
  }

  isRefused(key: EntryKey, sha256: string): boolean {
    return this.#refused.get(key) === sha256;
  }

  accepted(key: EntryKey): void {
    this.#refused.delete(key);
  }

  /** Logs that a path is not synced, once per path and reason. */
  skipOnce(localPath: string, why: string): void {
    const line = `skip ${localPath}: ${why}`;
    if (this.#loggedSkips.has(line)) return;
    this.#loggedSkips.add(line);
    this.#log('warn', line);
  }
}
