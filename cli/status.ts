// `status`: who is signed in, the folder, whether a sync runs (and its pid), last sync, pending, last error,
// notice and heartbeat age, as lines or one JSON object.

import { readFolderLock } from '../sync-engine/folder-lock.js';
import { readStatusFile } from '../sync-engine/status-file.js';
import type { CliContext } from './context.js';
import { EXIT } from './errors.js';

export interface StatusReport {
  platform: string;
  signedIn: boolean;
  account: { id: string; email: string; plan: string } | null;
  folder: string;
  running: boolean;
  pid: number | null;
  phase: string;
  lastSyncAt: string | null;
  pending: number;
  lastError: string | null;
  notice: { code: string; text: string } | null;
  heartbeatAt: string | null;
  heartbeatAgeSeconds: number | null;
  logFile: string;
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
  return {
    platform: ctx.config.origin,
    signedIn: saved !== null,
    account: saved?.user ? { id: saved.user.id, email: saved.user.email, plan: saved.user.plan } : null,
    folder,
    running,
    pid,
    phase: saved === null ? 'signed-out' : running ? (mine?.phase ?? 'syncing') : 'off',
    lastSyncAt: mine?.lastSyncAt ?? null,
    pending: running ? (mine?.pending ?? 0) : 0,
    lastError: mine?.lastError ?? null,
    notice: mine?.notice ?? null,
    heartbeatAt: mine?.heartbeatAt ?? null,
    heartbeatAgeSeconds: Number.isNaN(heartbeatAge) ? null : heartbeatAge,
    logFile: ctx.config.paths.logFile,
  };
}

export function status(ctx: CliContext, flags: { json?: boolean }): number {
  const report = collectStatus(ctx);
  if (flags.json) {
    ctx.io.out(JSON.stringify(report, null, 2));
    return EXIT.done;
  }
  const lines: Array<[string, string]> = [
    ['Platform', report.platform],
    [
      'Signed in as',
      report.account ? `${report.account.email} (${report.account.plan})` : 'nobody (run: hyperclay-sync login)',
    ],
    ['Folder', report.folder],
    ['Sync', report.running ? `running (process ${report.pid ?? '?'}), ${report.phase}` : 'not running'],
    ['Last sync', report.lastSyncAt ?? 'never'],
    ['Pending', String(report.pending)],
  ];
  if (report.heartbeatAgeSeconds !== null && report.running) {
    lines.push(['Heartbeat', `${report.heartbeatAgeSeconds} s ago`]);
  }
  if (report.notice) lines.push(['Notice', report.notice.text]);
  if (report.lastError) lines.push(['Last error', report.lastError]);
  lines.push(['Log file', report.logFile]);
  const width = Math.max(...lines.map(([label]) => label.length));
  for (const [label, value] of lines) ctx.io.out(`${`${label}:`.padEnd(width + 1)} ${value}`);
  return EXIT.done;
}
