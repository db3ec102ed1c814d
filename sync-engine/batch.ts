// The batch calls of PROTOCOL.md "Batches" as the engine makes them: POST /sync/batch with each item's content read
// only when its part is sent, and POST /sync/fetch streamed part by part into checked, fsynced files.

import { createHash } from 'node:crypto';
import { type FileHandle, open, unlink } from 'node:fs/promises';
import { Readable } from 'node:stream';
import {
  type BatchItem,
  type Entry,
  ERROR_STATUS,
  type ErrorObject,
  isErrorCode,
  isFetchError,
  MAX_BATCH_BYTES,
  MAX_BATCH_ITEMS,
  MAX_FILE_BYTES,
  PART,
  ProtocolViolation,
  parseBatchAnswer,
  parseFetchManifest,
} from '../protocol/index.js';
import {
  contentHead,
  manifestHead,
  multipartEnd,
  multipartType,
  newBoundary,
  readMultipart,
} from '../protocol/multipart.js';
import { checkPlanned, type DownloadExpectation, type FileHeaders, type FileKind, writeInto } from './download.js';
import { BadResponseError, EngineError, errorForAnswer, TransferIntegrityError } from './errors.js';
import { fileRoute, type PutFileInput, type PutFileResult, savedResult, writeFields } from './file-route.js';
import { header, type Transport } from './transport.js';

/** One file of a batch: the fields of its single PUT, its size, and how to read its bytes when its part is sent. */
export interface BatchPutItem extends Omit<PutFileInput, 'content'> {
  kind: FileKind;
  key: string;
  size: number;
  /** Called when the item's part is sent (again on each retry); the bytes whose sha256 is `sha256`. */
  read(): Promise<Buffer>;
}

/** One item's outcome: what its single request would have returned or thrown. */
export type BatchOutcome<T> = { ok: true; value: T } | { ok: false; error: Error };

/** One file to fetch: `version` asks for that version; `expect` is what was planned (size at least, from the listing). */
export interface FetchFileItem {
  kind: FileKind;
  key: string;
  version?: number;
  expect: DownloadExpectation & { size: number };
}

/** What the batch calls need of their client: the transport, the bearer, and the client's abort signal. */
export interface BatchCall {
  transport: Transport;
  bearer: () => Promise<string>;
  signal?: AbortSignal;
}

/** sha256 of no bytes: a part that must not match its item cannot be empty then. */
const EMPTY_SHA256 = createHash('sha256').digest('hex');

/** The manifest item of one file, or the refusal of its name (the item is then not sent). */
function batchItem(item: BatchPutItem): { ok: true; item: BatchItem; key: string } | { ok: false; error: Error } {
  let route: { key: string };
  try {
    route = fileRoute(item.kind, item.key);
  } catch (error) {
    return { ok: false, error: error as Error };
  }
  const fields = writeFields(item);
  const named = item.kind === 'site' ? { name: route.key } : { path: route.key };
  return { ok: true, item: { kind: item.kind, ...named, ...fields }, key: route.key };
}

/**
 * The body of a batch, made anew for each attempt: the manifest, then each item's content as it is read. An item
 * that cannot be read, or reads other bytes than its sha256 (changed meanwhile), is sent as bytes that cannot match,
 * so the platform refuses it alone; its outcome is then the local failure, kept in `unreadable`.
 */
function batchBody(
  boundary: string,
  manifest: BatchItem[],
  items: BatchPutItem[],
  unreadable: Map<number, Error>,
): () => Readable {
  return () =>
    Readable.from(
      (async function* () {
        yield Buffer.concat([manifestHead(boundary), Buffer.from(JSON.stringify({ items: manifest }))]);
        for (const [index, item] of items.entries()) {
          let content: Buffer;
          try {
            content = await item.read();
            if (createHash('sha256').update(content).digest('hex') !== item.sha256) {
              throw new EngineError('changed_locally', `${item.kind} ${item.key} changed while it was being sent.`);
            }
            unreadable.delete(index);
          } catch (error) {
            unreadable.set(index, error as Error);
            content = item.sha256 === EMPTY_SHA256 ? Buffer.from([0]) : Buffer.alloc(0);
          }
          yield contentHead(boundary, index);
          yield content;
        }
        yield multipartEnd(boundary);
      })(),
    );
}

