// How the engine names a file write on the wire, the same for a single PUT and a batch item: the file's URL and
// canonical key, the write's checked fields (the PUT headers), and what a saved answer must be to be believed.

import {
  checkPath,
  checkSiteName,
  type Entry,
  encodePath,
  HEADER,
  isIsoUtc,
  isSha256,
  parseEntry,
} from '../protocol/index.js';
import type { FileKind } from './download.js';
import { BadResponseError, EngineError } from './errors.js';

export interface PutFileInput {
  content: Buffer;
  /** Hex sha256 of `content`. */
  sha256: string;
  /** The version this content was edited from; 0 for a new file. */
  baseVersion: number;
  /** The local mtime converted to server time (`toServerTime`), ISO 8601 UTC with ms. */
  modifiedAtIso: string;
  /** For a new site: where it lives locally (its folder is used on the platform). */
  localPath?: string;
}

export interface PutFileResult {
  status: 'saved' | 'created' | 'unchanged';
  entry: Entry;
}

/** The URL path of a file and its key as the platform spells it (an upload's path in NFC). */
export function fileRoute(kind: FileKind, key: string): { url: string; key: string } {
  if (kind === 'site') {
    const name = checkSiteName(key);
    if (!name.ok) throw new EngineError('invalid_name', `"${key}" is not a site name: ${name.message}.`);
    return { url: `/sync/sites/${encodeURIComponent(name.value)}`, key: name.value };
  }
  const path = checkPath(key, 'file');
  if (!path.ok) throw new EngineError('invalid_path', `"${key}" cannot be synced: ${path.message}.`);
  return { url: `/sync/uploads/${encodePath(path.value)}`, key: path.value };
}

/** An entry answered by PUT: PROTOCOL.md gives the entry as the body; `{entry}` is accepted as well. */
export function parseSavedEntry(value: unknown): Entry {
  const entry =
    typeof value === 'object' && value !== null && 'entry' in value && !('kind' in value)
      ? (value as { entry: unknown }).entry
      : value;
  return parseEntry(entry);
}

/** A write's fields as sent: X-Base-Version, X-Modified-At, Content-SHA256 and (for a new site) X-Path, encoded. */
export interface WriteFields {
  baseVersion: number;
  modifiedAt: string;
  sha256: string;
  xPath?: string;
}

/** Checks a write's input: a bad sha256, version or time is the caller's bug (RangeError), a bad path the file's. */
export function writeFields(input: Omit<PutFileInput, 'content'>): WriteFields {
  if (!isSha256(input.sha256)) throw new RangeError('sha256 must be 64 lowercase hex digits');
  if (!Number.isSafeInteger(input.baseVersion) || input.baseVersion < 0) throw new RangeError('bad baseVersion');
  if (!isIsoUtc(input.modifiedAtIso)) throw new RangeError('modifiedAtIso must be ISO 8601 UTC with ms');
  const fields: WriteFields = { baseVersion: input.baseVersion, modifiedAt: input.modifiedAtIso, sha256: input.sha256 };
  if (input.localPath !== undefined) {
    const local = checkPath(input.localPath, 'file');
    if (!local.ok) throw new EngineError('invalid_path', `"${input.localPath}" cannot be synced: ${local.message}.`);
    fields.xPath = encodePath(local.value);
  }
  return fields;
}

/** The headers of a PUT of a file, from a checked input. */
export function putFileHeaders(kind: FileKind, input: PutFileInput): Record<string, string> {
  const fields = writeFields(input);
  const headers: Record<string, string> = {
    'content-type': kind === 'site' ? 'text/html; charset=utf-8' : 'application/octet-stream',
    [HEADER.baseVersion]: String(fields.baseVersion),
    [HEADER.modifiedAt]: fields.modifiedAt,
    [HEADER.contentSha256]: fields.sha256,
  };
  if (fields.xPath !== undefined) headers[HEADER.path] = fields.xPath;
  return headers;
}

/** A saved answer checked against what was sent (the same file, the same content), with its outcome. */
export function savedResult(
  kind: FileKind,
  canonical: string,
  input: { sha256: string; baseVersion: number },
  status: number,
  entry: Entry,
): PutFileResult {
  if (entry.kind !== kind || entry.sha256 !== input.sha256 || entry.deleted) {
    throw new BadResponseError(status, `a saved entry that is not the ${kind} that was sent`);
  }
  if (kind === 'site' ? entry.name !== canonical : entry.path !== canonical) {
    throw new BadResponseError(status, `a saved entry for another ${kind}`);
  }
  const outcome = status === 201 ? 'created' : entry.version === input.baseVersion ? 'unchanged' : 'saved';
  return { status: outcome, entry };
}
