// The write decision of PROTOCOL.md "Files", pure, so every storage implementation decides the same way.

/** The current state of a file entry, as the decision needs it; null when there is none (or a tombstone). */
export interface CurrentFile {
  sha256: string;
  version: number;
  updatedAtMs: number;
}

export interface IncomingWrite {
  sha256: string;
  /** The version the content was edited from; 0 for a new file; null for the platform's own saves. */
  baseVersion: number | null;
  /** X-Modified-At in ms (server clock) for sync saves; null for platform saves. */
  modifiedAtMs: number | null;
}

export type WriteDecision =
  | { action: 'unchanged' }
  | { action: 'save'; created: boolean; updatedAtMs: number; why: 'new' | 'base_version' | 'later' | 'platform' }
  | { action: 'conflict' };

/**
 * Decides one write against the current file. `nextVersion` is not decided here: versions are never
 * reused, so the storage, which remembers versions of deleted entries, numbers them.
 */
export function decideWrite(current: CurrentFile | null, write: IncomingWrite, nowMs: number): WriteDecision {
  if (current !== null && current.sha256 === write.sha256) return { action: 'unchanged' };
  // A future stamp must not win forever: a sync save is never dated after the moment it was made.
  const stamp = write.modifiedAtMs === null ? nowMs : Math.min(write.modifiedAtMs, nowMs);
  if (current === null) return { action: 'save', created: true, updatedAtMs: stamp, why: 'new' };
  if (write.baseVersion === null) return { action: 'save', created: false, updatedAtMs: nowMs, why: 'platform' };
  if (write.baseVersion === current.version) {
    return { action: 'save', created: false, updatedAtMs: stamp, why: 'base_version' };
  }
  if (write.modifiedAtMs !== null && write.modifiedAtMs > current.updatedAtMs) {
    return { action: 'save', created: false, updatedAtMs: stamp, why: 'later' };
  }
  return { action: 'conflict' };
}
