// POST /sync/batch (PROTOCOL.md "Batches"): a manifest, then one content part per item, each part staged on disk as
// it arrives; every item checked and answered exactly as its single PUT, the accepted ones written as one group.

import { Readable } from 'node:stream';
import type { Context } from 'hono';
import {
  type BatchResult,
  MAX_BATCH_BYTES,
  MAX_BATCH_ITEMS,
  MAX_FILE_BYTES,
  PART,
  ProtocolViolation,
  readItemList,
} from '../../protocol/index.js';
import { readMultipart } from '../../protocol/multipart.js';
import type { EndpointContext, SyncEnv } from '../context.js';
import {
  BodyStalled,
  BodyTooLarge,
  bodyChunks,
  closeAfter,
  discardStaged,
  fail,
  stageChunks,
  stagingOf,
} from '../http.js';
import type { Account, FileKey, FileKind, StagedContent, WriteFileRequest } from '../types.js';
import { type Answer, checkWriteFields, errorAnswer, failureAnswer, SHA_MISMATCH, writeAnswer } from './answers.js';
import { type Refusal, siteTarget, type Target, uploadTarget } from './locate.js';

type C = Context<SyncEnv>;

/** The manifest's bytes: 1,000 items with the longest paths fit with room to spare. */
const MAX_MANIFEST_BYTES = 8 * 1024 * 1024;
/** The whole body: the content, the manifest, and each part's head. */
const MAX_BODY_BYTES = MAX_BATCH_BYTES + MAX_MANIFEST_BYTES + (MAX_BATCH_ITEMS + 1) * 1024;

/** A body read whole: the manifest's items and their contents, staged in order. */
type ReadBatch = { ok: true; items: unknown[]; contents: StagedContent[] } | Refusal;

export async function postBatch(ctx: EndpointContext, c: C): Promise<Response> {
  const contentType = c.req.header('content-type') ?? '';
  if (!/^multipart\/form-data\s*;/i.test(contentType)) {
    return fail(c, 'bad_request', 'A batch is multipart/form-data: a manifest part, then one content part per item.');
  }
  const staged: StagedContent[] = [];
  try {
    const read = await readBatch(ctx, c, contentType, staged);
    if (!read.ok) return read.response;
    const results = await writeItems(ctx, c.get('account'), read.items, read.contents);
    return c.json({ results }, 200);
  } finally {
    await Promise.all(staged.map(discardStaged));
  }
}

/** Reads the parts in order, staging each content part; any framing, size or time problem refuses the whole batch. */
async function readBatch(ctx: EndpointContext, c: C, contentType: string, staged: StagedContent[]): Promise<ReadBatch> {
  // Any refusal here may leave part of the body unread.
  closeAfter(c);
  const refuse = (message: string): Refusal => ({ ok: false, response: fail(c, 'bad_request', message) });
  const body = Readable.from(bodyChunks(c, { max: MAX_BODY_BYTES, idleMs: ctx.bodyIdleMs }));
  const limits = { fieldBytes: MAX_MANIFEST_BYTES, fileBytes: MAX_FILE_BYTES + 1, parts: MAX_BATCH_ITEMS + 1 };
  let items: unknown[] | null = null;
  let total = 0;
  try {
    for await (const part of readMultipart(body, contentType, limits)) {
      if (items === null) {
        if (part.kind !== 'field' || part.name !== PART.manifest) return refuse('The first part must be the manifest.');
        if (part.truncated) return refuse(`The manifest is over ${MAX_MANIFEST_BYTES} bytes.`);
        items = readItemList(JSON.parse(part.value), 'manifest');
        continue;
      }
      if (part.kind !== 'file' || part.name !== PART.content) {
        return refuse('After the manifest come only content parts, one per item.');
      }
      if (staged.length >= items.length)
        return refuse(`The batch has more content parts than its ${items.length} items.`);
      // Not fsynced while the body is read: the storage syncs the parts it keeps in parallel, afterwards.
      const staging = { ...stagingOf(ctx.storage), durable: false };
      const content = await stageChunks(part.stream, staging, MAX_BATCH_BYTES - total);
      staged.push(content);
      total += content.size;
    }
  } catch (error) {
    if (error instanceof BodyTooLarge) {
      const message = `A batch holds at most ${MAX_BATCH_BYTES} bytes of content; nothing of it was saved.`;
      return { ok: false, response: fail(c, 'too_large', message, { maxBatchBytes: MAX_BATCH_BYTES }) };
    }
    if (error instanceof BodyStalled) return refuse(`The batch was dropped: ${error.message}. Send it again.`);
    if (error instanceof ProtocolViolation || error instanceof SyntaxError) {
      return refuse(`The batch is malformed: ${error.message}.`);
    }
    throw error;
  }
  c.header('Connection', undefined);
  if (items === null) return refuse('The batch has no manifest part.');
  if (staged.length !== items.length) {
    return refuse(`The batch has ${items.length} items but ${staged.length} content parts.`);
  }
  return { ok: true, items, contents: staged };
}

