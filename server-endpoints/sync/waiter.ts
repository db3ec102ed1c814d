// Wakes a long-poll on its account's next change (or its request's abort); a change between two looks is never missed.

import type { SyncStorage } from '../types.js';

/** Without a storage that can notify, a long-poll looks at the feed this often. */
const POLL_FALLBACK_MS = 1000;

export class ChangeWaiter {
  /** A change (or the abort) came while nobody was waiting: the next wait returns at once. */
  private pending = false;
  private wake: (() => void) | null = null;
  private readonly unsubscribe: (() => void) | null;
  private readonly signal: AbortSignal;
  private readonly poke = (): void => {
    this.pending = true;
    this.wake?.();
  };

  constructor(storage: SyncStorage, accountId: string, signal: AbortSignal) {
    this.signal = signal;
    this.unsubscribe = storage.subscribe?.(accountId, this.poke) ?? null;
    signal.addEventListener('abort', this.poke);
  }

  /** Resolves at the next change, or after `maxMs` (at most POLL_FALLBACK_MS when the storage cannot notify). */
  next(maxMs: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    const ms = this.unsubscribe ? maxMs : Math.min(maxMs, POLL_FALLBACK_MS);
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wake = null;
        this.pending = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  stop(): void {
    this.unsubscribe?.();
    this.signal.removeEventListener('abort', this.poke);
    this.wake?.();
  }
}
