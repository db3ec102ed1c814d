// POST /sync/batch and /sync/fetch spoken by hand, as any client could: the multipart body built from the
// protocol's part heads, the fetch answer read with the protocol's multipart reader.

import { Readable } from 'node:stream';
import type { Entry } from '../../protocol/index.js';
import {
  contentHead,
  manifestHead,
  multipartEnd,
  multipartType,
  newBoundary,
  readMultipart,
} from '../../protocol/multipart.js';
import { type ApiResponse, type SyncApi, sha256Hex } from './platform.js';

/** One batch item: the manifest fields (defaults: base 0, modified now, the content's real sha256) and its content. */
export interface RawBatchItem {
  kind: 'site' | 'upload';
  name?: string;
  path?: string;
  content: string | Buffer;
  baseVersion?: number;
  modifiedAt?: string | number;
  sha256?: string;
  xPath?: string;
  /** Fields to put into the manifest item as they are (malformed items). */
  raw?: Record<string, unknown>;
}

/** The multipart body of a batch: the manifest, then the content of the first `contentParts` items (default all). */
export function batchBody(items: RawBatchItem[], contentParts = items.length): { body: Buffer; type: string } {
  const boundary = newBoundary();
  const manifest = items.map((item) => {
    const modifiedAt = item.modifiedAt ?? Date.now();
    return {
      kind: item.kind,
      ...(item.name === undefined ? {} : { name: item.name }),
      ...(item.path === undefined ? {} : { path: item.path }),
      baseVersion: item.baseVersion ?? 0,
      modifiedAt: typeof modifiedAt === 'number' ? new Date(modifiedAt).toISOString() : modifiedAt,
      sha256: item.sha256 ?? sha256Hex(item.content),
      ...(item.xPath === undefined ? {} : { xPath: item.xPath }),
      ...item.raw,
    };
  });
  const parts: Buffer[] = [manifestHead(boundary), Buffer.from(JSON.stringify({ items: manifest }))];
  items.slice(0, contentParts).forEach((item, index) => {
    parts.push(contentHead(boundary, index), Buffer.from(item.content));
  });
  parts.push(multipartEnd(boundary));
  return { body: Buffer.concat(parts), type: multipartType(boundary) };
}

/** One item's answer in a batch's results. */
export interface RawResult {
  status: number;
  entry?: Entry;
  error?: { code: string; message: string; [field: string]: unknown };
}

export async function postBatch(api: SyncApi, items: RawBatchItem[]): Promise<ApiResponse & { results: RawResult[] }> {
  const { body, type } = batchBody(items);
  const response = await api.request('POST', '/sync/batch', { body, headers: { 'content-type': type } });
  return { ...response, results: (response.json.results as RawResult[] | undefined) ?? [] };
}

/** A fetch answer read part by part: the manifest's items and each content part, in order. */
export interface FetchAnswer {
  status: number;
  json: Record<string, unknown>;
  items: Array<Entry | { error: { code: string; message: string } }>;
  contents: Buffer[];
}

export async function postFetch(api: SyncApi, items: unknown[]): Promise<FetchAnswer> {
  const response = await api.request('POST', '/sync/fetch', {
    body: JSON.stringify({ items }),
    headers: { 'content-type': 'application/json' },
  });
  const type = response.headers.get('content-type') ?? '';
  if (response.status !== 200) return { status: response.status, json: response.json, items: [], contents: [] };
  let manifest: FetchAnswer['items'] = [];
  const contents: Buffer[] = [];
  const limits = { fieldBytes: 64 * 1024 * 1024, fileBytes: 64 * 1024 * 1024, parts: 2000 };
  for await (const part of readMultipart(Readable.from([response.body]), type, limits)) {
    if (part.kind === 'field') manifest = (JSON.parse(part.value) as { items: FetchAnswer['items'] }).items;
    else {
      const chunks: Buffer[] = [];
      for await (const chunk of part.stream) chunks.push(chunk as Buffer);
      contents.push(Buffer.concat(chunks));
    }
  }
  return { status: response.status, json: {}, items: manifest, contents };
}
