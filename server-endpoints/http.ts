// HTTP pieces the endpoint modules and the reference server share: a protocol error reply and a bounded body read.

import { createHash } from 'node:crypto';
import type { Context } from 'hono';
import { ERROR_STATUS, type ErrorCode, errorBody } from '../protocol/index.js';

/** A PROTOCOL.md error body with the status the protocol gives its code. */
export function fail(c: Context, code: ErrorCode, message: string, extra: Record<string, unknown> = {}): Response {
  return c.json(errorBody(code, message, extra), ERROR_STATUS[code]);
}

export class BodyTooLarge extends Error {}

/**
 * Reads a request body up to `max` bytes, hashing it on the way. Past `max` it stops reading and throws
 * BodyTooLarge, so an unbounded (or lying) body is never buffered.
 */
export async function readBody(request: Request, max: number): Promise<{ content: Buffer; sha256: string }> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > max) throw new BodyTooLarge();
  const hash = createHash('sha256');
  if (!request.body) return { content: Buffer.alloc(0), sha256: hash.digest('hex') };
  const chunks: Buffer[] = [];
  let total = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel().catch(() => {});
      throw new BodyTooLarge();
    }
    const chunk = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    hash.update(chunk);
    chunks.push(chunk);
  }
  return { content: Buffer.concat(chunks, total), sha256: hash.digest('hex') };
}
