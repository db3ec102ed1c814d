// Names and paths of PROTOCOL.md: the one validator both sides use, plus site-name and URL helpers.

import { MAX_FOLDER_DEPTH, MAX_PATH_BYTES, MAX_SEGMENT_BYTES } from './limits.js';

export type PathRule =
  | 'empty'
  | 'absolute'
  | 'empty_segment'
  | 'dot_segment'
  | 'backslash'
  | 'control_character'
  | 'forbidden_character'
  | 'trailing_dot_or_space'
  | 'reserved_windows_name'
  | 'segment_too_long'
  | 'path_too_long'
  | 'too_deep'
  | 'not_a_string';

export type NameRule = 'bad_site_name' | 'reserved_site_name' | 'double_hyphen' | 'not_a_site_file';

export const RULE_TEXT: Record<PathRule | NameRule, string> = {
  empty: 'the path is empty',
  absolute: 'the path must be relative (no leading "/" or drive)',
  empty_segment: 'the path has an empty segment ("//" or a trailing "/")',
  dot_segment: 'a segment is "." or ".."',
  backslash: 'a segment holds a backslash',
  control_character: 'a segment holds NUL or a control character',
  forbidden_character: 'a segment holds one of : * ? " < > |',
  trailing_dot_or_space: 'a segment ends with a dot or a space',
  reserved_windows_name: 'a segment is a reserved Windows name (CON, PRN, AUX, NUL, COM1-9, LPT1-9)',
  segment_too_long: `a segment is longer than ${MAX_SEGMENT_BYTES} bytes`,
  path_too_long: `the path is longer than ${MAX_PATH_BYTES} bytes`,
  too_deep: `the path is more than ${MAX_FOLDER_DEPTH} folders deep`,
  not_a_string: 'the path is not text',
  bad_site_name: 'a site name is 1-63 of a-z, 0-9, "-" and "_", starting and ending with a letter or digit',
  reserved_site_name: 'the site name is reserved',
  double_hyphen: 'a site name may not contain "--"',
  not_a_site_file: 'a site file must end in .html',
};

export type Checked<T, R extends string> = { ok: true; value: T } | { ok: false; rule: R; message: string };

function fail<R extends PathRule | NameRule>(rule: R): { ok: false; rule: R; message: string } {
  return { ok: false, rule, message: RULE_TEXT[rule] };
}

const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[1-9]|lpt[1-9])(\..*)?$/i;
// C0 controls, DEL and C1 controls.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const FORBIDDEN = /[:*?"<>|]/;

const utf8Length = (text: string): number => Buffer.byteLength(text, 'utf8');

export function nfc(text: string): string {
  return text.normalize('NFC');
}

export function checkSegment(segment: string): Checked<string, PathRule> {
  if (segment.length === 0) return fail('empty_segment');
  if (segment === '.' || segment === '..') return fail('dot_segment');
  if (segment.includes('\\')) return fail('backslash');
  if (CONTROL.test(segment)) return fail('control_character');
  if (FORBIDDEN.test(segment)) return fail('forbidden_character');
  if (segment.endsWith('.') || segment.endsWith(' ')) return fail('trailing_dot_or_space');
  if (WINDOWS_RESERVED.test(segment)) return fail('reserved_windows_name');
  if (utf8Length(segment) > MAX_SEGMENT_BYTES) return fail('segment_too_long');
  return { ok: true, value: segment };
}

/**
 * Checks a path (of a file or a folder) against every rule and returns it in NFC.
 * `kind` decides the depth rule: a file may sit in 8 folders, a folder path may be 8 segments long.
 */
export function checkPath(input: unknown, kind: 'file' | 'folder' = 'file'): Checked<string, PathRule> {
  if (typeof input !== 'string') return fail('not_a_string');
  const path = nfc(input);
  if (path.length === 0) return fail('empty');
  if (path.startsWith('/') || /^[a-zA-Z]:/.test(path)) return fail('absolute');
  const segments = path.split('/');
  for (const segment of segments) {
    const checked = checkSegment(segment);
    if (!checked.ok) return checked;
  }
  if (utf8Length(path) > MAX_PATH_BYTES) return fail('path_too_long');
  const folders = kind === 'file' ? segments.length - 1 : segments.length;
  if (folders > MAX_FOLDER_DEPTH) return fail('too_deep');
  return { ok: true, value: path };
}

const SITE_NAME = /^[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?$/;

/** Reserved: Windows device names and the platform's own routes. */
export const RESERVED_SITE_NAMES: ReadonlySet<string> = new Set([
  'con',
  'prn',
  'aux',
  'nul',
  ...Array.from({ length: 9 }, (_, i) => `com${i + 1}`),
  ...Array.from({ length: 9 }, (_, i) => `lpt${i + 1}`),
  'www',
  'api',
  'admin',
  'app',
  'sync',
  'login',
  'device',
  'logout',
  'dashboard',
  'static',
  'assets',
  'uploads',
]);

export function checkSiteName(input: unknown): Checked<string, NameRule> {
  if (typeof input !== 'string' || !SITE_NAME.test(input)) return fail('bad_site_name');
  if (input.includes('--')) return fail('double_hyphen');
  if (RESERVED_SITE_NAMES.has(input)) return fail('reserved_site_name');
  return { ok: true, value: input };
}

/** True when a file name (or path) names a site: it ends in `.html`, any case. */
export function isSiteFile(path: string): boolean {
  return /\.html$/i.test(path);
}

export function baseName(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash === -1 ? path : path.slice(slash + 1);
}

/** The folder part of a path, '' at the root. */
export function folderOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash === -1 ? '' : path.slice(0, slash);
}

export function joinPath(folder: string, name: string): string {
  return folder === '' ? name : `${folder}/${name}`;
}

/** The site name a file path stands for, unchecked: its file name without `.html`, lowercased, in NFC. */
export function siteNameOf(path: string): string {
  return nfc(baseName(path).slice(0, -'.html'.length)).toLowerCase();
}

/** A site file path checked whole: the path rules, then the name rules. */
export function checkSitePath(input: unknown): Checked<{ path: string; name: string }, PathRule | NameRule> {
  const path = checkPath(input, 'file');
  if (!path.ok) return path;
  if (!isSiteFile(path.value)) return fail('not_a_site_file');
  const name = checkSiteName(siteNameOf(path.value));
  if (!name.ok) return name;
  return { ok: true, value: { path: path.value, name: name.value } };
}

/** Where a site lives on the platform: `<folder>/<name>.html`. */
export function platformSitePath(folder: string, name: string): string {
  return joinPath(folder, `${name}.html`);
}

/** The comparison key on a case-insensitive disk: NFC, then lowercased. */
export function caseFoldKey(path: string): string {
  return nfc(path).toLowerCase();
}

/** Percent-encodes each segment and joins them with a literal `/` (URLs and the X-Path header). */
export function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

/** The reverse of encodePath; null when the encoding is broken. */
export function decodePath(encoded: string): string | null {
  try {
    return encoded.split('/').map(decodeURIComponent).join('/');
  } catch {
    return null;
  }
}
