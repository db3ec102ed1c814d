// What the engine remembers about entries between plans, in memory only: the ones whose last push or pull failed
// (reconciled again at every plan), the platform side seen but not yet applied, content refused for good, and
// which skip lines were already logged.

import type { EngineLog, LogLevel } from './log.js';
import type { EntryKey, RemoteState } from './model.js';

/** A remote side known but not yet applied for a key: every later reconcile of that key plans with it. */
export type KnownRemote = Exclude<RemoteState, undefined>;

export class EntryMemory {
  /** Entries whose last push or pull failed: every plan takes them in again, whatever its scope. */
  readonly failed = new Set<EntryKey>();
  readonly #known = new Map<EntryKey, KnownRemote>();
  /** Content refused by the platform for good (413, name_taken, invalid_*, 409 conflict): not sent again. */
  readonly #refused = new Map<EntryKey, string>();
  /** Refused by a plan limit (site or storage): tried again when room appears, or at the next session. */
  readonly #limited = new Set<EntryKey>();
  #limitedSince = 0;
  readonly #logged = new Set<string>();
  readonly #log: EngineLog;
  readonly #trouble: (path: string, reason: string) => void;

  constructor(log: EngineLog, trouble: (path: string, reason: string) => void = () => {}) {
    this.#log = log;
    this.#trouble = trouble;
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

  /**
   * The action for `key` succeeded with what was known when it started (`seen`): nothing is pending for it. `acted`:
   * the platform version a pull installed. When a newer one is known by now (a poll brought it while the pull waited
   * or ran, perhaps before `seen` was taken), it stays known and the key is planned again at the next plan.
   */
  consumed(key: EntryKey, seen: KnownRemote | undefined, acted?: { sha256?: string; version?: number }): void {
    const known = this.#known.get(key);
    if (acted && known && 'entry' in known && known.entry.sha256 !== acted.sha256) {
      this.failed.add(key);
      return;
    }
    this.failed.delete(key);
    if (seen === undefined || known === seen) this.#known.delete(key);
  }

  /** Never send this content of `key` again; `limit`: refused by a plan limit, sent again once there is room. */
  refuse(key: EntryKey, sha256: string, limit = false): void {
    this.#refused.set(key, sha256);
    if (!limit) {
      this.#limited.delete(key);
      return;
    }
    if (this.#limited.size === 0) this.#limitedSince = Date.now();
    this.#limited.add(key);
  }

  /** How long (ms) entries have been waiting on a plan limit; 0 when none are. */
  limitedFor(nowMs: number): number {
    return this.#limited.size === 0 ? 0 : nowMs - this.#limitedSince;
  }

  isRefused(key: EntryKey, sha256: string): boolean {
    return this.#refused.get(key) === sha256;
  }

  accepted(key: EntryKey): void {
    this.#refused.delete(key);
    this.#limited.delete(key);
  }

  /** Lifts the refusals of a plan limit (room appeared, or a new session): returns the keys to try again. */
  releaseLimited(): EntryKey[] {
    const keys = [...this.#limited];
    for (const key of keys) this.#refused.delete(key);
    this.#limited.clear();
    return keys;
  }

  /** Logs that a path is not synced, once per path and reason. */
  skipOnce(localPath: string, why: string): void {
    this.#trouble(localPath, why);
    this.reportOnce('warn', `skip ${localPath}: ${why}`);
  }

  /** Logs a line once (the same refusal met at every poll is one line, not one per poll). */
  reportOnce(level: LogLevel, line: string): void {
    if (this.#logged.has(line)) return;
    this.#logged.add(line);
    this.#log(level, line);
  }
}
