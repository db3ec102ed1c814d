// The device's half of the device sign-in (PROTOCOL.md "Device sign-in"): POST /sync/device/code, and the polls of
// POST /sync/token with the device-code grant; plus the per-instance limits the whole device flow applies.

import type { Context } from 'hono';
import { DEVICE_CODE_LIFETIME_S, DEVICE_POLL_INTERVAL_S, normalizeUserCode } from '../../protocol/index.js';
import type { EndpointContext, SyncEnv } from '../context.js';
import { fail } from '../http.js';
import { hashDeviceSecret, newDeviceCode, newUserCode } from './device-grant.js';
import { checkDeviceName } from './grant.js';
import { addressKey, TokenBuckets } from './rate-limit.js';
import { logEvent } from './respond.js';
import { signIn } from './sign-in.js';

type C = Context<SyncEnv>;

export const DEVICE_PAGE_PATH = '/device';
const MAX_DEVICE_CODE_CHARS = 256;
/** A poll closer than this to the previous one is `slow_down` (a second of slack for a busy network). */
const MIN_POLL_GAP_MS = (DEVICE_POLL_INTERVAL_S - 1) * 1000;

/**
 * In memory, per endpoints instance: new device codes per client address (each is a row in the store), and code
 * entries on the device page per account and per address (a wrong code costs the guesser; the codes are short).
 */
interface DeviceLimits {
  newCodes: TokenBuckets;
  entries: TokenBuckets;
}

const limitsOf = new WeakMap<EndpointContext, DeviceLimits>();

export function deviceLimits(ctx: EndpointContext): DeviceLimits {
  let limits = limitsOf.get(ctx);
  if (!limits) {
    limits = {
      newCodes: new TokenBuckets({ perSecond: 1 / 6, burst: 30 }, ctx.now, 10_000),
      entries: new TokenBuckets({ perSecond: 1 / 60, burst: 10 }, ctx.now, 10_000),
    };
    limitsOf.set(ctx, limits);
  }
  return limits;
}

/** The client's address as the limits key it by; one shared key when the host cannot tell. */
export function clientKey(ctx: EndpointContext, c: C): string {
  const address = ctx.clientAddress(c);
  return address === null ? 'unknown' : addressKey(address);
}

function tooMany(c: C, waitMs: number, message: string): Response {
  c.header('Retry-After', String(Math.max(1, Math.ceil(waitMs / 1000))));
  return fail(c, 'rate_limited', message);
}

/** POST /sync/device/code {device_name}: a device code, the short user code, where to enter it, how often to poll. */
export async function startDeviceSignIn(ctx: EndpointContext, c: C): Promise<Response> {
  c.header('Cache-Control', 'no-store');
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    body = null;
  }
  const raw = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).device_name : undefined;
  const deviceName = checkDeviceName(raw);
  if (deviceName === null) {
    return fail(c, 'bad_request', 'Send a JSON body {device_name}: 1 to 100 characters without control characters.');
  }
  const wait = deviceLimits(ctx).newCodes.take(clientKey(ctx, c));
  if (wait > 0) return tooMany(c, wait, 'Too many sign-ins were started from this address. Wait, then try again.');
  const deviceCode = newDeviceCode();
  const expiresAtMs = ctx.now() + DEVICE_CODE_LIFETIME_S * 1000;
  // A live code with the same 8 letters is one in billions; another draw settles it.
  for (let attempt = 0; attempt < 5; attempt++) {
    const userCode = newUserCode();
    const saved = await ctx.authStore.saveDeviceCode({
      deviceCodeHash: hashDeviceSecret(deviceCode),
      userCodeHash: hashDeviceSecret(normalizeUserCode(userCode) ?? userCode),
      deviceName,
      expiresAtMs,
    });
    if (!saved) continue;
    ctx.log(`auth device-code-issued device=${JSON.stringify(deviceName)}`);
    const verification = new URL(DEVICE_PAGE_PATH, c.req.url);
    const complete = new URL(verification);
    complete.searchParams.set('user_code', userCode);
    return c.json(
      {
        device_code: deviceCode,
        user_code: userCode,
        verification_uri: verification.href,
        verification_uri_complete: complete.href,
        expires_in: DEVICE_CODE_LIFETIME_S,
        interval: DEVICE_POLL_INTERVAL_S,
      },
      200,
    );
  }
  return fail(c, 'internal', 'No free sign-in code could be made. Try again.');
}

const UNKNOWN_DEVICE_CODE =
  'This device code is unknown, expired or already used. Start signing in again: hyperclay-sync login --device';

/** POST /sync/token {grant_type: device_code, device_code}: one poll, answered as PROTOCOL.md names it. */
export async function pollDeviceToken(ctx: EndpointContext, c: C, deviceCode: unknown): Promise<Response> {
  if (typeof deviceCode !== 'string' || deviceCode.length === 0 || deviceCode.length > MAX_DEVICE_CODE_CHARS) {
    return fail(c, 'bad_request', 'Send a JSON body {grant_type, device_code} with the device_code you were given.');
  }
  const poll = await ctx.authStore.pollDeviceCode(hashDeviceSecret(deviceCode), ctx.now(), MIN_POLL_GAP_MS);
  switch (poll.state) {
    case 'unknown':
      ctx.log('auth device-token-refused reason=unknown-or-used-code');
      return fail(c, 'invalid_grant', UNKNOWN_DEVICE_CODE);
    case 'pending':
      return fail(c, 'authorization_pending', 'Waiting for the code to be entered and allowed in a browser.');
    case 'slow_down':
      return fail(c, 'slow_down', `Polling too fast: wait at least ${DEVICE_POLL_INTERVAL_S} seconds between polls.`);
    case 'expired':
      return fail(c, 'expired_token', 'The code expired before it was allowed. Start signing in again.');
    case 'denied':
      ctx.log('auth device-token-refused reason=denied');
      return fail(c, 'access_denied', 'The sign-in was cancelled in the browser.');
  }
  const account = await ctx.identity.accountById(poll.accountId);
  if (!account) return fail(c, 'invalid_grant', UNKNOWN_DEVICE_CODE);
  if (!account.paid) {
    logEvent(ctx, 'device-token-refused reason=unpaid', account.id);
    return fail(c, 'subscription_required', 'Sync needs a paid Hyperclay plan. Upgrade your plan, then sign in again.');
  }
  return signIn(ctx, c, account, poll.deviceName);
}
