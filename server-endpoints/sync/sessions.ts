// Who is syncing: a client's session start (with the oldest client version still served) and GET /sync/me.

import type { Context } from 'hono';
import { MAX_FILE_BYTES } from '../../protocol/index.js';
import type { EndpointContext, SyncEnv } from '../context.js';
import { fail, readBody } from '../http.js';

type C = Context<SyncEnv>;
type Version = [number, number, number, number];

const MAX_JSON_BYTES = 16 * 1024;
const MAX_DEVICE_NAME_CHARS = 200;
/** What an unparsable minClientVersion option means: every client is served. */
const ANY_VERSION: Version = [0, 0, 0, 1];

/** A small JSON object body; null for anything else (too large, not JSON, not an object). */
async function readJson(c: C): Promise<Record<string, unknown> | null> {
  try {
    const { content } = await readBody(c.req.raw, MAX_JSON_BYTES);
    const value: unknown = JSON.parse(content.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/** `1.2.3` (an optional `-pre` or `+build` suffix); a pre-release sorts before its release. */
function parseVersion(text: string): Version | null {
  const match = /^(\d{1,9})\.(\d{1,9})\.(\d{1,9})(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/.exec(text);
  if (!match) return null;
  return [Number(match[1]), Number(match[2]), Number(match[3]), match[4] ? 0 : 1];
}

function olderThan(version: Version, minimum: Version): boolean {
  for (let i = 0; i < 4; i++) {
    if (version[i]! !== minimum[i]!) return version[i]! < minimum[i]!;
  }
  return false;
}

/** POST /sync/sessions {deviceName, clientVersion}: 426 client_outdated below ctx.minClientVersion. */
export async function startSession(ctx: EndpointContext, c: C): Promise<Response> {
  const body = await readJson(c);
  const deviceName = body?.deviceName;
  const clientVersion = body?.clientVersion;
  if (typeof deviceName !== 'string' || deviceName.length === 0 || deviceName.length > MAX_DEVICE_NAME_CHARS) {
    return fail(c, 'bad_request', `deviceName must be text of 1-${MAX_DEVICE_NAME_CHARS} characters.`);
  }
  const version = typeof clientVersion === 'string' ? parseVersion(clientVersion) : null;
  if (version === null) return fail(c, 'bad_request', 'clientVersion must be a version like 1.2.3.');
  if (olderThan(version, parseVersion(ctx.minClientVersion) ?? ANY_VERSION)) {
    const message = `This Hyperclay Sync (${clientVersion}) is too old for the platform. Update to ${ctx.minClientVersion} or later.`;
    return fail(c, 'client_outdated', message, { minClientVersion: ctx.minClientVersion });
  }
  const account = c.get('account');
  const sessionId = await ctx.storage.createSession(account.id, deviceName, clientVersion as string);
  ctx.log(`sync session start account=${account.id} client=${clientVersion}`);
  return c.json({ sessionId, cursor: '0' }, 201);
}

/** GET /sync/me: the account, its limits and usage, and the oldest client version served. */
export async function me(ctx: EndpointContext, c: C): Promise<Response> {
  const account = c.get('account');
  const usage = await ctx.storage.usage(account.id);
  return c.json(
    {
      user: { id: account.id, email: account.email, plan: account.plan },
      limits: { maxSites: account.maxSites, maxFileBytes: MAX_FILE_BYTES, maxStorageBytes: account.maxStorageBytes },
      usage,
      minClientVersion: ctx.minClientVersion,
    },
    200,
  );
}
