// The browser sign-in (authorize pages), the code-for-token exchange, refresh and logout (PROTOCOL.md "Auth").
// Mounted before the auth middleware: refresh and logout check their bearer token here themselves.

import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { AUTH_CODE_LIFETIME_MS, checkRedirectUri, errorBody, isCodeVerifier } from '../../protocol/index.js';
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
  verifierMatches,
} from './grant.js';
import { authenticate, bearerToken, forgetConnection, tokenClaims } from './middleware.js';
import { codePage, consentPage, messagePage, pageHeaders } from './pages.js';
import { signToken } from './tokens.js';

type Ctx = Context<SyncEnv>;

const MAX_BODY_BYTES = 16 * 1024;

const INVALID_GRANT =
  'This sign-in code is invalid, expired or already used, or does not match this app. Sign in again.';

function htmlPage(c: Ctx, status: 200 | 400 | 402 | 403, html: string, formAction: string[] = []): Response {
  return c.body(html, status, pageHeaders(formAction));
}

function badLinkPage(c: Ctx, problem: string): Response {
  return htmlPage(
    c,
    400,
    messagePage('This sign-in link is not valid', [
      problem,
      'Start signing in again from the Hyperclay Sync app or the hyperclay-sync command.',
    ]),
  );
}

function unpaidPage(c: Ctx, account: Account): Response {
  return htmlPage(
    c,
    402,
    messagePage('Sync needs a paid plan', [
      `The account ${account.email} is on the ${account.plan} plan, which does not include Hyperclay Sync.`,
      'Upgrade the plan on the platform, then sign in from the app again.',
    ]),
  );
}

/** One line per sign-in event; the device name is JSON-quoted so it cannot break the line. Never tokens or codes. */
function logEvent(ctx: EndpointContext, event: string, accountId: string, device?: string): void {
  ctx.log(`auth ${event} account=${accountId}${device === undefined ? '' : ` device=${JSON.stringify(device)}`}`);
}

/** The same-origin path and query of the authorize page for these parameters (the login's return target). */
function authorizeReturnTo(c: Ctx, params: AuthorizeParams): string {
  const query = new URLSearchParams({ ...params });
  return `${new URL(c.req.url).pathname}?${query.toString()}`;
}

/**
 * A browser's POST must come from this origin: Origin when sent (else Sec-Fetch-Site when sent) must name the host
 * the request was sent to. Behind a proxy that rewrites Host, X-Forwarded-Host names it; a cross-site form cannot
 * set that header, so trusting it here does not help an attacker.
 */
