// `sync`: one full session (list, scan, reconcile everything) and exit, printing what happened to each file (with a
// progress line on a terminal) and a summary counted from it; `--dry-run` only prints the plan.

import type { SessionReport } from '../sync-engine/engine.js';
import type { ActionOutcome } from '../sync-engine/executor.js';
import { formatBytes } from '../sync-engine/log.js';
import type { Action } from '../sync-engine/model.js';
import { type CliContext, createCliRunner } from './context.js';
import { EXIT, notSignedIn, reachDetail, unreachable } from './errors.js';
import { plainProgress, TransferProgress, terminalProgress } from './progress.js';

/** One line per action a user would care about; bookkeeping-only actions (record, forget, …) print nothing. */
export function describeAction(action: Action): string | null {
  switch (action.type) {
    case 'push':
      return `push   ${action.localPath}  (${action.why})`;
    case 'createFolder':
      return `push   ${action.localPath}/  (${action.why})`;
    case 'pull':
      return `pull   ${action.localPath}  (${action.why})`;
    case 'makeLocalFolder':
      return `pull   ${action.localPath}/  (${action.why})`;
    case 'removeLocal':
      return `remove ${action.localPath}  (${action.why}; moved into sites-versions)`;
    case 'removeLocalFolder':
      return `remove ${action.localPath}/  (${action.why}; only if empty)`;
    case 'hold':
      return `hold   ${action.localPath}  (${action.why})`;
    case 'skip':
      return `skip   ${action.localPath}  (${action.why})`;
    case 'record':
    case 'rememberDelete':
    case 'forget':
      return null;
  }
}

/** The verb a finished action prints with: what happened to it, never what was planned. */
const VERB: Record<ActionOutcome['result'], string> = {
  pushed: 'push',
  pulled: 'pull',
  removed: 'remove',
  held: 'hold',
  conflict: 'conflict',
  failed: 'failed',
  skipped: 'skip',
};

/** One line per finished action: what happened, the path, the bytes moved, and why (or where the old copy went). */
export function describeOutcome(outcome: ActionOutcome): string {
  const size = outcome.bytes > 0 ? `  ${formatBytes(outcome.bytes)}` : '';
  const why = outcome.result === 'failed' ? `${outcome.action}: ${outcome.detail ?? 'failed'}` : outcome.detail;
  return `${VERB[outcome.result].padEnd(8)} ${outcome.path}${size}${why ? `  (${why})` : ''}`;
}

export type OutcomeCounts = Record<ActionOutcome['result'], number> & { bytes: number };

export function countOutcomes(outcomes: readonly ActionOutcome[]): OutcomeCounts {
  const counts: OutcomeCounts = {
    pushed: 0,
    pulled: 0,
    removed: 0,
    held: 0,
    conflict: 0,
    failed: 0,
    skipped: 0,
    bytes: 0,
  };
  for (const outcome of outcomes) {
    counts[outcome.result]++;
    counts.bytes += outcome.bytes;
  }
  return counts;
}

/** `Synced F: 1 pushed, 2 pulled, 0 removed locally, 1 failed (3.1 KiB in 0.4 s).` counted from what happened. */
export function summaryLine(folder: string, counts: OutcomeCounts, seconds: number): string {
  const parts = [`${counts.pushed} pushed`, `${counts.pulled} pulled`, `${counts.removed} removed locally`];
  if (counts.conflict > 0) parts.push(`${counts.conflict} lost a conflict (kept in sites-versions)`);
  if (counts.held > 0) parts.push(`${counts.held} held`);
  parts.push(`${counts.failed} failed`);
  if (counts.skipped > 0) parts.push(`${counts.skipped} skipped`);
  return `Synced ${folder}: ${parts.join(', ')} (${formatBytes(counts.bytes)} in ${seconds.toFixed(1)} s).`;
}

function count(actions: Action[], ...types: Action['type'][]): number {
  return actions.filter((action) => types.includes(action.type)).length;
}

export async function sync(
  ctx: CliContext,
  flags: { dir?: string; dryRun?: boolean; allowDeletes?: boolean },
): Promise<number> {
  const dryRun = flags.dryRun === true;
  const folder = ctx.syncFolder(flags.dir);
  const saved = ctx.token();
  if (!saved?.user) throw notSignedIn(ctx.config.origin);
  const api = ctx.api();
  try {
    await api.health();
  } catch (error) {
    throw unreachable(ctx.config.url, reachDetail(error));
  }
  const account = { id: saved.user.id, email: saved.user.email };
  const runner = createCliRunner(ctx, { api, folder, account, holder: 'hyperclay-sync sync' });
  runner.status.started(folder);
  try {
    if (dryRun) return printPlan(ctx, await runner.syncOnce({ dryRun: true }));
    const started = Date.now();
    const terminal = ctx.io.terminal;
    const view = terminal ? terminalProgress(terminal) : plainProgress((line) => ctx.io.out(line));
    const progress = new TransferProgress();
    let report: SessionReport;
    try {
      report = await runner.syncOnce({
        allowDeletes: flags.allowDeletes === true,
        onProgress: (event) => {
          if (event.type === 'outcome') view.line(describeOutcome(event.outcome));
          if (progress.take(event)) view.update(progress.figures);
        },
      });
    } finally {
      view.stop();
    }
    const counts = countOutcomes(report.outcomes);
    ctx.io.out(summaryLine(folder, counts, (Date.now() - started) / 1000));
    if (report.brake) return braked(ctx, report);
    const failed = Math.max(counts.failed, report.failed);
    if (failed > 0) {
      ctx.io.err(
        `${failed} files did not sync; they are tried again at the next sync. See ${ctx.config.paths.logFile}.`,
      );
      return EXIT.failed;
    }
    ctx.rememberFolder(folder);
    return EXIT.done;
  } finally {
    api.close();
  }
}

/** `--dry-run`: the plan, one line per action a user would care about, and what it adds up to. */
function printPlan(ctx: CliContext, report: SessionReport): number {
  const { actions } = report;
  for (const action of actions) {
    const line = describeAction(action);
    if (line) ctx.io.out(line);
  }
  const pushes = count(actions, 'push', 'createFolder');
  const pulls = count(actions, 'pull', 'makeLocalFolder');
  const removals = count(actions, 'removeLocal', 'removeLocalFolder');
  ctx.io.out(
    `Dry run: ${pushes} to push, ${pulls} to pull, ${removals} to remove locally, ${report.held} held; nothing was changed.`,
  );
  return report.brake ? braked(ctx, report) : EXIT.done;
}

function braked(ctx: CliContext, report: SessionReport): number {
  ctx.io.err(
    `The platform removed most of your files; ${report.held} local files were kept (held). If that is what you want, run: hyperclay-sync sync --allow-deletes`,
  );
  return EXIT.failed;
}
