// HTTP pieces the endpoint modules and the reference server share: a protocol error reply, a bounded body read for
// small JSON and form bodies, and file bodies streamed to disk (staged) within a size bound and a body deadline.

import { createHash, randomUUID } from 'node:crypto';
import { type FileHandle, lstat, mkdir, open, rm, unlink } from 'node:fs/promises';
import { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context } from 'hono';
import { ERROR_STATUS, type ErrorCode, errorBody, writeAll } from '../protocol/index.js';
import type { StagedContent, SyncStorage } from './types.js';

/** A PROTOCOL.md error body with the status the protocol gives its code. */
export function fail(c: Context, code: ErrorCode, message: string, extra: Record<string, unknown> = {}): Response {
  return c.json(errorBody(code, message, extra), ERROR_STATUS[code]);
}

/**
 * For an answer given before the request's body was read to its end: the connection is closed after it rather
 * than kept alive with the unread rest of the body on it.
 */
export function closeAfter(c: Context): void {
  c.header('Connection', 'close');
}

export class BodyTooLarge extends Error {}

/** A body that stopped arriving: dropped rather than held open (a slow or stuck client must not pin a request). */
export class BodyStalled extends Error {}

/** How long a body may send nothing before it is dropped, unless the endpoints are told otherwise. */
export const DEFAULT_BODY_IDLE_MS = 30_000;
/** How much of a body is gathered before it is written to its staged file. */
const WRITE_BYTES = 256 * 1024;
/** The slowest rate a body may keep up as a whole (beyond the idle allowance), as the engine's transfers do. */
const MIN_BODY_BYTES_PER_S = 64 * 1024;

export interface BodyLimits {
  /** More bytes than this is BodyTooLarge. */
  max: number;
  /** No byte for this long is BodyStalled. */
  idleMs: number;
}

/** Where a body is read from: a Hono context (its host's Node request when there is one) or a web Request. */
export type BodySource = Context | Request;

/**
 * The body's chunks as they arrive, within the limits: past `max` bytes (declared or sent) BodyTooLarge; no byte for
 * `idleMs`, or slower than MIN_BODY_BYTES_PER_S on the whole, BodyStalled. Either way reading stops there and the
 * rest is never buffered (the host drains or closes the connection after the answer).
 */
export async function* bodyChunks(source: BodySource, limits: BodyLimits): AsyncGenerator<Buffer> {
  const request = 'req' in source ? source.req.raw : source;
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > limits.max) throw new BodyTooLarge();
  const expected = declared === null ? limits.max : Number(declared);
  const allowanceMs = limits.idleMs + Math.ceil((expected / MIN_BODY_BYTES_PER_S) * 1000);
  const timing = { idleMs: limits.idleMs, allowanceMs, deadline: Date.now() + allowanceMs };
  const incoming = 'req' in source ? nodeRequestOf(source) : null;
  let total = 0;
  for await (const chunk of incoming ? incomingChunks(incoming, timing) : webChunks(request, timing)) {
    total += chunk.length;
    if (total > limits.max) throw new BodyTooLarge();
    yield chunk;
  }
}

interface BodyTiming {
  idleMs: number;
  allowanceMs: number;
  deadline: number;
}

function stalled(timing: BodyTiming): BodyStalled {
  return new BodyStalled(
    Date.now() >= timing.deadline
      ? `the body arrived too slowly (not complete after ${Math.round(timing.allowanceMs / 1000)} s)`
      : `the body stopped arriving (nothing for ${Math.round(timing.idleMs / 1000)} s)`,
  );
}

/** The host's Node request under @hono/node-server (its `env.incoming`), read directly: no web-stream layer per chunk. */
function nodeRequestOf(c: Context): IncomingMessage | null {
  const incoming = (c.env as { incoming?: unknown } | undefined)?.incoming;
  return incoming instanceof IncomingMessage && !incoming.readableDidRead ? incoming : null;
}

/** A Node request's chunks: whatever is buffered at each wake-up, waiting at most the idle time for more. */
async function* incomingChunks(incoming: IncomingMessage, timing: BodyTiming): AsyncGenerator<Buffer> {
  for (;;) {
    const chunk = incoming.read() as Buffer | null;
    if (chunk !== null) {
      yield chunk;
      continue;
    }
    if (incoming.readableEnded) return;
    const woke = await nextEvent(incoming, Math.min(timing.idleMs, timing.deadline - Date.now()));
    if (woke === 'timeout') throw stalled(timing);
    if (woke instanceof Error) throw woke;
  }
}

/** Resolves when the stream has data or ends ('ready'), fails or closes early (the error), or after `ms`. */
function nextEvent(stream: IncomingMessage, ms: number): Promise<'ready' | 'timeout' | Error> {
  return new Promise((resolve) => {
    const done = (outcome: 'ready' | 'timeout' | Error): void => {
      clearTimeout(timer);
      stream.off('readable', ready);
      stream.off('end', ready);
      stream.off('error', failed);
      stream.off('close', closed);
      resolve(outcome);
    };
    const ready = (): void => done('ready');
    const failed = (error: Error): void => done(error);
    const closed = (): void => done(stream.readableEnded ? 'ready' : new Error('the connection closed mid-body'));
    const timer = setTimeout(() => done('timeout'), Math.max(0, ms));
    stream.on('readable', ready);
    stream.on('end', ready);
    stream.on('error', failed);
    stream.on('close', closed);
  });
}

