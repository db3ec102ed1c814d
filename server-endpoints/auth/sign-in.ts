// The end of every sign-in on the platform (a browser code or a device code): the device's connection and its first token.

import type { Context } from 'hono';
import type { EndpointContext, SyncEnv } from '../context.js';
import type { Account } from '../types.js';
import { logEvent } from './respond.js';
import { signToken } from './tokens.js';

/** A new connection (`sid`) for the device, its first token, and who it is for (PROTOCOL.md "Auth" step 3). */
export async function signIn(
  ctx: EndpointContext,
  c: Context<SyncEnv>,
  account: Account,
  deviceName: string,
): Promise<Response> {
  const sid = await ctx.authStore.createConnection(account.id, deviceName);
  const signed = signToken(ctx.tokenSecret, { sub: account.id, sid }, ctx.now());
  logEvent(ctx, 'signed-in', account.id, deviceName);
  return c.json({ ...signed, user: { id: account.id, email: account.email, plan: account.plan } }, 200);
}
