// A file download checked end to end: the answer's ETag, X-Version, X-Updated-At and X-Path against what was asked
// and planned, the body's size and sha256 against them, streamed into a file that is fsynced or removed.

import { createHash } from 'node:crypto';
import { type FileHandle, open, unlink } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Request as GotRequest, PlainResponse } from 'got';
import { checkPath, checkSitePath, decodePath, HEADER, isIsoUtc, isSha256, writeAll } from '../protocol/index.js';
import { BadResponseError, TransferIntegrityError } from './errors.js';
import { header, type Transport } from './transport.js';

export type FileKind = 'site' | 'upload';

/** What a file download's headers say the file is; checked against the bytes that arrived. */
export interface FileHeaders {
  kind: FileKind;
  /** Sites only. */
  name?: string;
  path: string;
  size: number;
  sha256: string;
  version: number;
  updatedAt: string;
}

export interface DownloadExpectation {
  size?: number;
  sha256?: string;
  version?: number;
}

export interface DownloadRequest {
  kind: FileKind;
  /** The site name or upload path as the platform spells it. */
  key: string;
  /** The file's URL path, percent-encoded. */
  path: string;
  /** How the file is named in error sentences. */
  what: string;
  destinationPath: string;
  expect: DownloadExpectation | undefined;
  /** The cap for a body whose size nobody announced. */
  maxUnannouncedBytes: number;
  bearer: () => Promise<string>;
  /** Aborts the download (a stop). */
  signal?: AbortSignal;
}

/** The file a download's headers describe (size still 0: the body tells). */
function fileHeaders(kind: FileKind, key: string, response: PlainResponse): FileHeaders {
  const status = response.statusCode;
  const etag = header(response.headers, 'etag')
    ?.replace(/^W\//, '')
    .replace(/^"(.*)"$/, '$1');
  const versionText = header(response.headers, HEADER.version) ?? '';
  const version = /^\d{1,15}$/.test(versionText) ? Number(versionText) : Number.NaN;
  const updatedAt = header(response.headers, HEADER.updatedAt);
  const encodedPath = header(response.headers, HEADER.path);
  if (!isSha256(etag)) throw new BadResponseError(status, 'a file without a valid ETag');
  if (!Number.isSafeInteger(version) || version < 1)
    throw new BadResponseError(status, 'a file without a valid X-Version');
  if (!isIsoUtc(updatedAt)) throw new BadResponseError(status, 'a file without a valid X-Updated-At');
  const decoded = encodedPath === undefined ? null : decodePath(encodedPath);
  if (decoded === null) throw new BadResponseError(status, 'a file without a valid X-Path');
  if (kind === 'site') {
    const site = checkSitePath(decoded);
    if (!site.ok || site.value.name !== key)
      throw new BadResponseError(status, 'a site whose X-Path does not match its name');
    return { kind, name: key, path: site.value.path, size: 0, sha256: etag, version, updatedAt };
  }
  const path = checkPath(decoded, 'file');
  if (!path.ok || path.value !== key)
    throw new BadResponseError(status, 'an upload whose X-Path is not the path asked for');
  return { kind, path: path.value, size: 0, sha256: etag, version, updatedAt };
}

/**
 * The body's size when someone announced it (the plan, else Content-Length), or null; throws when the answer is not
 * the version that was planned or announces another size.
 */
function announcedSize(request: DownloadRequest, headers: FileHeaders, response: PlainResponse): number | null {
  const { expect, what } = request;
  const lengthHeader = header(response.headers, 'content-length');
  const announced = lengthHeader !== undefined && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : null;
  checkPlanned(expect, { ...headers, ...(announced === null ? { size: undefined } : { size: announced }) }, what);
  if (announced !== null && expect?.size !== undefined && announced !== expect.size) {
    throw new TransferIntegrityError('size', `${what} is announced with ${announced} bytes, not ${expect.size}`);
  }
  return expect?.size ?? announced;
}

/** Throws `changed` when the platform now holds another version than the one planned. */
export function checkPlanned(
  expect: DownloadExpectation | undefined,
  announced: { sha256: string; version: number; size?: number; updatedAt?: string },
  what: string,
): void {
  if (expect?.sha256 !== undefined && expect.sha256 !== announced.sha256) {
    throw new TransferIntegrityError(
      'changed',
      `${what} is no longer the version that was planned (v${announced.version} ${announced.sha256.slice(0, 10)}, not ${expect.version === undefined ? '' : `v${expect.version} `}${expect.sha256.slice(0, 10)})`,
      announced,
    );
  }
  if (expect?.version !== undefined && expect.version !== announced.version) {
    throw new TransferIntegrityError(
      'changed',
      `${what} is now version ${announced.version}, not ${expect.version}`,
      announced,
    );
  }
}

/**
 * Streams a body into an open file, hashing it; at most `limit` bytes, exactly `limit` when `exact`. A body longer
 * than `limit` is destroyed (it cannot be trusted to end).
 */
export async function writeInto(
  stream: Readable,
  handle: FileHandle,
  limit: number,
  exact: boolean,
  what: string,
): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      stream.destroy();
      throw new TransferIntegrityError('too_long', `${what} sent more than the ${limit} bytes announced`);
    }
    hash.update(chunk);
    await writeAll(handle, [chunk]);
  }
  if (exact && size !== limit) {
    throw new TransferIntegrityError('size', `${what} arrived with ${size} bytes instead of ${limit}`);
  }
  return { size, sha256: hash.digest('hex') };
}

/** Streams the body into the file (writeInto), then fsyncs and closes it. */
async function writeBody(
  stream: GotRequest,
  destinationPath: string,
  limit: number,
  exact: boolean,
  what: string,
  onOpened: () => void,
): Promise<{ size: number; sha256: string }> {
  let handle: FileHandle | null = await open(destinationPath, 'w');
  onOpened();
  try {
    const written = await writeInto(stream, handle, limit, exact, what);
    await handle.sync();
    const closing = handle;
    handle = null;
    await closing.close();
    return written;
  } finally {
    await handle?.close().catch(() => {});
  }
}

/** GET a file into `destinationPath` (created or truncated), verified and fsynced; removed on failure. */
export async function downloadFile(transport: Transport, request: DownloadRequest): Promise<FileHeaders> {
  const { path, what, destinationPath } = request;
  // Only a file this call created is removed on failure.
  let opened = false;
  try {
    // The planned size sets the deadline; an unannounced one gets the deadline of the cap.
    const deadline = { ms: transport.transferDeadlineMs(request.expect?.size ?? request.maxUnannouncedBytes), what };
    return await transport.perform(
      {
        method: 'GET',
        path,
        bearer: request.bearer,
        streaming: true,
        headers: { accept: '*/*' },
        deadline,
        ...(request.signal ? { signal: request.signal } : {}),
      },
      async (response, stream) => {
        const headers = fileHeaders(request.kind, request.key, response);
        const known = announcedSize(request, headers, response);
        const limit = known ?? request.maxUnannouncedBytes;
        const written = await writeBody(stream, destinationPath, limit, known !== null, what, () => {
          opened = true;
        });
        if (written.sha256 !== headers.sha256) {
          throw new TransferIntegrityError('sha256', `${what} arrived with a sha256 that does not match its ETag`);
        }
        return { ...headers, size: written.size };
      },
    );
  } catch (error) {
    if (opened) await unlink(destinationPath).catch(() => {});
    throw error;
  }
}
