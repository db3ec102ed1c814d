// The browser half of the sign-in: GET /sync/authorize (the consent page) and POST /sync/authorize (Allow / Cancel).

import type { Context } from 'hono';
import { AUTH_CODE_LIFETIME_MS, checkRedirectUri } from '../../protocol/index.js';
import type { EndpointContext, SyncEnv } from '../context.js';
import type { Account } from '../types.js';
import {
  type AuthorizeParams,
  checkAuthorizeParams,
  csrfToken,
  csrfValid,
  formActionSource,
  hashCode,
  newCode,
} from './grant.js';
import { codePage, consentPage } from './pages.js';
import { badLinkPage, expiredFormPage, htmlPage, logEvent, notForScriptsPage, unpaidPage } from './respond.js';

type C = Context<SyncEnv>;
/** Every value a query or form gives for one name. */
type Values = (name: string) => string[];

/** A checked authorize request of a signed-in person, or the page (or login redirect) to send instead. */
type AuthorizeRequest =
  | { ok: true; redirectUri: string; params: AuthorizeParams; account: Account }
  | { ok: false; response: Response };

/** The same-origin path and query of the authorize page for these parameters (the login's return target). */
function authorizeReturnTo(c: C, params: AuthorizeParams): string {
  const query = new URLSearchParams({ ...params });
  return `${new URL(c.req.url).pathname}?${query.toString()}`;
}

/**
 * The redirect first, on its own (a bad one gets a page, never a redirect), then the other parameters, then the
 * platform login: someone not signed in is sent to it and comes back here.
 */
async function authorizeRequest(ctx: EndpointContext, c: C, values: Values): Promise<AuthorizeRequest> {
  const redirects = values('redirect_uri');
  const redirectUri = redirects.length === 1 ? checkRedirectUri(redirects[0] ?? '', ctx.appScheme) : null;
  if (!redirectUri) {
    const problem = 'It asks to send you to an address that is not the Hyperclay Sync app.';
    return { ok: false, response: badLinkPage(c, problem) };
  }
  const check = checkAuthorizeParams(redirectUri, values);
  if (!check.ok) return { ok: false, response: badLinkPage(c, check.problem) };
  const account = await ctx.identity.currentAccount(c.req.raw);
  if (!account) {
    return { ok: false, response: c.redirect(ctx.identity.loginUrl(authorizeReturnTo(c, check.params)), 303) };
  }
  return { ok: true, redirectUri, params: check.params, account };
}

/**
 * The consent page and its answer are for the person at the browser, never for a script: a browser's request
 * made by a script (fetch or XHR: Sec-Fetch-Mode other than navigate) or for a frame (Sec-Fetch-Dest other than
 * document) is refused, and Allow must follow a click (Sec-Fetch-User ?1). Browsers send these headers themselves
 * (Sec-Fetch-Dest on every request) and no script can set them; a client that sends no Sec-Fetch-Dest is no
 * browser (curl; Node's fetch sends only Sec-Fetch-Mode), and runs no one else's script. So even a script that a
 * host serves on the platform's own origin by mistake cannot read the consent page or press Allow for the viewer.
 */
export function personAtBrowser(c: C, allow: boolean): boolean {
  const dest = c.req.header('Sec-Fetch-Dest');
  if (dest === undefined) return true;
  if (dest !== 'document' || c.req.header('Sec-Fetch-Mode') !== 'navigate') return false;
  return !allow || c.req.header('Sec-Fetch-User') === '?1';
}

/** GET /sync/authorize: "Connect <device> to <email>?" with Allow and Cancel. */
export async function showConsent(ctx: EndpointContext, c: C): Promise<Response> {
  if (!personAtBrowser(c, false)) return notForScriptsPage(c);
  const request = await authorizeRequest(ctx, c, (name) => c.req.queries(name) ?? []);
  if (!request.ok) return request.response;
  const { account, params, redirectUri } = request;
  if (!account.paid) return unpaidPage(c, account);
  const csrf = csrfToken(ctx.tokenSecret, account.id, params, ctx.now());
  const html = consentPage({
    action: new URL(c.req.url).pathname,
    email: account.email,
    device: params.device_name,
    fields: { ...params, csrf },
  });
  return htmlPage(c, 200, html, { formAction: ["'self'", formActionSource(redirectUri, ctx.appScheme)] });
}

