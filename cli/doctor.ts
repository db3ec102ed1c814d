// `doctor`: one line per check (folder, permissions, platform, sign-in, clock, watcher limits), ✓ or ✗ with what
// to do; the exit code says whether (and how) anything failed.

import { accessSync, constants, type Dirent, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_FOLDER_DEPTH, MAX_PATH_BYTES } from '../protocol/index.js';
import { isSignedOut } from '../sync-engine/errors.js';
import { BACKUP_FOLDER, readFolderAccount } from '../sync-engine/folder-rules.js';
import { errnoOf } from '../sync-engine/fsutil.js';
import type { CliContext } from './context.js';
import { EXIT, reachDetail } from './errors.js';

/** Clocks further apart than this make "last write wins" guesswork and tokens look expired early. */
export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;
/** Counting stops here: past this the watcher-limit verdict does not change. */
const COUNT_LIMIT = 2_000_000;

type Verdict = { ok: boolean; text: string; kind?: 'unreachable' | 'signed-out' };

const mode = (path: string): number => statSync(path).mode & 0o777;
const octal = (value: number): string => `0${value.toString(8)}`;

/**
 * The folders the watcher would watch (one OS watch each; ignored big folders skipped), up to COUNT_LIMIT, and the
 * first folder found deeper or longer than a synced path may be (not watched, not synced).
 */
function walkFolders(root: string): { folders: number; tooDeep: string | null } {
  let folders = 0;
  let tooDeep: string | null = null;
  const stack = [''];
  while (stack.length > 0 && folders < COUNT_LIMIT) {
    const rel = stack.pop() as string;
    if (rel !== '' && (Buffer.byteLength(rel) > MAX_PATH_BYTES || rel.split('/').length > MAX_FOLDER_DEPTH)) {
      tooDeep ??= rel;
      continue;
    }
    let entries: Dirent[];
    try {
      entries = readdirSync(rel === '' ? root : join(root, rel), { withFileTypes: true });
    } catch {
      continue;
    }
    folders++;
    for (const entry of entries) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules' || entry.name === BACKUP_FOLDER) continue;
      if (entry.isDirectory()) stack.push(rel === '' ? entry.name : `${rel}/${entry.name}`);
    }
  }
  return { folders, tooDeep };
}

async function folderChecks(ctx: CliContext, dir: string | undefined, accountId: string | null): Promise<Verdict[]> {
  let folder: string;
  try {
    // The same checks a sync makes: not the home folder, not a disk root, not overlapping the data folder.
    folder = ctx.folder(dir);
  } catch (error) {
    return [{ ok: false, text: `Sync folder: ${(error as Error).message}` }];
  }
  const verdicts: Verdict[] = [];
  let exists = true;
  try {
    statSync(folder);
  } catch (error) {
    if (errnoOf(error) !== 'ENOENT') throw error;
    exists = false;
  }
  if (!exists) {
    verdicts.push({ ok: true, text: `Sync folder ${folder} does not exist yet; the first sync creates it.` });
    return verdicts;
  }
  try {
    accessSync(folder, constants.R_OK | constants.W_OK | constants.X_OK);
    verdicts.push({ ok: true, text: `Sync folder ${folder} exists and is writable.` });
  } catch {
    verdicts.push({
      ok: false,
      text: `Sync folder ${folder} is not writable by you; fix its permissions (chmod u+rwx) or choose another with --dir.`,
    });
  }
  const marker = await readFolderAccount(folder).catch(() => null);
  if (marker === null) {
    verdicts.push({ ok: true, text: 'Sync folder is not bound to an account yet; the first sync binds it.' });
  } else if (accountId !== null && marker !== accountId) {
    verdicts.push({
      ok: false,
      text: `Sync folder belongs to another Hyperclay account; sign in as that account, or sync this one into an empty folder (--dir).`,
    });
  } else {
    verdicts.push({ ok: true, text: 'Sync folder is bound to this account.' });
  }
  const walked = walkFolders(folder);
  if (walked.tooDeep !== null) {
    verdicts.push({
      ok: false,
      text: `Folder depth: ${walked.tooDeep.slice(0, 120)}… is deeper or longer than a synced path may be (${MAX_FOLDER_DEPTH} folder levels, ${MAX_PATH_BYTES} bytes); nothing in it is watched or synced.`,
    });
  }
  if (process.platform === 'linux') {
    try {
      const limit = Number(readFileSync('/proc/sys/fs/inotify/max_user_watches', 'utf8').trim());
      const watched = walked.folders;
      if (Number.isFinite(limit) && watched > limit * 0.9) {
        verdicts.push({
          ok: false,
          text: `Watcher limit: ${watched} folders to watch but the system allows ${limit} watches; raise it: sudo sysctl fs.inotify.max_user_watches=${Math.max(524288, watched * 2)}`,
        });
      } else {
        verdicts.push({
          ok: true,
          text: `Watcher limit: ${watched} folders to watch, the system allows ${limit}.`,
        });
      }
    } catch {
      verdicts.push({ ok: true, text: 'Watcher limit: unknown on this system (no inotify limit to read).' });
    }
  }
  return verdicts;
}

