// `sync`: one full session (list, scan, reconcile everything) and exit; `--dry-run` only prints the plan.

import type { Action } from '../sync-engine/model.js';
import { type CliContext, createCliRunner } from './context.js';
import { EXIT, notSignedIn, reachDetail, unreachable } from './errors.js';

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

function count(actions: Action[], ...types: Action['type'][]): number {
  return actions.filter((action) => types.includes(action.type)).length;
}

export async function sync(
  ctx: CliContext,
  flags: { dir?: string; dryRun?: boolean; allowDeletes?: boolean },
): Promise<number> {
  const dryRun = flags.dryRun === true;
  const folder = ctx.folder(flags.dir, { save: !dryRun });
  const saved = ctx.token();
  if (!saved?.user) throw notSignedIn(ctx.config.origin);
  const api = ctx.api();
  try {
    await api.health();
  } catch (error) {
    throw unreachable(ctx.config.url, reachDetail(error));
  }
  const { paths } = ctx.config;
  const account = { id: saved.user.id, email: saved.user.email };
  const runner = createCliRunner(ctx, { api, folder, account, holder: 'hyperclay-sync sync' });
  runner.status.started(folder);
  try {
    const report = await runner.syncOnce({ dryRun, allowDeletes: flags.allowDeletes === true });
    const { actions } = report;
    for (const action of actions) {
      const line = describeAction(action);
      if (line) ctx.io.out(line);
    }
    const pushes = count(actions, 'push', 'createFolder');
    const pulls = count(actions, 'pull', 'makeLocalFolder');
    const removals = count(actions, 'removeLocal', 'removeLocalFolder');
    if (dryRun) {
      ctx.io.out(
        `Dry run: ${pushes} to push, ${pulls} to pull, ${removals} to remove locally, ${report.held} held; nothing was changed.`,
      );
    } else {
      ctx.io.out(
        `Synced ${folder}: ${pushes} pushed, ${pulls} pulled, ${removals} removed locally, ${report.failed} failed.`,
      );
    }
    if (report.brake) {
      ctx.io.err(
        `The platform removed most of your files; ${report.held} local files were kept (held). If that is what you want, run: hyperclay-sync sync --allow-deletes`,
      );
      return EXIT.failed;
    }
    if (report.failed > 0) {
      ctx.io.err(`${report.failed} entries did not sync; see ${paths.logFile}.`);
      return EXIT.failed;
    }
    return EXIT.done;
  } finally {
    api.close();
  }
}
