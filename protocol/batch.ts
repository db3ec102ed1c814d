// PROTOCOL.md "Batches" as types and validators: the manifest of POST /sync/batch and its results, the request of
// POST /sync/fetch and its manifest. The server checks each item on its own (an item's error is only its own).

import { type Entry, ProtocolViolation, parseEntry } from './entries.js';
import { parseErrorBody } from './errors.js';
import { MAX_BATCH_ITEMS, MAX_FETCH_BYTES } from './limits.js';

/** One item of a batch's manifest: the headers of the single PUT as fields. */
export interface BatchItem {
  kind: 'site' | 'upload';
  /** Sites: the name of `PUT /sync/sites/{name}`. */
  name?: string;
  /** Uploads: the path of `PUT /sync/uploads/{path}`, plain text (not percent-encoded). */
  path?: string;
  /** X-Base-Version. */
  baseVersion: number;
  /** X-Modified-At. */
  modifiedAt: string;
  /** Content-SHA256. */
  sha256: string;
  /** X-Path, percent-encoded as the header is: for a new site, where it lives locally. */
  xPath?: string;
}

export interface BatchManifest {
  items: BatchItem[];
}

/** The error object of PROTOCOL.md "Errors" (code, message and the code's extra fields). */
export type ErrorObject = { code: string; message: string; [field: string]: unknown };

/** One item's answer: exactly the status and body its single PUT would have had. */
export type BatchResult = { status: number; entry: Entry } | { status: number; error: ErrorObject };

export interface BatchAnswer {
  results: BatchResult[];
}

/** One file asked for by POST /sync/fetch; `version` asks for that version (the current one or a kept backup). */
export interface FetchItem {
  kind: 'site' | 'upload';
  name?: string;
  path?: string;
  version?: number;
}

export interface FetchRequest {
  items: FetchItem[];
}

/** One item of the fetch answer's manifest: the file's entry (its content part follows), or why it is not sent. */
export type FetchManifestItem = Entry | { error: ErrorObject };

export interface FetchManifest {
  items: FetchManifestItem[];
}

/** The part names of both multipart bodies. */
export const PART = { manifest: 'manifest', content: 'content' } as const;

/** The items of a batch manifest or fetch request, each still to be checked on its own; throws when the envelope is malformed. */
export function readItemList(value: unknown, what: string): unknown[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ProtocolViolation(`the ${what} is not a JSON object`);
  }
  const items = (value as { items?: unknown }).items;
  if (!Array.isArray(items)) throw new ProtocolViolation(`the ${what} has no items list`);
  if (items.length > MAX_BATCH_ITEMS) {
    throw new ProtocolViolation(`the ${what} has ${items.length} items; at most ${MAX_BATCH_ITEMS} are allowed`);
  }
  return items;
}

function parseErrorObject(value: unknown, what: string): ErrorObject {
  const parsed = parseErrorBody({ error: value });
  if (!parsed) throw new ProtocolViolation(`${what} has an error without a code and a message`);
  return { ...parsed.body, code: parsed.code, message: parsed.message };
}

const isStatus = (value: unknown): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= 200 && value <= 599;

/** The answer of POST /sync/batch: one result per item sent, in order; a saved entry is a valid live file. */
export function parseBatchAnswer(value: unknown, count: number): BatchResult[] {
  const results = typeof value === 'object' && value !== null ? (value as { results?: unknown }).results : undefined;
  if (!Array.isArray(results)) throw new ProtocolViolation('batch answer has no results');
  if (results.length !== count) {
    throw new ProtocolViolation(`batch answer has ${results.length} results for ${count} items`);
  }
  return results.map((raw: unknown, index): BatchResult => {
    const what = `batch result ${index}`;
    if (typeof raw !== 'object' || raw === null) throw new ProtocolViolation(`${what} is not an object`);
    const { status, entry, error } = raw as { status?: unknown; entry?: unknown; error?: unknown };
    if (!isStatus(status)) throw new ProtocolViolation(`${what} has a bad status`);
    if (status < 300) return { status, entry: parseFileEntry(entry, what) };
    return { status, error: parseErrorObject(error, what) };
  });
}

/** A live file entry (a site or an upload with size, sha256 and version). */
function parseFileEntry(value: unknown, what: string): Entry {
  const entry = parseEntry(value);
  if (entry.kind === 'folder' || entry.deleted) throw new ProtocolViolation(`${what} is not a live file`);
  return entry;
}

/**
 * The manifest of a fetch answer: one item per file asked for, in order, each a live file entry or an error. The
 * entries' sizes may add up to at most MAX_FETCH_BYTES (the server refuses more than that).
 */
export function parseFetchManifest(value: unknown, count: number): FetchManifestItem[] {
  const items = readItemList(value, 'fetch manifest');
  if (items.length !== count) throw new ProtocolViolation(`fetch manifest has ${items.length} items for ${count}`);
  let total = 0;
  const parsed = items.map((raw: unknown, index): FetchManifestItem => {
    const what = `fetch item ${index}`;
    if (typeof raw === 'object' && raw !== null && 'error' in raw) {
      return { error: parseErrorObject((raw as { error: unknown }).error, what) };
    }
    const entry = parseFileEntry(raw, what);
    total += entry.size ?? 0;
    return entry;
  });
  if (total > MAX_FETCH_BYTES) throw new ProtocolViolation(`fetch manifest announces ${total} bytes`);
  return parsed;
}

export function isFetchError(item: FetchManifestItem): item is { error: ErrorObject } {
  return 'error' in item;
}