/** A web Request's chunks, each read within the idle time; the stream is cancelled when reading stops early. */
async function* webChunks(request: Request, timing: BodyTiming): AsyncGenerator<Buffer> {
  if (!request.body) return;
  const reader = request.body.getReader();
  let done = false;
  try {
    for (;;) {
      const next = await readWithin(reader, Math.min(timing.idleMs, timing.deadline - Date.now()));
      if (next === null) throw stalled(timing);
      if (next.done) {
        done = true;
        return;
      }
      yield Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    }
  } finally {
    if (!done) await reader.cancel().catch(() => {});
  }
}

/** The next chunk, or null when none came within `ms`. */
async function readWithin(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  ms: number,
): Promise<ReadableStreamReadResult<Uint8Array> | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), Math.max(0, ms));
  });
  try {
    return await Promise.race([reader.read(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Reads a small body (JSON, a form) into memory up to `max` bytes, hashing it on the way; more is BodyTooLarge. File
 * bodies are staged on disk instead (stageBody).
 */
export async function readBody(
  request: BodySource,
  max: number,
  idleMs = DEFAULT_BODY_IDLE_MS,
): Promise<{ content: Buffer; sha256: string }> {
  const hash = createHash('sha256');
  const chunks: Buffer[] = [];
  for await (const chunk of bodyChunks(request, { max, idleMs })) {
    hash.update(chunk);
    chunks.push(chunk);
  }
  return { content: Buffer.concat(chunks), sha256: hash.digest('hex') };
}

/** Where request bodies are staged, and whether each is fsynced there (a storage that renames it in needs that). */
export interface Staging {
  dir: string;
  durable: boolean;
  /** A folder in a shared place (the OS temp folder): used only while it is this user's alone. */
  shared?: boolean;
}

/** A storage's staging: its own folder (its files renamed into its store: fsynced), else one in the OS temp folder. */
export function stagingOf(storage: SyncStorage): Staging {
  if (storage.stagingDir !== undefined) return { dir: storage.stagingDir, durable: true };
  const owner = process.getuid?.() ?? 'user';
  return { dir: join(tmpdir(), `hyperclay-sync-bodies-${owner}`), durable: false, shared: true };
}

/**
 * A new file for a staged body; its folder is made only when missing (not once per request). In a shared place the
 * folder must be this user's alone: whoever else could write there could swap a body after it was hashed.
 */
async function newStagedFile(staging: Staging): Promise<{ file: string; handle: FileHandle }> {
  const file = join(staging.dir, `body-${randomUUID()}`);
  try {
    if (staging.shared) await checkPrivate(staging.dir);
    return { file, handle: await open(file, 'wx', 0o600) };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await mkdir(staging.dir, { recursive: true, mode: 0o700 });
    if (staging.shared) await checkPrivate(staging.dir);
    return { file, handle: await open(file, 'wx', 0o600) };
  }
}

async function checkPrivate(dir: string): Promise<void> {
  const info = await lstat(dir);
  const mine = process.getuid === undefined || info.uid === process.getuid();
  if (!info.isDirectory() || !mine || (info.mode & 0o077) !== 0) {
    throw new Error(`${dir} is not a folder of this user's alone; request bodies are not staged there`);
  }
}

/**
 * Writes `chunks` into a new file of `staging`, hashing and counting them; at most `max` bytes (BodyTooLarge past
 * it). The file is removed when anything fails; on success the caller owns it (discardStaged once the storage is
 * done with it).
 */
export async function stageChunks(
  chunks: AsyncIterable<Buffer> | Iterable<Buffer>,
  staging: Staging,
  max: number,
): Promise<StagedContent> {
  const { file, handle } = await newStagedFile(staging);
  const hash = createHash('sha256');
  let size = 0;
  // Socket-sized chunks are gathered into larger writes: one call per WRITE_BYTES instead of one per chunk.
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = async (): Promise<void> => {
    if (pendingBytes === 0) return;
    const buffers = pending;
    pending = [];
    pendingBytes = 0;
    await writeAll(handle, buffers);
  };
  try {
    try {
      for await (const chunk of chunks) {
        size += chunk.length;
        if (size > max) throw new BodyTooLarge();
        hash.update(chunk);
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (pendingBytes >= WRITE_BYTES) await flush();
      }
      await flush();
      if (staging.durable) await handle.sync();
    } finally {
      await handle.close();
    }
    return { file, size, sha256: hash.digest('hex'), synced: staging.durable };
  } catch (error) {
    await rm(file, { force: true });
    throw error;
  }
}

/** A request's body staged on disk (see bodyChunks for the limits). */
export function stageBody(source: BodySource, staging: Staging, limits: BodyLimits): Promise<StagedContent> {
  return stageChunks(bodyChunks(source, limits), staging, limits.max);
}

/** Removes a staged body the storage did not take (it may have renamed it away already). */
export async function discardStaged(staged: StagedContent | null | undefined): Promise<void> {
  // unlink, not rm: one call, and most staged files were renamed away already.
  if (staged) await unlink(staged.file).catch(() => {});
}
