// Group commit: writes that arrive together are committed by one flush (one transaction, one durable sync of the
// log), and each is answered only once the flush that holds it is done.

interface Waiting<J, O> {
  jobs: J[];
  resolve(outcomes: O[]): void;
  reject(error: Error): void;
}

export interface GroupCommitOptions {
  /** Flushes under way at once (separate transactions); 1 queues every arrival behind the running flush. */
  concurrency?: number;
  /** A group takes whole submissions until it holds this many jobs (a larger submission still goes alone). */
  maxJobs?: number;
}

/**
 * Queues submissions and hands each group to `flush`, which commits all its jobs in one transaction and returns one
 * outcome per job in order. A submission's jobs always share one group. When `flush` throws, nothing of that group
 * was committed and every submission in it is rejected.
 */
export class GroupCommit<J, O> {
  private readonly queue: Waiting<J, O>[] = [];
  private running = 0;
  private scheduled = false;
  private readonly concurrency: number;
  private readonly maxJobs: number;

  constructor(
    private readonly flush: (jobs: J[]) => O[] | Promise<O[]>,
    options: GroupCommitOptions = {},
  ) {
    this.concurrency = options.concurrency ?? 1;
    this.maxJobs = options.maxJobs ?? 1000;
  }

  submit(jobs: J[]): Promise<O[]> {
    if (jobs.length === 0) return Promise.resolve([]);
    return new Promise<O[]>((resolve, reject) => {
      this.queue.push({ jobs, resolve, reject });
      this.schedule();
    });
  }

  /**
   * The next flush starts after the current turn of the event loop, so writes whose bodies completed in the same
   * turn join one group; while every flush slot is busy, arrivals gather for the next one.
   */
  private schedule(): void {
    if (this.scheduled || this.running >= this.concurrency || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.runOne();
    });
  }

  private async runOne(): Promise<void> {
    if (this.running >= this.concurrency || this.queue.length === 0) return;
    const group = this.take();
    this.running++;
    // Another slot may start on what is left.
    this.schedule();
    try {
      const outcomes = await this.flush(group.flatMap((waiting) => waiting.jobs));
      let at = 0;
      for (const waiting of group) {
        waiting.resolve(outcomes.slice(at, at + waiting.jobs.length));
        at += waiting.jobs.length;
      }
    } catch (error) {
      for (const waiting of group) waiting.reject(error as Error);
    } finally {
      this.running--;
      this.schedule();
    }
  }

  /** Whole submissions from the front, at least one, up to maxJobs jobs. */
  private take(): Waiting<J, O>[] {
    let jobs = 0;
    let count = 0;
    for (const waiting of this.queue) {
      if (count > 0 && jobs + waiting.jobs.length > this.maxJobs) break;
      jobs += waiting.jobs.length;
      count++;
    }
    return this.queue.splice(0, count);
  }
}
