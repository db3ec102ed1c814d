// The sync status the CLI and the desktop app show: its one owner, changed only through named transitions; the
// app, the CLI's status file and the tray listen to its change event.

import { EventEmitter } from 'node:events';

/**
 * `syncing`: sync is on and working (idle or busy: see `busy`, `pending`); `paused`: switched off by `pause` while its
 * process runs on.
 */
export type SyncPhase = 'signed-out' | 'off' | 'syncing' | 'paused' | 'offline' | 'folder-missing' | 'needs-attention';

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

/** The one message to show; `text` may be the server's own sentence. */
export interface Notice {
  code: NoticeCode;
  text: string;
}

/** A file that does not sync, and why (a rule it breaks, a refusal, or a failure that is retried). */
export interface FileTrouble {
  path: string;
  reason: string;
}

/** At most this many paths in each list (the counts stay whole): the status is written often. */
export const LIST_MAX = 100;

/** The notices that mean sync cannot go on as it is until the person acts (the rest only inform). */
const ATTENTION: ReadonlySet<NoticeCode> = new Set(['delete_brake', 'client_outdated']);

export interface SyncStatus {
  phase: SyncPhase;
  account: { id: string; email: string } | null;
  folder: string | null;
  notice: Notice | null;
  /** ISO time of the last completed session or poll. */
  lastSyncAt: string | null;
  /** Entries waiting to be pushed or pulled, or being. */
  pending: number;
  /** The last error, one sentence, for `status` and the log. */
  lastError: string | null;
  /** A session (the whole folder against the whole listing) is under way. */
  busy: boolean;
  /** Transfers by path: waiting for a slot, and under way (the first LIST_MAX of each). */
  queued: string[];
  inFlight: string[];
  /** Files that do not sync, each with its reason (the first LIST_MAX), and how many there are. */
  failing: FileTrouble[];
  failingCount: number;
}

export const INITIAL_STATUS: SyncStatus = {
  phase: 'signed-out',
  account: null,
  folder: null,
  notice: null,
  lastSyncAt: null,
  pending: 0,
  lastError: null,
  busy: false,
  queued: [],
  inFlight: [],
  failing: [],
  failingCount: 0,
};

export class StatusModel extends EventEmitter<{ change: [SyncStatus] }> {
  #status: SyncStatus;
  /** Every failing path (the status shows the first LIST_MAX). */
  readonly #failing = new Map<string, string>();

  constructor(initial: Partial<SyncStatus> = {}) {
    super();
    this.#status = { ...INITIAL_STATUS, ...initial };
  }

  get current(): SyncStatus {
    return this.#status;
  }

  // ------------------------------------------------------------ who and where

  /** Signed in as `account`, for `folder`; with `sync`, also whether it syncs now (one change, not two). */
  signedIn(account: { id: string; email: string }, folder: string, sync?: 'on' | 'off'): void {
    const phase = sync === undefined ? {} : { phase: sync === 'on' ? ('syncing' as const) : ('off' as const) };
    this.#set({ account, folder, ...phase });
  }

  /** Not signed in (any more). `notice`: why (the subscription message), or 'keep' what is shown. */
  signedOut(notice: Notice | null | 'keep' = null): void {
    this.#set({ phase: 'signed-out', account: null, pending: 0, ...(notice === 'keep' ? {} : { notice }) });
  }

  /** The sync folder setting changed. */
  folderChosen(folder: string): void {
    this.#set({ folder });
  }

  /** Signed out by hand, or signed in afresh: no message and no error carried over. */
  cleared(): void {
    this.#set({ notice: null, lastError: null });
  }

  // ------------------------------------------------------------ the sync's life

  /** Sync runs (or is starting) on `folder`. */
  started(folder: string | null = this.#status.folder): void {
    this.#set({ phase: 'syncing', folder, lastError: null });
  }

  /** The person switched sync off. */
  switchedOff(): void {
    this.#set({ phase: 'off', lastError: null });
  }

  /** Sync was paused (`pause`): its process waits, holding the folder, until `resume`. */
  paused(): void {
    this.#set({ phase: 'paused', pending: 0, queued: [], inFlight: [], busy: false });
  }

