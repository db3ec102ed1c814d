// The app's half of the sign-in: POST /sync/token (code for token), /sync/token/refresh and /sync/logout.

import type { Context } from 'hono';
import { DEVICE_CODE_GRANT, isCodeVerifier } from '../../protocol/index.js';
import type { EndpointContext, SyncEnv } from '../context.js';
import { fail } from '../http.js';
import type { AuthCodeRecord } from '../types.js';
import { pollDeviceToken } from './device.js';
import { hashCode, verifierMatches } from './grant.js';
import { authenticate, authRefusal, bearerToken, forgetConnection, tokenClaims } from './middleware.js';
import { logEvent } from './respond.js';
import { signIn } from './sign-in.js';
import { signToken } from './tokens.js';

type C = Context<SyncEnv>;

interface TokenRequest {
  code: string;
  verifier: string;
  redirectUri: string;
}

const MAX_CODE_CHARS = 256;
const BAD_TOKEN_REQUEST = 'Send a JSON body {code, code_verifier, redirect_uri}.';
const INVALID_GRANT =
  'This sign-in code is invalid, expired or already used, or does not match this app. Sign in again.';

/** The JSON body of POST /sync/token, whichever grant it is; null when it is not a JSON object. */
async function readTokenBody(c: C): Promise<Record<string, unknown> | null> {
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    return null;
  }
  return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : null;
}

function tokenRequest(body: Record<string, unknown>): TokenRequest | null {
  const { code, code_verifier: verifier, redirect_uri: redirectUri } = body;
  if (typeof code !== 'string' || typeof redirectUri !== 'string' || typeof verifier !== 'string') return null;
  return { code, verifier, redirectUri };
}

/** Why a taken code does not grant this request (expiry, redirect, PKCE), or null when it does. */
function codeProblem(ctx: EndpointContext, record: AuthCodeRecord, request: TokenRequest): string | null {
  if (ctx.now() >= record.expiresAtMs) return 'expired-code';
  if (record.redirectUri !== request.redirectUri) return 'redirect-mismatch';
  if (!isCodeVerifier(request.verifier) || !verifierMatches(request.verifier, record.codeChallenge)) {
    return 'wrong-verifier';
  }
  return null;
}

/** Every refusal of a code looks the same to the client; the reason goes to the log only. */
function refuseGrant(ctx: EndpointContext, c: C, reason: string, accountId?: string): Response {
  if (accountId !== undefined) logEvent(ctx, `token-refused reason=${reason}`, accountId);
  else ctx.log(`auth token-refused reason=${reason}`);
  return fail(c, 'invalid_grant', INVALID_GRANT);
}

/**
 * POST /sync/token {code, code_verifier, redirect_uri}: the device's connection and its first token; a device-code
 * grant is a poll (device.ts).
 */
export async function exchangeCode(ctx: EndpointContext, c: C): Promise<Response> {
  c.header('Cache-Control', 'no-store');
  const body = await readTokenBody(c);
  if (body?.grant_type === DEVICE_CODE_GRANT) return pollDeviceToken(ctx, c, body.device_code);
  const request = body ? tokenRequest(body) : null;
  if (!request) return fail(c, 'bad_request', BAD_TOKEN_REQUEST);
  if (request.code.length === 0 || request.code.length > MAX_CODE_CHARS) return fail(c, 'invalid_grant', INVALID_GRANT);
  // Taken before any other check: a code meets one exchange attempt, right or wrong, and is gone.
  const record = await ctx.authStore.takeCode(hashCode(request.code));
  if (!record) return refuseGrant(ctx, c, 'unknown-or-used-code');
  const problem = codeProblem(ctx, record, request);
  if (problem) return refuseGrant(ctx, c, problem, record.accountId);
  const account = await ctx.identity.accountById(record.accountId);
  if (!account) return refuseGrant(ctx, c, 'account-gone', record.accountId);
  if (!account.paid) {
    logEvent(ctx, 'token-refused reason=unpaid', account.id);
    return fail(c, 'subscription_required', 'Sync needs a paid Hyperclay plan. Upgrade your plan, then sign in again.');
  }
  return signIn(ctx, c, account, record.deviceName);
}

/** POST /sync/token/refresh: the same check as every API request (a free plan gets 402), then the same sid. */
export async function refreshToken(ctx: EndpointContext, c: C): Promise<Response> {
  c.header('Cache-Control', 'no-store');
  const check = await authenticate(ctx, c.req.header('Authorization'));
  if (!check.ok) return authRefusal(c, check.code, check.message);
  const signed = signToken(ctx.tokenSecret, { sub: check.account.id, sid: check.sid }, ctx.now());
  logEvent(ctx, 'token-refreshed', check.account.id);
  return c.json(signed, 200);
}

/** POST /sync/logout: revokes the token's connection (204, also when it was already revoked). */
export async function logout(ctx: EndpointContext, c: C): Promise<Response> {
  // Only signature and exp are required: an account that lost its plan or was deleted can still be signed out.
  const token = bearerToken(c.req.header('Authorization'));
  const claims = token ? tokenClaims(ctx, token) : null;
  const connection = claims ? await ctx.authStore.connection(claims.sid) : null;
  if (!claims || !connection || connection.accountId !== claims.sub) {
    return authRefusal(c, 'unauthorized', 'You are already signed out: the sync token is missing or invalid.');
  }
  if (!connection.revoked) await ctx.authStore.revokeConnection(claims.sid);
  forgetConnection(ctx, claims.sid);
  logEvent(ctx, 'signed-out', claims.sub);
  return c.body(null, 204);
}
