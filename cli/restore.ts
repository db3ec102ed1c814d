// `restore PATH --list | --version ID`: the earlier copies of a file, newest first (the local backups in
// sites-versions, and a site's versions on the platform), and putting one back: the current file is backed up first
// (sync-engine/backup.ts), and the restored content is then an ordinary save that sync pushes.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, isAbsolute, relative, resolve, sep } from 'node:path';
import { checkPath, isSiteFile, siteNameOf, type VersionInfo } from '../protocol/index.js';
import { backupFolderFor, replaceFile } from '../sync-engine/backup.js';
import { readFolderLock } from '../sync-engine/folder-lock.js';
import { BACKUP_FOLDER, createFolderRules } from '../sync-engine/folder-rules.js';
import { formatBytes } from '../sync-engine/log.js';
import { type CliContext, shellQuote } from './context.js';
import { CliError, EXIT, reachDetail } from './errors.js';

/** One earlier copy of a file. */
export interface FileCopy {
  /** What `--version` takes: a local backup's stamp, or `v<version>` for the platform's. */
  id: string;
  where: 'local' | 'platform';
  /** When the copy was made (a backup's stamp; a platform version's time). */
  time: Date;
  size: number;
  /** A local backup's path in the sync folder. */
  path?: string;
}

/** `YYYY-MM-DD-HH-MM-SS-mmm+HHMM`, with `-NNN` when that name was taken (backup.ts backupStamp). */
const STAMP = /^(\d{4})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{3})([+-])(\d{2})(\d{2})(?:-\d{3})?$/;

/** The moment a backup stamp names (it holds its own UTC offset), or null when the name is not a stamp. */
export function stampTime(stamp: string): Date | null {
  const m = STAMP.exec(stamp);
  if (!m) return null;
  const [y, mo, d, h, mi, s, ms, sign, oh, om] = m.slice(1);
  const local = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), Number(ms));
  const offsetMs = (Number(oh) * 60 + Number(om)) * 60_000 * (sign === '-' ? -1 : 1);
  const time = new Date(local - offsetMs);
  return Number.isNaN(time.getTime()) ? null : time;
}

/**
 * PATH as the file's path in the sync folder (`/`-separated): an absolute path or one relative to the working folder
 * when that is inside the sync folder, else relative to the sync folder. Refuses what sync would never sync.
 */
export function fileInFolder(folder: string, arg: string, cwd = process.cwd()): string {
  const here = relative(folder, cwd);
  const insideHere = here === '' || (!here.startsWith('..') && !isAbsolute(here));
  const abs = isAbsolute(arg) ? arg : resolve(insideHere ? cwd : folder, arg);
  const rel = relative(folder, abs).split(sep).join('/');
  const bad = (why: string) => new CliError(EXIT.usage, 'bad_path', `${arg}: ${why}`);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel))
    throw bad(`it is not a file in the sync folder ${folder}.`);
  const checked = checkPath(rel, 'file');
  if (!checked.ok) throw bad(`this path cannot be synced (${checked.message}).`);
  if (rel === BACKUP_FOLDER || rel.startsWith(`${BACKUP_FOLDER}/`)) {
    throw bad(`that is a backup itself; name the file it is a copy of.`);
  }
  if (createFolderRules(folder).isIgnored(checked.value, false)) throw bad('it is not synced (an ignored file).');
  return checked.value;
}

/** The local backups of `rel` in sites-versions, any order. */
export function localCopies(folder: string, rel: string): FileCopy[] {
  const dirRel = backupFolderFor(rel);
  const ext = extname(rel);
  let names: string[];
  try {
    names = readdirSync(resolve(folder, dirRel));
  } catch {
    return [];
  }
  const copies: FileCopy[] = [];
  for (const name of names) {
    // A file and its namesakes with other extensions share the folder (hello.html, hello.txt): keep ours.
    if (extname(name) !== ext) continue;
    const id = ext === '' ? name : name.slice(0, -ext.length);
    const time = stampTime(id);
    if (time === null) continue;
    const info = statSync(resolve(folder, dirRel, name), { throwIfNoEntry: false });
    if (!info?.isFile()) continue;
    copies.push({ id, where: 'local', time, size: info.size, path: `${dirRel}/${name}` });
  }
  return copies;
}

/** A site's versions on the platform (an upload's are not listed by the sync protocol), or why there are none. */
async function platformCopies(ctx: CliContext, rel: string): Promise<{ copies: FileCopy[]; note: string | null }> {
  if (!isSiteFile(rel)) return { copies: [], note: 'The platform lists earlier versions of sites only.' };
  if (!ctx.token()) return { copies: [], note: `Not signed in: the platform's versions are not listed.` };
  let versions: VersionInfo[];
  try {
    versions = await ctx.api({ timeoutMs: 15_000 }).versions(siteNameOf(rel));
  } catch (error) {
    if ((error as { code?: unknown }).code === 'not_found') return { copies: [], note: null };
    return { copies: [], note: `The platform's versions could not be listed (${reachDetail(error)}).` };
  }
  const copies = versions.map(
    (v): FileCopy => ({ id: `v${v.version}`, where: 'platform', time: new Date(v.updatedAt), size: v.size }),
  );
  return { copies, note: null };
}