function permissionChecks(ctx: CliContext): Verdict[] {
  const { home } = ctx.config.paths;
  const verdicts: Verdict[] = [];
  if (process.platform === 'win32') return verdicts;
  const homeMode = mode(home);
  verdicts.push(
    homeMode & 0o077
      ? {
          ok: false,
          text: `Data folder ${home} is ${octal(homeMode)}: others can read your sign-in; run: chmod 700 "${home}"`,
        }
      : { ok: true, text: `Data folder ${home} is private (${octal(homeMode)}).` },
  );
  const file = ctx.settings.file;
  try {
    const fileMode = mode(file);
    verdicts.push(
      fileMode & 0o077
        ? { ok: false, text: `Settings file ${file} is ${octal(fileMode)}; run: chmod 600 "${file}"` }
        : { ok: true, text: `Settings file is private (${octal(fileMode)}).` },
    );
  } catch (error) {
    if (errnoOf(error) !== 'ENOENT') throw error;
    verdicts.push({ ok: true, text: 'Settings file does not exist yet.' });
  }
  return verdicts;
}

async function platformChecks(ctx: CliContext): Promise<{ verdicts: Verdict[]; accountId: string | null }> {
  const verdicts: Verdict[] = [];
  const api = ctx.api({ timeoutMs: 10_000 });
  try {
    await api.health();
    verdicts.push({ ok: true, text: `Platform ${ctx.config.url} answers.` });
  } catch (error) {
    verdicts.push({
      ok: false,
      kind: 'unreachable',
      text: `Platform ${ctx.config.url} cannot be reached (${reachDetail(error)}); check your connection and HYPERCLAY_URL.`,
    });
    return { verdicts, accountId: null };
  }
  const offset = api.clockOffsetMs;
  if (!ctx.token()) {
    verdicts.push({
      ok: false,
      kind: 'signed-out',
      text: `Not signed in to ${ctx.config.origin}; run: hyperclay-sync login`,
    });
  } else {
    try {
      const me = await api.me();
      verdicts.push({ ok: true, text: `Signed in as ${me.user.email} (${me.user.plan}); the token is valid.` });
    } catch (error) {
      verdicts.push(
        isSignedOut(error)
          ? {
              ok: false,
              kind: 'signed-out',
              text: `Sign-in is no longer valid (${error.message}); run: hyperclay-sync login`,
            }
          : { ok: false, text: `Could not check the sign-in: ${(error as Error).message}` },
      );
    }
  }
  const skew = Math.abs(api.clockOffsetMs || offset);
  verdicts.push(
    skew > MAX_CLOCK_SKEW_MS
      ? {
          ok: false,
          text: `Clock: this computer is ${Math.round(skew / 1000)} s off the platform's; turn on automatic date and time.`,
        }
      : { ok: true, text: `Clock: within ${(skew / 1000).toFixed(1)} s of the platform's.` },
  );
  return { verdicts, accountId: ctx.token()?.user?.id ?? null };
}

export async function doctor(ctx: CliContext, flags: { dir?: string }): Promise<number> {
  const platform = await platformChecks(ctx);
  const verdicts = [
    ...(await folderChecks(ctx, flags.dir, platform.accountId ?? ctx.token()?.user?.id ?? null)),
    ...permissionChecks(ctx),
    ...platform.verdicts,
  ];
  for (const verdict of verdicts) ctx.io.out(`${verdict.ok ? '✓' : '✗'} ${verdict.text}`);
  const failed = verdicts.filter((verdict) => !verdict.ok);
  if (failed.some((verdict) => verdict.kind === 'unreachable')) return EXIT.unreachable;
  if (failed.some((verdict) => verdict.kind === 'signed-out')) return EXIT.signedOut;
  if (failed.length > 0) return EXIT.failed;
  ctx.io.out('All checks passed.');
  return EXIT.done;
}
