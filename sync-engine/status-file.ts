// The status file a running sync keeps in the data folder (on every status change and as a 30 s heartbeat), and
// how `status` reads it back.

import { readFileSync } from 'node:fs';
import { isProcessAlive } from './folder-lock.js';
import { writeFileAtomic } from './fsutil.js';
import { type FileTrouble, LIST_MAX, type StatusModel, type SyncStatus } from './status.js';

export const HEARTBEAT_MS = 30_000;
/** Status changes come in bursts (one per queued transfer): write at most this often. */
const WRITE_EVERY_MS = 200;

export interface StatusRecord extends SyncStatus {
  /** The process that writes it; `running` false once it stopped. */
  pid: number;
  running: boolean;
  command: 'start' | 'sync';
  startedAt: string;
  heartbeatAt: string;
}

export interface StatusWriter {
  /** Writes the final record (running: false) and stops the heartbeat. */
  close(): Promise<void>;
}

export function writeStatusFile(
  file: string,
  status: StatusModel,
  info: { command: 'start' | 'sync'; heartbeatMs?: number },
): StatusWriter {
  const startedAt = new Date().toISOString();
  let running = true;
  let chain: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | null = null;
  let dirty = false;

  const write = (): Promise<void> => {
    const record: StatusRecord = {
      ...status.current,
      pid: process.pid,
      running,
      command: info.command,
      startedAt,
      heartbeatAt: new Date().toISOString(),
    };
    // Writes are chained so an older record never lands after a newer one.
    chain = chain
      .then(() => writeFileAtomic(file, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 }))
      .catch(() => {});
    return chain;
  };
  const schedule = (): void => {
    dirty = true;
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      if (dirty) {
        dirty = false;
        void write();
      }
    }, WRITE_EVERY_MS);
  };
  const onChange = (): void => schedule();
  status.on('change', onChange);
  const heartbeat = setInterval(() => void write(), info.heartbeatMs ?? HEARTBEAT_MS);
  heartbeat.unref();
  void write();

  return {
    async close() {
      status.off('change', onChange);
      clearInterval(heartbeat);
      if (timer) clearTimeout(timer);
      timer = null;
      running = false;
      await write();
    },
  };
}

const isText = (value: unknown): value is string => typeof value === 'string';
const isTextOrNull = (value: unknown): value is string | null => value === null || typeof value === 'string';

const textList = (value: unknown): string[] => (Array.isArray(value) ? value.filter(isText).slice(0, LIST_MAX) : []);

function troubleList(value: unknown): FileTrouble[] {
  if (!Array.isArray(value)) return [];
  const out: FileTrouble[] = [];
  for (const item of value.slice(0, LIST_MAX)) {
    const { path, reason } = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
    if (isText(path) && isText(reason)) out.push({ path, reason });
  }
  return out;
}

/** The status file, checked field by field; null when absent or unreadable. `running` only if its process lives. */
export function readStatusFile(file: string): StatusRecord | null {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const r = value as Record<string, unknown>;
  if (typeof r.pid !== 'number' || typeof r.running !== 'boolean' || !isText(r.phase) || !isText(r.heartbeatAt)) {
    return null;
  }
  const account =
    typeof r.account === 'object' && r.account !== null && isText((r.account as { email?: unknown }).email)
      ? (r.account as { id: string; email: string })
      : null;
  const notice =
    typeof r.notice === 'object' && r.notice !== null && isText((r.notice as { text?: unknown }).text)
      ? (r.notice as SyncStatus['notice'])
      : null;
  return {
    phase: r.phase as SyncStatus['phase'],
    account,
    folder: isTextOrNull(r.folder) ? r.folder : null,
    notice,
    lastSyncAt: isTextOrNull(r.lastSyncAt) ? r.lastSyncAt : null,
    pending: typeof r.pending === 'number' ? r.pending : 0,
    lastError: isTextOrNull(r.lastError) ? r.lastError : null,
    busy: r.busy === true,
    queued: textList(r.queued),
    inFlight: textList(r.inFlight),
    failing: troubleList(r.failing),
    failingCount: typeof r.failingCount === 'number' ? r.failingCount : 0,
    pid: r.pid,
    running: r.running && isProcessAlive(r.pid),
    command: r.command === 'sync' ? 'sync' : 'start',
    startedAt: isText(r.startedAt) ? r.startedAt : '',
    heartbeatAt: r.heartbeatAt,
  };
}