/** What the platform may take per item beyond its bytes (a file written, a version kept, an entry looked up). */
const PER_ITEM_MS = 50;

/**
 * A batch's deadline grows with its bytes as a single transfer's does, and with its items too: the platform answers
 * only once every item is committed, so a wait that fits one file would abandon a busy platform's big batch.
 */
function batchTimes(call: BatchCall, bytes: number, items: number, what: string) {
  const perItems = items * PER_ITEM_MS;
  return { deadline: { ms: call.transport.transferDeadlineMs(bytes) + perItems, what }, extraWaitMs: perItems };
}

/** POST /sync/batch: each item's outcome exactly as its single PUT's; a failure of the whole request is thrown. */
export async function putBatch(call: BatchCall, items: BatchPutItem[]): Promise<BatchOutcome<PutFileResult>[]> {
  if (items.length > MAX_BATCH_ITEMS) throw new RangeError(`a batch holds at most ${MAX_BATCH_ITEMS} items`);
  const total = items.reduce((sum, item) => sum + item.size, 0);
  if (total > MAX_BATCH_BYTES) throw new RangeError(`a batch holds at most ${MAX_BATCH_BYTES} bytes`);
  const outcomes: Array<BatchOutcome<PutFileResult> | null> = [];
  const sent: Array<{ index: number; item: BatchPutItem; key: string }> = [];
  const manifest: BatchItem[] = [];
  for (const [index, item] of items.entries()) {
    const checked = batchItem(item);
    outcomes.push(checked.ok ? null : { ok: false, error: checked.error });
    if (!checked.ok) continue;
    sent.push({ index, item, key: checked.key });
    manifest.push(checked.item);
  }
  if (sent.length === 0) return outcomes as BatchOutcome<PutFileResult>[];
  const boundary = newBoundary();
  const unreadable = new Map<number, Error>();
  const { value: results } = await call.transport.answer(
    {
      method: 'POST',
      path: '/sync/batch',
      bearer: call.bearer,
      body: batchBody(
        boundary,
        manifest,
        sent.map((one) => one.item),
        unreadable,
      ),
      headers: { 'content-type': multipartType(boundary) },
      streaming: true,
      ...batchTimes(call, total, sent.length, `a batch of ${sent.length} files`),
      ...(call.signal ? { signal: call.signal } : {}),
    },
    (value) => parseBatchAnswer(value, sent.length),
  );
  results.forEach((result, n) => {
    const { index, item, key } = sent[n]!;
    const local = unreadable.get(n);
    if (local) outcomes[index] = { ok: false, error: local };
    else if ('entry' in result) {
      outcomes[index] = settle(() => savedResult(item.kind, key, item, result.status, result.entry));
    } else outcomes[index] = { ok: false, error: itemError(result.status, result.error) };
  });
  return outcomes as BatchOutcome<PutFileResult>[];
}

function settle<T>(work: () => T): BatchOutcome<T> {
  try {
    return { ok: true, value: work() };
  } catch (error) {
    return { ok: false, error: error as Error };
  }
}

/** An item's error as the single request's answer would have been thrown (the one classifier of errors.ts). */
function itemError(status: number, error: ErrorObject): Error {
  return errorForAnswer(status, Buffer.from(JSON.stringify({ error })));
}

/** A fetch manifest's error, whose status is the one PROTOCOL.md gives its code. */
function fetchError(error: ErrorObject): Error {
  return itemError(isErrorCode(error.code) ? ERROR_STATUS[error.code] : 400, error);
}

/** A file asked for, with its canonical key and where it goes. */
interface Asked {
  index: number;
  item: FetchFileItem;
  key: string;
  destination: string;
}

/**
 * POST /sync/fetch into `destinations` (one per item; each created or truncated, checked and fsynced as a single
 * download is, removed when its item fails). Each item's outcome is its own; a failure of the whole answer (cut,
 * malformed, a part longer than announced) removes every file it wrote and is thrown, so its items can be retried.
 */
