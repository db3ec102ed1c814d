// What the reference platform checks on a browser request before acting: the login cookie, the origin, the CSRF
// token of its forms, and a bounded body.

import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { BodyTooLarge, readBody } from '../http.js';
import type { Account } from '../types.js';
import { type AccountStore, sessionCookie } from './accounts.js';
import type { PlatformOptions } from './platform.js';
import { PlatformError } from './respond.js';
import { subdomainSite } from './site-origin.js';
import { passAccount } from './site-pass.js';

const MAX_FORM_BYTES = 64 * 1024;

/** A signed-in browser: the account and the cookie value its CSRF tokens derive from. */
export interface Session {
  account: Account;
  cookie: string;
}

export function signedIn(accounts: AccountStore, c: Context): Session | null {
  const cookie = sessionCookie(c.req.raw);
  const account = cookie ? accounts.sessionAccount(cookie) : null;
  return account && cookie ? { account, cookie } : null;
}

/**
 * Who may save site `name` with this request: on the site's own host, the browser's pass for that site (the
 * platform's login cookie never reaches a site's host); on the platform's origin, its login.
 */
export function saverOf(options: PlatformOptions, c: Context, name: string): Account | null {
  const site = subdomainSite(c.req.header('host'));
  if (site === null) return signedIn(options.accounts, c)?.account ?? null;
  return site === name ? passAccount(options.sitePassKey, options.accounts, name, c.req.raw) : null;
}

/** Reads a body up to `max` bytes; more is `413 too_large` without buffering the rest. */
export async function readLimitedBody(request: Request, max: number): Promise<{ content: Buffer; sha256: string }> {
  try {
    return await readBody(request, max);
  } catch (error) {
    if (error instanceof BodyTooLarge) throw new PlatformError('too_large', `The body is over ${max} bytes.`);
    throw error;
  }
}

export async function readForm(request: Request): Promise<URLSearchParams> {
  const type = request.headers.get('content-type') ?? '';
  if (!type.startsWith('application/x-www-form-urlencoded')) {
    throw new PlatformError('bad_request', 'This form must be sent as application/x-www-form-urlencoded.');
  }
  const { content } = await readLimitedBody(request, MAX_FORM_BYTES);
  return new URLSearchParams(content.toString('utf8'));
}

/** The origin this request was addressed to, as a browser on this host would spell it. */
function ownOrigin(request: Request): string | null {
  const host = request.headers.get('host');
  return host ? `${new URL(request.url).protocol}//${host.toLowerCase()}` : null;
}

/** Refuses a request whose Origin header names another origin (a cross-site form or script). */
export function requireSameOrigin(request: Request): void {
  const origin = request.headers.get('origin');
  if (origin === null) return;
  if (origin.toLowerCase() !== ownOrigin(request)) {
    throw new PlatformError('forbidden', 'This request came from another site and was refused.');
  }
}

export function csrfFor(key: string, cookie: string): string {
  return createHmac('sha256', key).update(`csrf:${cookie}`).digest('base64url');
}

export function csrfMatches(key: string, cookie: string, presented: string | null): boolean {
  if (!presented) return false;
  const expected = Buffer.from(csrfFor(key, cookie));
  const given = Buffer.from(presented);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** A dashboard form's sender: this origin, signed in, with the login's CSRF token; anything else is thrown. */
export async function formSession(
  options: PlatformOptions,
  c: Context,
): Promise<{ session: Session; form: URLSearchParams }> {
  requireSameOrigin(c.req.raw);
  const session = signedIn(options.accounts, c);
  if (!session) throw new PlatformError('unauthorized', 'Sign in first, then try again.');
  const form = await readForm(c.req.raw);
  if (!csrfMatches(options.csrfKey, session.cookie, form.get('csrf'))) {
    throw new PlatformError('forbidden', 'This form is out of date. Reload the page and try again.');
  }
  return { session, form };
}
