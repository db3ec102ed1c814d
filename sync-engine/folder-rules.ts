// Which paths of the sync folder are synced at all (built-in rules + `.syncignore`), which folders may be
// sync folders, and the marker that binds a folder to one account.

import { type Dirent, readFileSync, realpathSync, statSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join, parse, relative, resolve, sep } from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { EngineError } from './errors.js';
import { errnoOf, writeFileAtomic } from './fsutil.js';

export const SYNCIGNORE_FILE = '.syncignore';
export const MARKER_FILE = '.hyperclay-sync';
export const BACKUP_FOLDER = 'sites-versions';

/**
 * SPEC.md "The folder": never synced. Dot-files and dot-folders cover the engine's own temp files
 * (`.hyperclay-tmp-*`), the marker and `.syncignore` itself.
 */
export const BUILTIN_IGNORES: readonly string[] = [
  `/${BACKUP_FOLDER}/`,
  '.*',
  'node_modules/',
  '*~',
  '*.swp',
  '*.swx',
  '.#*',
  '\\#*#',
  '*.tmp',
  '*.crdownload',
  '*.part',
  '~$*',
  '*___jb_tmp___',
  '*___jb_old___',
  '4913',
  '.DS_Store',
  'Thumbs.db',
  'desktop.ini',
];

export interface FolderRules {
  readonly root: string;
  /**
   * True when the path (relative, `/`-separated) or any folder above it is not synced. `isDir` undefined (a watcher
   * that has no stats yet) is judged as a file: folder-only patterns match once the folder is known.
   */
  isIgnored(relPath: string, isDir: boolean | undefined): boolean;
  /** Re-reads `.syncignore` (call it when the file changes). Returns the problem, if the file could not be read. */
  reload(): string | null;
  /** The `.syncignore` patterns in force. */
  readonly userPatterns: readonly string[];
}

export type FolderErrorCode =
  | 'home_folder'
  | 'filesystem_root'
  | 'not_a_folder'
  | 'overlaps_data_folder'
  | 'bound_to_other_account';

export class SyncFolderError extends EngineError {
  declare readonly code: FolderErrorCode;
  constructor(code: FolderErrorCode, message: string) {
    super(code, message);
  }
}

function readSyncIgnore(root: string): { patterns: string[]; problem: string | null } {
  let text: string;
  try {
    text = readFileSync(join(root, SYNCIGNORE_FILE), 'utf8');
  } catch (error) {
    if (errnoOf(error) === 'ENOENT' || errnoOf(error) === 'ENOTDIR') return { patterns: [], problem: null };
    return { patterns: [], problem: `could not read ${SYNCIGNORE_FILE}: ${errnoOf(error) ?? String(error)}` };
  }
  const patterns = text
    .split(/\r?\n/)
    .map((line) => line.replace(/\s+$/, ''))
    .filter((line) => line !== '' && !line.startsWith('#'));
  return { patterns, problem: null };
}

export function createFolderRules(root: string): FolderRules {
  const absRoot = resolve(root);
  // Case-insensitive matching: a rule written `Thumbs.db` must also catch `thumbs.db` on the disks that fold case.
  const builtin: Ignore = ignore({ ignorecase: true }).add([...BUILTIN_IGNORES]);
  let user: Ignore = ignore({ ignorecase: true });
  let userPatterns: string[] = [];
  const cache = new Map<string, boolean>();

  const reload = (): string | null => {
    const read = readSyncIgnore(absRoot);
    userPatterns = read.patterns;
    user = ignore({ ignorecase: true }).add(read.patterns);
    cache.clear();
    return read.problem;
  };
  reload();

  return {
    root: absRoot,
    get userPatterns() {
      return userPatterns;
    },
    reload,
    isIgnored(relPath: string, isDir: boolean | undefined): boolean {
      if (relPath === '' || relPath.startsWith('/') || relPath.split('/').some((s) => s === '..' || s === '')) {
        // Not a path inside the folder: never synced.
        return true;
      }
      const probe = isDir ? `${relPath}/` : relPath;
      const hit = cache.get(probe);
      if (hit !== undefined) return hit;
      let result: boolean;
      try {
        result = builtin.ignores(probe) || user.ignores(probe);
      } catch {
        // `ignore` throws on paths it cannot judge (e.g. odd characters): treat them as not synced.
        result = true;
      }
      if (cache.size > 50_000) cache.clear();
      cache.set(probe, result);
      return result;
    },
  };
}