export async function fetchFiles(
  call: BatchCall,
  items: FetchFileItem[],
  destinations: string[],
): Promise<BatchOutcome<FileHeaders>[]> {
  if (destinations.length !== items.length) throw new RangeError('fetchFiles needs one destination per item');
  if (items.length > MAX_BATCH_ITEMS) throw new RangeError(`a fetch asks for at most ${MAX_BATCH_ITEMS} files`);
  const total = items.reduce((sum, item) => sum + item.expect.size, 0);
  if (total > MAX_BATCH_BYTES) throw new RangeError(`a fetch asks for at most ${MAX_BATCH_BYTES} bytes`);
  const outcomes: Array<BatchOutcome<FileHeaders> | null> = [];
  const asked: Asked[] = [];
  for (const [index, item] of items.entries()) {
    try {
      const { key } = fileRoute(item.kind, item.key);
      asked.push({ index, item, key, destination: destinations[index]! });
      outcomes.push(null);
    } catch (error) {
      outcomes.push({ ok: false, error: error as Error });
    }
  }
  if (asked.length === 0) return outcomes as BatchOutcome<FileHeaders>[];
  const request = asked.map(({ item, key }) => ({
    kind: item.kind,
    ...(item.kind === 'site' ? { name: key } : { path: key }),
    ...(item.version === undefined ? {} : { version: item.version }),
  }));
  return call.transport.perform(
    {
      method: 'POST',
      path: '/sync/fetch',
      bearer: call.bearer,
      json: { items: request },
      headers: { accept: 'multipart/form-data' },
      streaming: true,
      ...batchTimes(call, total, asked.length, `a fetch of ${asked.length} files`),
      ...(call.signal ? { signal: call.signal } : {}),
    },
    (response, stream) => new FetchReader(response.statusCode, asked, [...outcomes]).read(stream, response.headers),
  );
}

/** One attempt at reading a fetch answer: the manifest, then each found file's part into its destination. */
class FetchReader {
  private manifest: Array<Entry | null> | null = null;
  /** Files this attempt created: removed when the attempt fails as a whole. */
  private readonly created = new Set<string>();
  /** Each written file's fsync and close, run while the next parts arrive; an Error when it failed. */
  private readonly syncs: Array<{ asked: Asked; done: Promise<Error | null> }> = [];

  constructor(
    private readonly status: number,
    private readonly asked: Asked[],
    private readonly outcomes: Array<BatchOutcome<FileHeaders> | null>,
  ) {}

  async read(
    stream: Readable,
    headers: Record<string, string | string[] | undefined>,
  ): Promise<BatchOutcome<FileHeaders>[]> {
    const type = header(headers, 'content-type') ?? '';
    if (!/^multipart\/form-data\s*;/i.test(type)) throw this.bad('a fetch answer that is not multipart/form-data');
    try {
      let next = 0;
      const limits = { fieldBytes: 16 * 1024 * 1024, fileBytes: MAX_FILE_BYTES + 1, parts: this.asked.length + 1 };
      for await (const part of readMultipart(stream, type, limits)) {
        if (this.manifest === null) {
          if (part.kind !== 'field' || part.name !== PART.manifest || part.truncated)
            throw this.bad('no manifest first');
          this.manifest = this.readManifest(part.value);
          next = this.nextFound(0);
          continue;
        }
        if (part.kind !== 'file' || part.name !== PART.content || next >= this.asked.length) {
          throw this.bad('a part that was not asked for');
        }
        const one = this.asked[next]!;
        this.outcomes[one.index] = await this.receive(part.stream, one, this.manifest[next]!);
        next = this.nextFound(next + 1);
      }
      if (this.manifest === null || next < this.asked.length)
        throw this.bad('an answer that ends before its last file');
      await this.settleSyncs();
      return this.outcomes as BatchOutcome<FileHeaders>[];
    } catch (error) {
      await Promise.all(this.syncs.map((pending) => pending.done));
      await Promise.all([...this.created].map((path) => unlink(path).catch(() => {})));
      if (error instanceof ProtocolViolation) {
        throw new BadResponseError(this.status, `a malformed fetch answer: ${error.message}`, { cause: error });
      }
      throw error;
    }
  }

