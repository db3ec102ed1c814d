// Transfer scheduling: at most one job in flight per entry (a newer request marks it dirty and reruns it
// once the current one ends) and a small bounded pool across entries.

export type Job = () => Promise<void>;

export class TransferQueue {
  readonly #limit: number;
  #running = 0;
  readonly #waiting: Array<() => void> = [];
  /** Entries with a job in flight, and whether another run was requested meanwhile. */
  readonly #inFlight = new Map<string, { dirty: boolean; job: Job; done: Promise<void> }>();
  readonly #idleWaiters: Array<() => void> = [];
  /** Jobs finished so far: idleOrStalled tells a queue that moves from one that is stuck. */
  #finished = 0;

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error('the transfer pool needs at least one slot');
    this.#limit = limit;
  }

  /** Entries with a job queued or running. */
  get pending(): number {
    return this.#inFlight.size;
  }

  /**
   * Runs `job` for `key` now (when a slot is free), or, if a job for `key` is in flight, marks it dirty so
   * that the newest `job` runs once more right after it. Resolves when the entry has no more work.
   */
  run(key: string, job: Job): Promise<void> {
    const current = this.#inFlight.get(key);
    if (current) {
      current.dirty = true;
      current.job = job;
      return current.done;
    }
    const slot = { dirty: false, job, done: Promise.resolve() };
    slot.done = this.#drain(key, slot);
    this.#inFlight.set(key, slot);
    return slot.done;
  }

  /**
   * Runs `group` once, in one slot, for every entry of `entries` that has no job in flight (its keys are passed to
   * it); an entry that has one gets its own `job` the way run() gives it. While the group runs, its entries count as
   * in flight: a run() for one of them marks it dirty, and its newest job runs alone right after the group.
   * Resolves when none of the entries has more work; rejects when the group failed.
   */
  runGroup(entries: Array<{ key: string; job: Job }>, group: (keys: string[]) => Promise<void>): Promise<void> {
    const free = entries.filter(({ key }) => !this.#inFlight.has(key));
    const waits = entries.filter(({ key }) => this.#inFlight.has(key)).map(({ key, job }) => this.run(key, job));
    if (free.length > 0) {
      const keys = free.map(({ key }) => key);
      const first = Promise.resolve().then(() => this.#withSlot(() => group(keys)));
      // The caller hears of a failed group as of a failed job.
      waits.push(first);
      for (const { key, job } of free) {
        const slot = { dirty: false, job, done: Promise.resolve() };
        slot.done = this.#drain(key, slot, first);
        this.#inFlight.set(key, slot);
        waits.push(slot.done);
      }
    }
    return Promise.all(waits).then(() => undefined);
  }

  /** One item of a group is done: progress for idleOrStalled, as a finished job is. */
  progressed(): void {
    this.#finished++;
  }

  /** Resolves once nothing is queued or running. */
  idle(): Promise<void> {
    if (this.#inFlight.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * Resolves once nothing is queued or running, or once no job has finished for `stallMs` (what is left is slow,
   * e.g. a trickling transfer: the caller goes on and lets it finish in the background).
   */
  async idleOrStalled(stallMs: number): Promise<void> {
    while (this.#inFlight.size > 0) {
      const before = this.#finished;
      let timer: NodeJS.Timeout | undefined;
      const stalled = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, stallMs);
      });
      await Promise.race([this.idle(), stalled]);
      clearTimeout(timer);
      if (this.#finished === before && this.#inFlight.size > 0) return;
    }
  }

  /** Runs the entry's job (or waits for `first`, a group it is part of), then again while it was marked dirty. */
  async #drain(key: string, slot: { dirty: boolean; job: Job }, first?: Promise<void>): Promise<void> {
    // Let run() return and register the slot before the first job starts.
    await Promise.resolve();
    try {
      if (first) await first.catch(() => {});
      else slot.dirty = true;
      while (slot.dirty) {
        slot.dirty = false;
        await this.#withSlot(slot.job);
      }
    } finally {
      this.#inFlight.delete(key);
      if (this.#inFlight.size === 0) for (const wake of this.#idleWaiters.splice(0)) wake();
    }
  }

  async #withSlot(job: Job): Promise<void> {
    if (this.#running >= this.#limit) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#running++;
    try {
      await job();
    } finally {
      this.#finished++;
      this.#running--;
      this.#waiting.shift()?.();
    }
  }
}