const sameFolder = (a: string, b: string): boolean =>
  process.platform === 'win32' || process.platform === 'darwin' ? a.toLowerCase() === b.toLowerCase() : a === b;

function realOrResolved(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/** True when `inner` is `outer` or inside it. */
function isWithin(inner: string, outer: string): boolean {
  const rel = relative(outer, inner);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/**
 * Checks a folder chosen as the sync folder: never the home folder, never a filesystem root, never overlapping the
 * app's data folder (bookkeeping is never synced), and a folder if it exists. Returns its absolute path.
 * `home` is for tests.
 */
export function checkSyncFolder(path: string, options: { home?: string; dataHome?: string } = {}): string {
  const home = options.home ?? homedir();
  const abs = resolve(path);
  const real = realOrResolved(abs);
  if (parse(real).root === real || parse(abs).root === abs) {
    throw new SyncFolderError(
      'filesystem_root',
      `"${abs}" is the root of a disk; choose a folder inside it, such as ${join(home, 'Hyperclay')}.`,
    );
  }
  if (sameFolder(real, realOrResolved(home)) || sameFolder(abs, resolve(home))) {
    throw new SyncFolderError(
      'home_folder',
      `"${abs}" is your home folder; choose a folder inside it, such as ${join(home, 'Hyperclay')}.`,
    );
  }
  if (options.dataHome) {
    const data = realOrResolved(options.dataHome);
    if (isWithin(real, data) || isWithin(data, real)) {
      throw new SyncFolderError(
        'overlaps_data_folder',
        `"${abs}" overlaps the app's data folder ${data} (sync state and logs are never synced); choose another folder.`,
      );
    }
  }
  try {
    if (!statSync(abs).isDirectory()) {
      throw new SyncFolderError('not_a_folder', `"${abs}" is a file, not a folder; choose a folder to sync.`);
    }
  } catch (error) {
    if (error instanceof SyncFolderError) throw error;
    if (errnoOf(error) !== 'ENOENT') throw error;
  }
  return abs;
}

/** The account id the folder's marker names, or null when there is no readable marker. */
export async function readFolderAccount(root: string): Promise<string | null> {
  let text: string;
  try {
    text = await readFile(join(root, MARKER_FILE), 'utf8');
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return null;
    throw error;
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null) {
      const id = (parsed as { accountId?: unknown }).accountId;
      if (typeof id === 'string' && id.length > 0) return id;
    }
  } catch {
    // A hand-written marker holding just the id is accepted too.
  }
  const plain = text.trim();
  return plain.length > 0 && !plain.includes('\n') && !plain.startsWith('{') ? plain : null;
}

/** True when the folder holds nothing that would sync (only ignored files, or nothing). */
export async function isFolderEmpty(root: string, rules: FolderRules = createFolderRules(root)): Promise<boolean> {
  let entries: Dirent[];
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return true;
    throw error;
  }
  return entries.every((entry) => rules.isIgnored(entry.name, entry.isDirectory()));
}

/**
 * Binds the folder to `accountId` (creating the folder if needed). A folder already bound to another account is
 * refused unless it is empty apart from ignored files, in which case it is re-bound.
 */
export async function bindFolder(root: string, accountId: string): Promise<void> {
  if (typeof accountId !== 'string' || accountId.length === 0) {
    throw new TypeError('bindFolder needs an account id');
  }
  await mkdir(root, { recursive: true });
  const current = await readFolderAccount(root);
  if (current === accountId) return;
  if (current !== null && !(await isFolderEmpty(root))) {
    throw new SyncFolderError(
      'bound_to_other_account',
      `"${root}" is synced with another Hyperclay account; choose an empty folder or another folder for this account.`,
    );
  }
  await writeFileAtomic(
    join(root, MARKER_FILE),
    `${JSON.stringify({ accountId, boundAt: new Date().toISOString() })}\n`,
  );
}