function sameOrigin(c: Ctx): boolean {
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

export function authRoutes(ctx: EndpointContext): Hono<SyncEnv> {
  const app = new Hono<SyncEnv>();
  const limit = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: (c) => c.json(errorBody('bad_request', 'The request body is too large for a sign-in request.'), 400),
  });

  app.get('/sync/authorize', async (c) => {
    const redirects = c.req.queries('redirect_uri') ?? [];
    const redirectUri = redirects.length === 1 ? checkRedirectUri(redirects[0] ?? '', ctx.appScheme) : null;
    if (!redirectUri) {
      return badLinkPage(c, 'It asks to send you to an address that is not the Hyperclay Sync app.');
    }
    const check = checkAuthorizeParams(redirectUri, (name) => c.req.queries(name) ?? []);
    if (!check.ok) return badLinkPage(c, check.problem);
    const { params } = check;

    const account = await ctx.identity.currentAccount(c.req.raw);
    if (!account) return c.redirect(ctx.identity.loginUrl(authorizeReturnTo(c, params)), 303);
    if (!account.paid) return unpaidPage(c, account);

    const csrf = csrfToken(ctx.tokenSecret, account.id, params, ctx.now());
    return htmlPage(
      c,
      200,
      consentPage({
        action: new URL(c.req.url).pathname,
        email: account.email,
        fields: { ...params, csrf },
      }),
      ["'self'", formActionSource(redirectUri, ctx.appScheme)],
    );
  });

  app.post('/sync/authorize', limit, async (c) => {
    let form: Record<string, string | File | (string | File)[]>;
    try {
      form = await c.req.parseBody({ all: true });
    } catch {
      return badLinkPage(c, 'The form could not be read.');
    }
    const values = (name: string): string[] => {
      const value = form[name];
      const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
      return list.filter((v): v is string => typeof v === 'string');
    };
    const redirects = values('redirect_uri');
    const redirectUri = redirects.length === 1 ? checkRedirectUri(redirects[0] ?? '', ctx.appScheme) : null;
    if (!redirectUri) {
      return badLinkPage(c, 'It asks to send you to an address that is not the Hyperclay Sync app.');
    }
    const check = checkAuthorizeParams(redirectUri, values);
    if (!check.ok) return badLinkPage(c, check.problem);
    const { params } = check;

    const account = await ctx.identity.currentAccount(c.req.raw);
    if (!account) return c.redirect(ctx.identity.loginUrl(authorizeReturnTo(c, params)), 303);
    const csrf = values('csrf');
    if (
      !sameOrigin(c) ||
      csrf.length !== 1 ||
      !csrfValid(ctx.tokenSecret, account.id, params, csrf[0] ?? '', ctx.now())
    ) {
      logEvent(ctx, 'consent-refused-csrf', account.id, params.device_name);
      return htmlPage(
        c,
        403,
        messagePage('This sign-in form has expired', [
          'The form was not sent from this page, or it is too old. Start signing in again from the app.',
        ]),
      );
    }
    if (!account.paid) return unpaidPage(c, account);

    const decision = values('decision');
    if (decision.length !== 1 || (decision[0] !== 'allow' && decision[0] !== 'cancel')) {
      return badLinkPage(c, 'Choose Allow or Cancel.');
    }
    if (decision[0] === 'cancel') {
      logEvent(ctx, 'consent-cancelled', account.id, params.device_name);
      return c.redirect(callbackUrl(redirectUri, { error: 'access_denied', state: params.state }), 303);
    }

    const code = newCode();
    await ctx.authStore.saveCode(hashCode(code), {
      accountId: account.id,
      redirectUri,
      codeChallenge: params.code_challenge,
      deviceName: params.device_name,
      expiresAtMs: ctx.now() + AUTH_CODE_LIFETIME_MS,
    });
    logEvent(ctx, 'consent-allowed', account.id, params.device_name);
    // A page rather than a 303: it both sends the browser to the app (meta refresh + link) and shows the code
    // to paste when the redirect does not reach the app (no handler for the scheme, loopback port gone).
    return htmlPage(
      c,
      200,
      codePage({
        code,
        callbackUrl: callbackUrl(redirectUri, { code, state: params.state }),
        device: params.device_name,
      }),
    );
  });

  app.post('/sync/token', limit, async (c) => {
    c.header('Cache-Control', 'no-store');
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return c.json(errorBody('bad_request', 'Send a JSON body {code, code_verifier, redirect_uri}.'), 400);
    }
    if (typeof body !== 'object' || body === null) {
      return c.json(errorBody('bad_request', 'Send a JSON body {code, code_verifier, redirect_uri}.'), 400);
    }
    const { code, code_verifier: verifier, redirect_uri: redirectUri } = body as Record<string, unknown>;
    if (typeof code !== 'string' || typeof redirectUri !== 'string' || typeof verifier !== 'string') {
      return c.json(errorBody('bad_request', 'Send a JSON body {code, code_verifier, redirect_uri}.'), 400);
    }
    if (code.length === 0 || code.length > 256) return c.json(errorBody('invalid_grant', INVALID_GRANT), 400);

    // Taken before any other check: a code meets one exchange attempt, right or wrong, and is gone.
    const record = await ctx.authStore.takeCode(hashCode(code));
    const refuse = (reason: string, accountId?: string): Response => {
      if (accountId !== undefined) logEvent(ctx, `token-refused reason=${reason}`, accountId);
      else ctx.log(`auth token-refused reason=${reason}`);
      return c.json(errorBody('invalid_grant', INVALID_GRANT), 400);
    };
    if (!record) return refuse('unknown-or-used-code');
    if (ctx.now() >= record.expiresAtMs) return refuse('expired-code', record.accountId);
    if (record.redirectUri !== redirectUri) return refuse('redirect-mismatch', record.accountId);
    if (!isCodeVerifier(verifier) || !verifierMatches(verifier, record.codeChallenge)) {
      return refuse('wrong-verifier', record.accountId);
    }
    const account = await ctx.identity.accountById(record.accountId);
    if (!account) return refuse('account-gone', record.accountId);
    if (!account.paid) {
      logEvent(ctx, 'token-refused reason=unpaid', account.id);
      return c.json(
        errorBody('subscription_required', 'Sync needs a paid Hyperclay plan. Upgrade your plan, then sign in again.'),
        402,
      );
    }
    const sid = await ctx.authStore.createConnection(account.id, record.deviceName);
    const signed = signToken(ctx.tokenSecret, { sub: account.id, sid }, ctx.now());
    logEvent(ctx, 'signed-in', account.id, record.deviceName);
    return c.json({ ...signed, user: { id: account.id, email: account.email, plan: account.plan } }, 200);
  });

  app.post('/sync/token/refresh', async (c) => {
    c.header('Cache-Control', 'no-store');
    const check = await authenticate(ctx, c.req.header('Authorization'));
    if (!check.ok) {
      if (check.code === 'unauthorized') c.header('WWW-Authenticate', 'Bearer');
      return c.json(errorBody(check.code, check.message), check.code === 'unauthorized' ? 401 : 402);
    }
    const signed = signToken(ctx.tokenSecret, { sub: check.account.id, sid: check.sid }, ctx.now());
    logEvent(ctx, 'token-refreshed', check.account.id);
    return c.json(signed, 200);
  });

  app.post('/sync/logout', async (c) => {
    // Only signature and exp are required: an account that lost its plan or was deleted can still be signed out.
    const token = bearerToken(c.req.header('Authorization'));
    const claims = token ? tokenClaims(ctx, token) : null;
    const connection = claims ? await ctx.authStore.connection(claims.sid) : null;
    if (!claims || !connection || connection.accountId !== claims.sub) {
      c.header('WWW-Authenticate', 'Bearer');
      return c.json(
        errorBody('unauthorized', 'You are already signed out: the sync token is missing or invalid.'),
        401,
      );
    }
    if (!connection.revoked) await ctx.authStore.revokeConnection(claims.sid);
    forgetConnection(ctx, claims.sid);
    logEvent(ctx, 'signed-out', claims.sub);
    return c.body(null, 204);
  });

  return app;
}