  /** The engine stopped (switched off, quit, or stopped itself); a signed-out or paused status stays as it is. */
  stopped(): void {
    const keep = this.#status.phase === 'signed-out' || this.#status.phase === 'paused';
    this.#set({ ...(keep ? {} : { phase: 'off' as const }), pending: 0, queued: [], inFlight: [], busy: false });
  }

  /** Sync could not start (the folder is locked, bound to another account, cannot be created). */
  couldNotStart(message: string): void {
    this.#set({ phase: 'needs-attention', lastError: message });
  }

  offline(): void {
    this.#set({ phase: 'offline' });
  }

  /** The sync folder is gone from its path: nothing syncs until it is back. `message` says so. */
  folderMissing(message: string): void {
    this.#set({ phase: 'folder-missing', lastError: message });
  }

  /** The sync folder is back at its path. */
  folderBack(): void {
    this.#set({ phase: 'syncing', lastError: null });
  }

  online(): void {
    this.#set({ phase: 'syncing' });
  }

  /** A session started: the whole folder against the whole listing; what failed before is looked at afresh. */
  sessionStarted(): void {
    this.#failing.clear();
    this.#set({ busy: true, ...this.#failingFields() });
  }

  /** A session or poll completed; `failures`: entries still failing (their last error stays shown). */
  synced(at: Date, failures: number): void {
    const attention = this.#status.notice !== null && ATTENTION.has(this.#status.notice.code);
    this.#set({
      lastSyncAt: at.toISOString(),
      phase: attention ? 'needs-attention' : 'syncing',
      lastError: failures === 0 ? null : this.#status.lastError,
      busy: false,
    });
  }

  /** Transfers queued or running. */
  pendingChanged(pending: number): void {
    this.#set({ pending });
  }

  /** The transfers by path: waiting for a slot and under way; `pending` counts the entries with either. */
  transfersChanged(queued: Iterable<string>, inFlight: Iterable<string>, pending: number): void {
    this.#set({ queued: first(queued), inFlight: first(inFlight), pending });
  }

  /** `path` does not sync, and why. */
  fileFailing(path: string, reason: string): void {
    if (this.#failing.get(path) === reason) return;
    this.#failing.set(path, reason);
    this.#set(this.#failingFields());
  }

  /** `path` synced (or is gone): it is not failing any more. */
  fileFine(path: string): void {
    if (!this.#failing.delete(path)) return;
    this.#set(this.#failingFields());
  }

  #failingFields(): Pick<SyncStatus, 'failing' | 'failingCount'> {
    const failing: FileTrouble[] = [];
    for (const [path, reason] of this.#failing) {
      if (failing.length >= LIST_MAX) break;
      failing.push({ path, reason });
    }
    return { failing, failingCount: this.#failing.size };
  }

  /** Something failed; one sentence for `status` and the window. */
  failed(message: string): void {
    this.#set({ lastError: message });
  }

  // ------------------------------------------------------------ what the person must see

  /** Sync cannot go on as it is until the person acts (the delete brake, an outdated client). */
  needsAttention(notice: Notice): void {
    this.#set({ phase: 'needs-attention', notice });
  }

  /** A plan limit was reached: shown, while everything else keeps syncing. */
  limitReached(notice: Notice): void {
    this.#set({ notice });
  }

  /** The message no longer applies (a later create succeeded, a new sign-in). */
  noticeCleared(): void {
    const phase = this.#status.phase === 'needs-attention' ? 'syncing' : this.#status.phase;
    this.#set({ notice: null, phase });
  }

  /** Emits `change` only when something actually changed. */
  #set(change: Partial<SyncStatus>): void {
    const next = { ...this.#status, ...change };
    if (JSON.stringify(next) === JSON.stringify(this.#status)) return;
    this.#status = next;
    this.emit('change', next);
  }
}

function first(paths: Iterable<string>): string[] {
  const out: string[] = [];
  for (const path of paths) {
    if (out.length >= LIST_MAX) break;
    out.push(path);
  }
  return out;
}
