// The sync status the CLI and the desktop app show: one small model with a change event.

import { EventEmitter } from 'node:events';

export type SyncPhase = 'signed-out' | 'off' | 'syncing' | 'offline' | 'needs-attention';

/** A message the user must see (the only UI besides on/off and log out). */
export type NoticeCode =
  | 'site_limit_reached'
  | 'storage_limit_reached'
  | 'subscription_required'
  | 'client_outdated'
  | 'delete_brake';

export const NOTICE_TEXT: Record<NoticeCode, string> = {
  site_limit_reached: "You've run out of sites. We can't sync any more sites.",
  storage_limit_reached: "You've run out of storage. We can't sync more files.",
  subscription_required: 'Syncing needs a paid plan. Upgrade your subscription, then sign in again.',
  client_outdated: 'This version of Hyperclay Sync is too old. Please update it.',
  delete_brake: 'Sync held back a large number of removals. Run `hyperclay-sync sync --allow-deletes` to apply them.',
};

export interface SyncStatus {
  phase: SyncPhase;
  account: { id: string; email: string } | null;
  folder: string | null;
  /** The one message to show, if any; `text` may be the server's own sentence. */
  notice: { code: NoticeCode; text: string } | null;
  /** ISO time of the last completed session or poll. */
  lastSyncAt: string | null;
  /** Entries waiting to be pushed or pulled. */
  pending: number;
  /** The last error, one sentence, for `status` and the log. */
  lastError: string | null;
}

export const INITIAL_STATUS: SyncStatus = {
  phase: 'signed-out',
  account: null,
  folder: null,
  notice: null,
  lastSyncAt: null,
  pending: 0,
  lastError: null,
};

export class StatusModel extends EventEmitter<{ change: [SyncStatus] }> {
  #status: SyncStatus;

  constructor(initial: Partial<SyncStatus> = {}) {
    super();
    this.#status = { ...INITIAL_STATUS, ...initial };
  }

  get current(): SyncStatus {
    return this.#status;
  }

  /** Applies a change and emits `change` only when something actually changed. */
  update(change: Partial<SyncStatus>): void {
    const next = { ...this.#status, ...change };
    if (JSON.stringify(next) === JSON.stringify(this.#status)) return;
    this.#status = next;
    this.emit('change', next);
  }
}