/** POST /sync/authorize: everything re-checked, then origin and CSRF, then the person's decision. */
export async function answerConsent(ctx: EndpointContext, c: C): Promise<Response> {
  const form = await readForm(c);
  if (!form) return badLinkPage(c, 'The form could not be read.');
  const request = await authorizeRequest(ctx, c, form);
  if (!request.ok) return request.response;
  const { account, params, redirectUri } = request;
  const csrf = form('csrf');
  const allow = form('decision').includes('allow');
  if (
    !personAtBrowser(c, allow) ||
    !sameOrigin(c) ||
    csrf.length !== 1 ||
    !csrfValid(ctx.tokenSecret, account.id, params, csrf[0] ?? '', ctx.now())
  ) {
    logEvent(ctx, 'consent-refused-csrf', account.id, params.device_name);
    return expiredFormPage(c);
  }
  if (!account.paid) return unpaidPage(c, account);
  const decision = form('decision');
  if (decision.length !== 1 || (decision[0] !== 'allow' && decision[0] !== 'cancel')) {
    return badLinkPage(c, 'Choose Allow or Cancel.');
  }
  if (decision[0] === 'cancel') {
    logEvent(ctx, 'consent-cancelled', account.id, params.device_name);
    return c.redirect(callbackUrl(redirectUri, { error: 'access_denied', state: params.state }), 303);
  }
  return issueCode(ctx, c, account, redirectUri, params);
}

/** The form's text values by name; null when the body cannot be parsed. */
async function readForm(c: C): Promise<Values | null> {
  let form: Record<string, string | File | (string | File)[]>;
  try {
    form = await c.req.parseBody({ all: true });
  } catch {
    return null;
  }
  return (name) => {
    const value = form[name];
    const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
    return list.filter((v): v is string => typeof v === 'string');
  };
}

/**
 * A browser's POST must come from this origin: Origin when sent (else Sec-Fetch-Site when sent) must name the host
 * the request was sent to. Behind a proxy that rewrites Host, X-Forwarded-Host names it; a cross-site form cannot
 * set that header, so trusting it here does not help an attacker.
 */
export function sameOrigin(c: C): boolean {
  const origin = c.req.header('Origin');
  if (origin !== undefined) {
    let originHost: string;
    try {
      if (origin === 'null') return false;
      originHost = new URL(origin).host;
    } catch {
      return false;
    }
    const hosts = [new URL(c.req.url).host];
    const forwarded = c.req.header('X-Forwarded-Host')?.split(',')[0]?.trim();
    if (forwarded) hosts.push(forwarded.toLowerCase());
    return hosts.includes(originHost);
  }
  const site = c.req.header('Sec-Fetch-Site');
  return site === undefined || site === 'same-origin';
}

function callbackUrl(redirectUri: string, query: Record<string, string>): string {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
  return url.href;
}

/** Allow: a single-use code, stored by its hash, handed to the app. */
async function issueCode(
  ctx: EndpointContext,
  c: C,
  account: Account,
  redirectUri: string,
  params: AuthorizeParams,
): Promise<Response> {
  const code = newCode();
  await ctx.authStore.saveCode(hashCode(code), {
    accountId: account.id,
    redirectUri,
    codeChallenge: params.code_challenge,
    deviceName: params.device_name,
    expiresAtMs: ctx.now() + AUTH_CODE_LIFETIME_MS,
  });
  logEvent(ctx, 'consent-allowed', account.id, params.device_name);
  // A page rather than a 303: it shows the code first (to paste when the return does not reach the app: no handler
  // for the scheme, the CLI's port gone), then returns to the app (pages.ts codePage says how, and why not blindly).
  const deepLink = !redirectUri.startsWith('http:');
  const page = codePage({
    code,
    callbackUrl: callbackUrl(redirectUri, { code, state: params.state }),
    device: params.device_name,
    deepLink,
  });
  // The script may ask the loopback address whether the app listens; CSP cannot name [::1] (formActionSource).
  const connect = deepLink ? [] : [formActionSource(redirectUri, ctx.appScheme)];
  return htmlPage(c, 200, page, { script: true, connect });
}
