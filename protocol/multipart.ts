// The multipart/form-data framing of PROTOCOL.md "Batches", both ways: part heads to write around a manifest and
// content parts, and a streaming reader (busboy) that hands the parts over one at a time. Opens nothing itself.

import { PassThrough, type Readable } from 'node:stream';
import busboy from 'busboy';
import { PART } from './batch.js';
import { ProtocolViolation } from './entries.js';

/** A boundary no content can contain by chance (a random UUID). */
export function newBoundary(): string {
  return `hyperclay-${crypto.randomUUID()}`;
}

export function multipartType(boundary: string): string {
  return `multipart/form-data; boundary=${boundary}`;
}

/** The head of the manifest part (always the first part). */
export function manifestHead(boundary: string): Buffer {
  return Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="${PART.manifest}"\r\n` +
      'Content-Type: application/json\r\n\r\n',
  );
}

/** The head of the content part of item `index`; it ends the part before it. */
export function contentHead(boundary: string, index: number): Buffer {
  return Buffer.from(
    `\r\n--${boundary}\r\nContent-Disposition: form-data; name="${PART.content}"; filename="${index}"\r\n` +
      'Content-Type: application/octet-stream\r\n\r\n',
  );
}

/** The end of the body, after the last part. */
export function multipartEnd(boundary: string): Buffer {
  return Buffer.from(`\r\n--${boundary}--\r\n`);
}

export type MultipartPart =
  /** A part without a file name or a binary type (the manifest): its text, read whole up to the limit. */
  | { kind: 'field'; name: string; value: string; truncated: boolean }
  /** A content part: its bytes as they arrive. Read it to its end (or destroy the body) before the next part. */
  | { kind: 'file'; name: string; stream: Readable };

export interface MultipartLimits {
  /** The longest field (manifest) in bytes; a longer one arrives with `truncated`. */
  fieldBytes: number;
  /** The largest content part in bytes; past it the rest of the part is dropped (callers bound sizes themselves). */
  fileBytes: number;
  /** How many parts in all; one more fails the read. */
  parts: number;
}

/** A body that is not the multipart framing it claims to be. */
export class MultipartError extends ProtocolViolation {}

/**
 * The parts of a multipart/form-data body in order. A failure of the body itself (a cut connection) fails the part
 * being read and the iteration; leaving the iteration early destroys the body.
 */
export async function* readMultipart(
  body: Readable,
  contentType: string,
  limits: MultipartLimits,
): AsyncGenerator<MultipartPart> {
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: { 'content-type': contentType },
      // busboy signals `partsLimit` once it has read that many parts: one more than allowed is the failure.
      limits: { fieldSize: limits.fieldBytes, fileSize: limits.fileBytes, parts: limits.parts + 1 },
    });
  } catch (error) {
    throw new MultipartError(`not a multipart/form-data body (${(error as Error).message})`);
  }
  const queue: MultipartPart[] = [];
  let finished = false;
  let failure: Error | null = null;
  let current: Readable | null = null;
  let wake: () => void = () => {};
  // The body's own failure (a cut connection, a size or time limit) is passed on as it is; the parser's is framing.
  const fail = (error: Error): void => {
    failure ??= error;
    current?.destroy(failure);
    wake();
  };
  const framing = (error: Error): void => fail(new MultipartError(`malformed multipart body: ${error.message}`));
  parser.on('field', (name, value, info) => {
    queue.push({ kind: 'field', name, value, truncated: info.valueTruncated });
    wake();
  });
  parser.on('file', (name, stream) => {
    // The reader gets a stream of its own, failed by `fail` with the body's error or a MultipartError (busboy's
    // own stream fails with bare errors; those are dropped here, the parser reports the same problem).
    stream.on('error', () => {});
    const part = new PassThrough();
    // Its reader sees the failure through its iteration; one failed after it was read must not go unhandled.
    part.on('error', () => {});
    stream.pipe(part);
    current = part;
    queue.push({ kind: 'file', name, stream: part });
    wake();
  });
  parser.on('partsLimit', () => fail(new MultipartError(`more than ${limits.parts} parts`)));
  parser.on('error', framing);
  parser.on('close', () => {
    finished = true;
    wake();
  });
  body.on('error', (error: Error) => fail(error));
  body.pipe(parser);
  try {
    for (;;) {
      if (failure) throw failure;
      const part = queue.shift();
      if (part) {
        yield part;
        continue;
      }
      if (finished) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    if (!finished || failure) {
      body.unpipe(parser);
      body.destroy();
      parser.destroy();
    }
  }
}