/** One item checked as its single PUT would be: the name or path, then the write fields, then the content's hash. */
function checkItem(
  raw: unknown,
  content: StagedContent,
):
  | { ok: true; target: FileKey & { path: string }; fields: { baseVersion: number; modifiedAtMs: number } }
  | { ok: false; answer: Answer } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, answer: errorAnswer('bad_request', 'A batch item must be an object.') };
  }
  const item = raw as Record<string, unknown>;
  let target: Target;
  if (item.kind === 'site') target = siteTarget(item.name, item.xPath);
  else if (item.kind === 'upload') target = uploadTarget(item.path);
  else return { ok: false, answer: errorAnswer('bad_request', 'A batch item\'s kind must be "site" or "upload".') };
  if (!target.ok) {
    return {
      ok: false,
      answer: errorAnswer(target.code, target.message, target.rule === undefined ? {} : { rule: target.rule }),
    };
  }
  const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
  const fields = checkWriteFields({
    baseVersion: typeof item.baseVersion === 'number' ? String(item.baseVersion) : undefined,
    modifiedAt: text(item.modifiedAt),
    sha256: text(item.sha256),
  });
  if (!fields.ok) return { ok: false, answer: errorAnswer('bad_request', fields.message) };
  if (content.sha256 !== fields.sha256) return { ok: false, answer: errorAnswer('bad_request', SHA_MISMATCH) };
  return { ok: true, target: { ...target.file, path: target.path }, fields };
}

/** Every accepted item written as one group (one transaction, one flush); each answered as its single PUT. */
async function writeItems(
  ctx: EndpointContext,
  account: Account,
  items: unknown[],
  contents: StagedContent[],
): Promise<BatchResult[]> {
  const answers: Array<Answer | null> = [];
  const requests: WriteFileRequest[] = [];
  const positions: number[] = [];
  items.forEach((raw, index) => {
    const content = contents[index]!;
    const checked = checkItem(raw, content);
    if (!checked.ok) {
      answers.push(checked.answer);
      return;
    }
    answers.push(null);
    positions.push(index);
    const { kind, key, path } = checked.target;
    requests.push({
      accountId: account.id,
      kind: kind as FileKind,
      key,
      path,
      content,
      sha256: content.sha256,
      ...checked.fields,
      limits: { maxSites: account.maxSites, maxStorageBytes: account.maxStorageBytes },
    });
  });
  const outcomes = await ctx.storage.writeFiles(requests);
  let saved = 0;
  outcomes.forEach((outcome, n) => {
    const request = requests[n]!;
    if (!outcome.ok)
      ctx.log(`sync error batch ${request.kind} ${request.key} account=${account.id}: ${outcome.error.message}`);
    const answer = outcome.ok ? writeAnswer(request, outcome.result, account) : failureAnswer(outcome.error);
    if (answer.status < 300 && answer.event) saved++;
    answers[positions[n]!] = answer;
  });
  const refused = answers.filter((answer) => answer!.status >= 300).length;
  ctx.log(`sync batch ${items.length} items: ${saved} saved, ${refused} refused account=${account.id}`);
  return answers.map((answer) => {
    const { status, body } = answer!;
    return 'error' in body ? { status, error: body.error } : { status, entry: body };
  });
}