  private bad(detail: string): BadResponseError {
    return new BadResponseError(this.status, detail);
  }

  /** The manifest: each item an entry of the file asked for, or its error (its outcome, set here). */
  private readManifest(text: string): Array<Entry | null> {
    let items: ReturnType<typeof parseFetchManifest>;
    try {
      items = parseFetchManifest(JSON.parse(text), this.asked.length);
    } catch (error) {
      throw new BadResponseError(this.status, `a malformed fetch manifest: ${(error as Error).message}`, {
        cause: error,
      });
    }
    return items.map((item, n) => {
      const { index, item: wanted, key } = this.asked[n]!;
      if (isFetchError(item)) {
        this.outcomes[index] = { ok: false, error: fetchError(item.error) };
        return null;
      }
      const sameFile = item.kind === wanted.kind && (wanted.kind === 'site' ? item.name === key : item.path === key);
      if (!sameFile || (wanted.version !== undefined && item.version !== wanted.version)) {
        throw this.bad(`a fetched entry for another file than ${wanted.kind} ${key}`);
      }
      return item;
    });
  }

  private nextFound(from: number): number {
    let n = from;
    while (n < this.asked.length && this.manifest![n] === null) n++;
    return n;
  }

  /** One file's part: checked against the plan and its entry, written, its fsync started. */
  private async receive(stream: Readable, one: Asked, entry: Entry): Promise<BatchOutcome<FileHeaders>> {
    const what = `${one.item.kind} ${one.key}`;
    try {
      const announced = { sha256: entry.sha256!, version: entry.version!, updatedAt: entry.updatedAt };
      checkPlanned(one.item.expect, entry.size === undefined ? announced : { ...announced, size: entry.size }, what);
      if (entry.size !== one.item.expect.size) {
        throw new TransferIntegrityError(
          'size',
          `${what} is announced with ${entry.size} bytes, not ${one.item.expect.size}`,
        );
      }
    } catch (error) {
      stream.resume();
      return { ok: false, error: error as Error };
    }
    const handle = await open(one.destination, 'w');
    this.created.add(one.destination);
    try {
      const written = await writeInto(stream, handle, entry.size!, true, what);
      if (written.sha256 !== entry.sha256) {
        throw new TransferIntegrityError('sha256', `${what} arrived with a sha256 that does not match its entry`);
      }
    } catch (error) {
      await handle.close();
      // A part longer than announced (or a cut answer) cannot be trusted to end: the whole answer fails.
      if (!(error instanceof TransferIntegrityError) || error.reason === 'too_long') throw error;
      await this.remove(one.destination);
      return { ok: false, error };
    }
    this.syncs.push({ asked: one, done: syncAndClose(handle) });
    return { ok: true, value: fileHeadersOf(entry) };
  }

  /** The files' fsyncs: one that failed fails its item (and its file is removed). */
  private async settleSyncs(): Promise<void> {
    for (const { asked, done } of this.syncs) {
      const error = await done;
      if (error === null) continue;
      await this.remove(asked.destination);
      this.outcomes[asked.index] = { ok: false, error };
    }
  }

  private async remove(path: string): Promise<void> {
    this.created.delete(path);
    await unlink(path).catch(() => {});
  }
}

/** fsync then close; the failure as a value, so a pending one never goes unhandled. */
function syncAndClose(handle: FileHandle): Promise<Error | null> {
  return handle
    .sync()
    .finally(() => handle.close())
    .then(
      () => null,
      (error: Error) => error,
    );
}

function fileHeadersOf(entry: Entry): FileHeaders {
  const { kind, path, size, sha256, version, updatedAt } = entry;
  const headers: FileHeaders = {
    kind: kind as FileKind,
    path,
    size: size!,
    sha256: sha256!,
    version: version!,
    updatedAt,
  };
  if (entry.name !== undefined) headers.name = entry.name;
  return headers;
}
