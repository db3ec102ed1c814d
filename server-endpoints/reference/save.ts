// POST /save/<name>: the platform's own save, as a self-saving site calls it (the new HTML as the body, owner only).

import { createHash } from 'node:crypto';
import type { Context } from 'hono';
import type { BlankEnv } from 'hono/types';
import { checkSiteName, type ErrorCode, MAX_FILE_BYTES } from '../../protocol/index.js';
import { BodyStalled, BodyTooLarge, DEFAULT_BODY_IDLE_MS, discardStaged, stageBody, stagingOf } from '../http.js';
import type { Account, StagedContent, SyncStorage, WriteContent, WriteFileResult } from '../types.js';
import { requireSameOrigin, saverOf } from './guards.js';
import type { PlatformOptions } from './platform.js';
import { jsonError, PlatformError } from './respond.js';

/** A request header a cross-site HTML form cannot send (and a cross-origin script only after a CORS preflight we never grant). */
export const SAVE_HEADER = 'X-Hyperclay-Save';

type SaveContext = Context<BlankEnv, '/save/:name'>;
type Refused = Exclude<WriteFileResult['outcome'], 'saved' | 'created' | 'unchanged'>;

const REFUSALS: Record<Refused, [ErrorCode, string]> = {
  storage_limit_reached: ['storage_limit_reached', 'This save would pass your storage quota. Delete something first.'],
  site_limit_reached: ['site_limit_reached', "You've run out of sites."],
  conflict: ['conflict', 'Another save won; reload the site and save again.'],
  path_conflict: ['path_conflict', 'A folder is where this site should be.'],
  name_taken: ['name_taken', 'Another account holds this site name.'],
};

export async function saveSite(options: PlatformOptions, c: SaveContext): Promise<Response> {
  try {
    return await save(options, c);
  } catch (error) {
    if (error instanceof PlatformError) return jsonError(c, error);
    throw error;
  }
}

/** Same-origin when the browser says where it comes from; otherwise the header a cross-site form cannot send. */
function requireSaveOrigin(c: Context): void {
  if (c.req.header('origin') !== undefined) requireSameOrigin(c.req.raw);
  else if (c.req.header(SAVE_HEADER) === undefined) {
    throw new PlatformError('forbidden', `A save needs a same-origin Origin header or the ${SAVE_HEADER} header.`);
  }
}

/** The new HTML streamed to disk as sync's PUT bodies are: bounded, hashed on the way, dropped when it stalls. */
async function stageSaveBody(storage: SyncStorage, c: SaveContext): Promise<StagedContent> {
  try {
    return await stageBody(c, stagingOf(storage), { max: MAX_FILE_BYTES, idleMs: DEFAULT_BODY_IDLE_MS });
  } catch (error) {
    if (error instanceof BodyTooLarge)
      throw new PlatformError('too_large', `The body is over ${MAX_FILE_BYTES} bytes.`);
    if (error instanceof BodyStalled) throw new PlatformError('bad_request', `The save was dropped: ${error.message}.`);
    throw error;
  }
}

/** Saves through the same storage call as sync, with no base version and the server's clock: the platform wins. */
async function save(options: PlatformOptions, c: SaveContext): Promise<Response> {
  requireSaveOrigin(c);
  const name = c.req.param('name');
  const account = saverOf(options, c, name);
  if (!account) throw new PlatformError('unauthorized', 'Sign in to the platform to save this site.');
  const checked = checkSiteName(name);
  if (!checked.ok) throw new PlatformError('invalid_name', `"${name}" is not a site name: ${checked.message}.`);
  const current = await options.storage.readFile(account.id, { kind: 'site', key: name });
  if (!current || current.entry.deleted) throw new PlatformError('not_found', `You have no site named "${name}".`);
  const body = await stageSaveBody(options.storage, c);
  let result: Saved;
  try {
    result = await platformWrite(options, account, { key: name, path: current.entry.path }, body);
  } finally {
    await discardStaged(body);
  }
  options.log(`site saved account=${account.id} site=${name} v${result.entry.version ?? 0} ${result.outcome}`);
  return c.json({ ok: true, outcome: result.outcome, entry: result.entry }, 200);
}

type Saved = Extract<WriteFileResult, { outcome: 'saved' | 'created' | 'unchanged' }>;

/**
 * A site written by the platform itself (a save from the browser, a restore): the same storage call as sync, with
 * no base version and the server's clock, so it always wins, the replaced content is kept as a version, and every
 * client gets it through the change feed. A refusal (limits, a name taken meanwhile) is thrown as a PlatformError.
 */
export async function platformWrite(
  options: PlatformOptions,
  account: Account,
  site: { key: string; path: string },
  content: WriteContent,
): Promise<Saved> {
  const sha256 = Buffer.isBuffer(content) ? createHash('sha256').update(content).digest('hex') : content.sha256;
  const result = await options.storage.writeFile({
    accountId: account.id,
    kind: 'site',
    key: site.key,
    path: site.path,
    content,
    sha256,
    baseVersion: null,
    modifiedAtMs: null,
    limits: { maxSites: account.maxSites, maxStorageBytes: account.maxStorageBytes },
  });
  if (result.outcome === 'saved' || result.outcome === 'created' || result.outcome === 'unchanged') return result;
  const [code, message] = REFUSALS[result.outcome];
  throw new PlatformError(code, message);
}