const two = (n: number): string => String(n).padStart(2, '0');
/** Local time, to the second: `2026-11-28 14:02:11`. */
const localTime = (t: Date): string =>
  `${t.getFullYear()}-${two(t.getMonth() + 1)}-${two(t.getDate())} ${two(t.getHours())}:${two(t.getMinutes())}:${two(t.getSeconds())}`;

async function list(ctx: CliContext, folder: string, rel: string): Promise<number> {
  const platform = await platformCopies(ctx, rel);
  const copies = [...localCopies(folder, rel), ...platform.copies].sort((a, b) => b.time.getTime() - a.time.getTime());
  if (copies.length === 0) {
    ctx.io.out(`There are no earlier copies of ${rel}.`);
  } else {
    const rows = copies.map((c) => [
      c.id,
      localTime(c.time),
      formatBytes(c.size),
      c.where === 'local' ? `this computer (${c.path})` : 'the platform',
    ]);
    const header = ['ID', 'saved', 'size', 'where'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]?.length ?? 0)));
    const line = (cells: string[]) => cells.map((cell, i) => (i < 3 ? cell.padEnd(widths[i] ?? 0) : cell)).join('  ');
    ctx.io.out(`Copies of ${rel}, newest first:`);
    ctx.io.out(line(header));
    for (const row of rows) ctx.io.out(line(row));
    ctx.io.out(`Put one back with: hyperclay-sync restore ${shellQuote(rel)} --version ID`);
  }
  if (platform.note) ctx.io.out(platform.note);
  return EXIT.done;
}

/** The content of the copy `id` of `rel`. */
async function contentOf(ctx: CliContext, folder: string, rel: string, id: string): Promise<Buffer> {
  const local = localCopies(folder, rel).find((copy) => copy.id === id);
  if (local?.path) return readFileSync(resolve(folder, local.path));
  const hint = `Run: hyperclay-sync restore ${shellQuote(rel)} --list`;
  const version = /^v(\d+)$/.exec(id)?.[1];
  if (version === undefined)
    throw new CliError(EXIT.failed, 'no_such_copy', `There is no copy "${id}" of ${rel}. ${hint}`);
  const { copies, note } = await platformCopies(ctx, rel);
  if (!copies.some((copy) => copy.id === id)) {
    throw new CliError(EXIT.failed, 'no_such_copy', `The platform has no version ${id} of ${rel}. ${note ?? hint}`);
  }
  // The sync protocol lists a site's versions but this platform serves only the current content over /sync; an old
  // version is read through PROTOCOL.md's POST /sync/fetch {version}, which this client does not call yet.
  throw new CliError(
    EXIT.failed,
    'version_not_served',
    `The platform keeps ${id} of ${rel}, but this version of hyperclay-sync can only put back the copies on this computer (sites-versions). Restore ${id} on the platform's page for the site; sync then brings it down.`,
  );
}

async function putBack(ctx: CliContext, folder: string, rel: string, id: string): Promise<number> {
  const content = await contentOf(ctx, folder, rel, id);
  const result = await replaceFile(folder, rel, content);
  if (!result.written) {
    ctx.io.out(`${rel} already holds the content of ${id}; nothing was changed.`);
    return EXIT.done;
  }
  ctx.io.out(`Restored ${rel} from ${id} (${formatBytes(content.length)}).`);
  if (result.backup) ctx.io.out(`The content it replaced is kept in ${result.backup.path}.`);
  ctx.log('info', `restore ${rel} from ${id}${result.backup ? ` (replaced copy kept in ${result.backup.path})` : ''}`);
  const holder = readFolderLock(ctx.config.paths.locksDir, folder);
  ctx.io.out(
    holder
      ? `${holder.description} (process ${holder.pid}) syncs this folder: it sends the restored file to the platform now.`
      : 'No sync is running for this folder: run `hyperclay-sync sync` (or `start`) to send it to the platform.',
  );
  return EXIT.done;
}

export async function restore(
  ctx: CliContext,
  argument: string | undefined,
  flags: { list?: boolean; version?: string },
): Promise<number> {
  const listing = flags.list === true;
  if (argument === undefined || listing === (flags.version !== undefined)) {
    throw new CliError(
      EXIT.usage,
      'bad_usage',
      'Give a file and either --list or --version ID, e.g.: hyperclay-sync restore hello.html --list',
    );
  }
  const folder = ctx.folder(undefined);
  const rel = fileInFolder(folder, argument);
  if (listing) return list(ctx, folder, rel);
  return putBack(ctx, folder, rel, flags.version ?? '');
}
