// `status`: who is signed in, the folder, the running sync's phase (idle, syncing, paused, offline, folder missing,
// signed out, needs attention), last sync and heartbeat as ages, and the files pending, in flight and failing (each
// failing one with its reason), as lines or one JSON object. Exit 3 when signed out.

import { readFolderLock } from '../sync-engine/folder-lock.js';
import type { FileTrouble } from '../sync-engine/status.js';
import { readStatusFile, type StatusRecord } from '../sync-engine/status-file.js';
import type { CliContext } from './context.js';
import { EXIT } from './errors.js';

export type ShownPhase =
  | 'idle'
  | 'syncing'
  | 'paused'
  | 'offline'
  | 'folder missing'
  | 'signed out'
  | 'needs attention'
  | 'off';

export interface StatusReport {
  platform: string;
  signedIn: boolean;
  account: { id: string; email: string; plan: string } | null;
  folder: string;
  running: boolean;
  pid: number | null;
  phase: ShownPhase;
  lastSyncAt: string | null;
  pending: number;
  queued: string[];
  inFlight: string[];
  failing: FileTrouble[];
  failingCount: number;
  lastError: string | null;
  notice: { code: string; text: string } | null;
  heartbeatAt: string | null;
  heartbeatAgeSeconds: number | null;
  logFile: string;
}

/** The phase as SPEC.md names it, from the running sync's record. */
function shownPhase(signedIn: boolean, running: boolean, record: StatusRecord | null): ShownPhase {
  if (!signedIn) return 'signed out';
  if (!running || !record) return 'off';
  switch (record.phase) {
    case 'syncing':
      return record.busy || record.pending > 0 ? 'syncing' : 'idle';
    case 'folder-missing':
      return 'folder missing';
    case 'needs-attention':
      return 'needs attention';
    case 'signed-out':
      return 'signed out';
    default:
      return record.phase;
  }
}

export function collectStatus(ctx: CliContext): StatusReport {
  const saved = ctx.token();
  const folder = ctx.folder(undefined);
  const record = readStatusFile(ctx.config.paths.statusFile);
  // The record is about this folder only if it says so (another folder may have synced last).
  const mine = record && (record.folder === null || record.folder === folder) ? record : null;
  const holder = readFolderLock(ctx.config.paths.locksDir, folder);
  const running = holder !== null || mine?.running === true;
  const pid = holder?.pid ?? (mine?.running ? mine.pid : null);
  const heartbeatAge = mine ? Math.max(0, Math.round((Date.now() - Date.parse(mine.heartbeatAt)) / 1000)) : null;
  const live = running ? mine : null;
  return {
    platform: ctx.config.origin,
    signedIn: saved !== null,
    account: saved?.user ? { id: saved.user.id, email: saved.user.email, plan: saved.user.plan } : null,
    folder,
    running,
    pid,
    phase: shownPhase(saved !== null, running, mine),
    lastSyncAt: mine?.lastSyncAt ?? null,
    pending: live?.pending ?? 0,
    queued: live?.queued ?? [],
    inFlight: live?.inFlight ?? [],
    failing: live?.failing ?? [],
    failingCount: live?.failingCount ?? 0,
    lastError: mine?.lastError ?? null,
    notice: mine?.notice ?? null,
    heartbeatAt: mine?.heartbeatAt ?? null,
    heartbeatAgeSeconds: Number.isNaN(heartbeatAge) ? null : heartbeatAge,
    logFile: ctx.config.paths.logFile,
  };
}

/** "just now", "12 s ago", "2 min ago", "3 h ago", else the local date and time. */
export function ago(iso: string, now = Date.now()): string {
  const seconds = Math.round((now - Date.parse(iso)) / 1000);
  if (Number.isNaN(seconds)) return 'unknown';
  if (seconds < 5) return 'just now';
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.round(seconds / 3600)} h ago`;
  return new Date(iso).toLocaleString();
}

/** A list of paths under a heading: the count, then the paths (the status carries at most 100 of them). */
function listLines(heading: string, count: number, paths: string[]): string[] {
  if (count === 0) return [];
  const more = count > paths.length ? [`  … and ${count - paths.length} more`] : [];
  return [`${heading} (${count}):`, ...paths.map((path) => `  ${path}`), ...more];
}

function summaryLines(report: StatusReport): Array<[string, string]> {
  const lines: Array<[string, string]> = [
    ['Platform', report.platform],
    [
      'Signed in as',
      report.account ? `${report.account.email} (${report.account.plan})` : 'nobody (run: hyperclay-sync login)',
    ],
    ['Folder', report.folder],
    ['Sync', report.running ? `running (process ${report.pid ?? '?'})` : 'not running'],
    ['Phase', report.phase],
    ['Last sync', report.lastSyncAt ? ago(report.lastSyncAt) : 'never'],
  ];
  if (report.heartbeatAt !== null && report.running) lines.push(['Heartbeat', ago(report.heartbeatAt)]);
  if (report.notice) lines.push(['Notice', report.notice.text]);
  if (report.lastError) lines.push(['Last error', report.lastError]);
  lines.push(['Log file', report.logFile]);
  return lines;
}

export function status(ctx: CliContext, flags: { json?: boolean }): number {
  const report = collectStatus(ctx);
  const code = report.signedIn ? EXIT.done : EXIT.signedOut;
  if (flags.json) {
    ctx.io.out(JSON.stringify(report, null, 2));
    return code;
  }
  const lines = summaryLines(report);
  const width = Math.max(...lines.map(([label]) => label.length));
  for (const [label, value] of lines) ctx.io.out(`${`${label}:`.padEnd(width + 1)} ${value}`);
  const waiting = Math.max(0, report.pending - report.inFlight.length);
  for (const line of [
    ...listLines('In flight', report.inFlight.length, report.inFlight),
    ...listLines('Pending', waiting, report.queued),
    ...listLines(
      'Not syncing',
      report.failingCount,
      report.failing.map((f) => `${f.path}: ${f.reason}`),
    ),
  ]) {
    ctx.io.out(line);
  }
  if (report.running && report.pending === 0 && report.failingCount === 0) ctx.io.out('Every file is in sync.');
  return code;
}
