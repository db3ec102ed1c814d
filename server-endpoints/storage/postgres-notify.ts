// Long-poll wake-ups across processes: NOTIFY in each write's transaction, LISTEN on one held connection.

import type pg from 'pg';
import { ChangeListeners } from './common.js';
import { named } from './postgres-db.js';

const CHANNEL = 'hyperclay_sync_changes';

/** Sent inside a write's transaction: PostgreSQL delivers it on commit, to every listening process. */
export async function announceChange(client: pg.PoolClient, accountId: string): Promise<void> {
  await client.query(named('notify', [CHANNEL, accountId]));
}

/**
 * Wakes this process's long-polls on any process's committed change. When the listening connection is
 * (re)established or lost, every waiter looks at its feed again, so no change is slept through.
 */
export class ChangeNotifier {
  private readonly listeners = new ChangeListeners();
  private client: pg.PoolClient | null = null;
  private starting = false;
  private closed = false;
  private retry: NodeJS.Timeout | null = null;

  constructor(
    private readonly pool: pg.Pool,
    private readonly log: (line: string) => void,
  ) {}

  /** Returns the unsubscribe function; the first subscriber starts listening. */
  subscribe(accountId: string, listener: () => void): () => void {
    const unsubscribe = this.listeners.add(accountId, listener);
    this.start();
    return unsubscribe;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    this.listeners.clear();
    const held = this.client;
    this.client = null;
    if (held) {
      await held.query(`UNLISTEN ${CHANNEL}`).catch(() => {});
      held.release();
    }
  }

  private start(): void {
    if (this.client || this.starting || this.closed) return;
    this.starting = true;
    this.listen().catch((error: Error) => {
      this.starting = false;
      this.log(`postgres storage: change notifications unavailable (${error.message}); retrying in 1 s`);
      this.scheduleRetry();
    });
  }

  private async listen(): Promise<void> {
    const held = await this.pool.connect();
    try {
      held.on('notification', (message) => {
        if (message.channel !== CHANNEL || message.payload === undefined) return;
        this.listeners.notify(message.payload);
      });
      held.on('error', (error) => this.lost(held, error));
      await held.query(`LISTEN ${CHANNEL}`);
    } catch (error) {
      held.release(error as Error);
      throw error;
    }
    if (this.closed) return void held.release();
    this.client = held;
    this.starting = false;
    // A change committed before LISTEN took hold sent no notification here: every waiter looks again.
    this.listeners.notifyAll();
  }

  private lost(held: pg.PoolClient, error: Error): void {
    if (this.client !== held) return;
    this.client = null;
    held.release(error);
    this.log(`postgres storage: the change-notification connection failed (${error.message}); reconnecting`);
    // Waiters look at the feed now rather than sleep through changes nobody will announce.
    this.listeners.notifyAll();
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.closed || this.retry || this.listeners.accounts === 0) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      this.start();
    }, 1000);
    this.retry.unref();
  }
}
