// The person's half of the device sign-in: GET/POST /device on the platform. Sign in if needed, type the code the
// device shows, see which device asks, Allow or Cancel; the same protections as the authorize page.

import type { Context } from 'hono';
import { normalizeUserCode } from '../../protocol/index.js';
import type { EndpointContext, SyncEnv } from '../context.js';
import type { Account } from '../types.js';
import { personAtBrowser, sameOrigin } from './authorize.js';
import { clientKey, DEVICE_PAGE_PATH, deviceLimits } from './device.js';
import { hashDeviceSecret } from './device-grant.js';
import { formCsrfToken, formCsrfValid } from './grant.js';
import { consentPage, deviceCodeEntryPage, messagePage } from './pages.js';
import { expiredFormPage, htmlPage, logEvent, notForScriptsPage, unpaidPage } from './respond.js';

type C = Context<SyncEnv>;

const SELF = { formAction: ["'self'"] };
/** The same sentence for a code that never existed, expired, or was used: the page tells a guesser nothing. */
const WRONG_CODE =
  'That code is not valid, or it has expired or been used. Check the code on your device and try again.';

/** The entry form's CSRF binds the account and this page; the consent step's also binds the user code. */
const entryBinding = (account: Account): string[] => [account.id, 'device-page'];
const consentBinding = (account: Account, letters: string): string[] => [account.id, 'device-page', letters];

/** The signed-in, paid account; otherwise the login redirect (back to this page and code) or the unpaid page. */
async function signedIn(ctx: EndpointContext, c: C, userCode: string): Promise<Account | Response> {
  const account = await ctx.identity.currentAccount(c.req.raw);
  if (!account) {
    const back =
      userCode === '' ? DEVICE_PAGE_PATH : `${DEVICE_PAGE_PATH}?${new URLSearchParams({ user_code: userCode })}`;
    return c.redirect(ctx.identity.loginUrl(back), 303);
  }
  if (!account.paid) return unpaidPage(c, account);
  return account;
}

function entryPage(ctx: EndpointContext, c: C, account: Account, userCode: string, error?: string): Response {
  const html = deviceCodeEntryPage({
    action: new URL(c.req.url).pathname,
    email: account.email,
    csrf: formCsrfToken(ctx.tokenSecret, entryBinding(account), ctx.now()),
    userCode,
    ...(error ? { error } : {}),
  });
  return htmlPage(c, error ? 400 : 200, html, SELF);
}

/** GET /device[?user_code=ABCD-EFGH]: the code entry form (prefilled from verification_uri_complete). */
export async function showDevicePage(ctx: EndpointContext, c: C): Promise<Response> {
  if (!personAtBrowser(c, false)) return notForScriptsPage(c);
  const given = c.req.query('user_code') ?? '';
  // Only a well-formed code is echoed back into the form (escaped in any case).
  const userCode = normalizeUserCode(given) === null ? '' : given.toUpperCase();
  const account = await signedIn(ctx, c, userCode);
  if (account instanceof Response) return account;
  return entryPage(ctx, c, account, userCode);
}

/** One text value of the form; '' when absent or repeated. */
async function readForm(c: C): Promise<((name: string) => string) | null> {
  let form: Record<string, unknown>;
  try {
    form = await c.req.parseBody();
  } catch {
    return null;
  }
  return (name) => {
    const value = form[name];
    return typeof value === 'string' ? value : '';
  };
}

/** POST /device: the typed code (then the consent step), or the decision on it (Allow / Cancel). */
export async function answerDevicePage(ctx: EndpointContext, c: C): Promise<Response> {
  const form = await readForm(c);
  if (!form) return expiredFormPage(c);
  const decision = form('decision');
  const account = await signedIn(ctx, c, '');
  if (account instanceof Response) return account;
  if (!personAtBrowser(c, decision === 'allow') || !sameOrigin(c)) return expiredFormPage(c);
  const letters = normalizeUserCode(form('user_code'));
  if (decision === '') {
    if (!formCsrfValid(ctx.tokenSecret, entryBinding(account), form('csrf'), ctx.now())) return expiredFormPage(c);
    return lookUp(ctx, c, account, form('user_code'), letters);
  }
  if (letters === null || !formCsrfValid(ctx.tokenSecret, consentBinding(account, letters), form('csrf'), ctx.now())) {
    return expiredFormPage(c);
  }
  return decide(ctx, c, account, letters, decision === 'allow');
}

/** A typed code: wrong or not, it costs one entry of the account's and the address's allowance. */
async function lookUp(
  ctx: EndpointContext,
  c: C,
  account: Account,
  typed: string,
  letters: string | null,
): Promise<Response> {
  const limits = deviceLimits(ctx);
  const wait = Math.max(
    limits.entries.take(`account:${account.id}`),
    limits.entries.take(`address:${clientKey(ctx, c)}`),
  );
  if (wait > 0) {
    c.header('Retry-After', String(Math.ceil(wait / 1000)));
    const minutes = Math.max(1, Math.ceil(wait / 60_000));
    return htmlPage(
      c,
      429,
      messagePage('Too many codes tried', [
        `Too many codes were entered. Wait ${minutes} minute${minutes === 1 ? '' : 's'}, then try again.`,
      ]),
    );
  }
  const pending = letters === null ? null : await ctx.authStore.pendingDeviceCode(hashDeviceSecret(letters), ctx.now());
  if (letters === null || pending === null) {
    logEvent(ctx, 'device-code-wrong', account.id);
    return entryPage(ctx, c, account, typed.length <= 20 ? typed : '', WRONG_CODE);
  }
  const html = consentPage({
    action: new URL(c.req.url).pathname,
    email: account.email,
    device: pending.deviceName,
    fields: { user_code: letters, csrf: formCsrfToken(ctx.tokenSecret, consentBinding(account, letters), ctx.now()) },
  });
  return htmlPage(c, 200, html, SELF);
}

async function decide(
  ctx: EndpointContext,
  c: C,
  account: Account,
  letters: string,
  allow: boolean,
): Promise<Response> {
  const hash = hashDeviceSecret(letters);
  const pending = await ctx.authStore.pendingDeviceCode(hash, ctx.now());
  const decided =
    pending !== null && (await ctx.authStore.decideDeviceCode(hash, ctx.now(), allow ? account.id : null));
  if (!pending || !decided) return entryPage(ctx, c, account, '', WRONG_CODE);
  logEvent(ctx, allow ? 'device-allowed' : 'device-cancelled', account.id, pending.deviceName);
  const page = allow
    ? messagePage('Device connected', [
        `${pending.deviceName} is now signed in to Hyperclay Sync as ${account.email}.`,
        'You can close this page; the device continues by itself.',
      ])
    : messagePage('Sign-in cancelled', [`${pending.deviceName} was not connected. You can close this page.`]);
  return htmlPage(c, 200, page);
}
