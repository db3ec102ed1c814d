// The reference platform's own login: the login page and form (throttled by login-throttle.ts, password checks
// bounded by passwords.ts), and signing out.

import type { Context } from 'hono';
import { safeReturnPath } from '../auth/return-path.js';
import type { Account } from '../types.js';
import { cookieValue, emailKey, SESSION_COOKIE, SESSION_LIFETIME_MS } from './accounts.js';
import { csrfMatches, readForm, requireSameOrigin, signedIn } from './guards.js';
import { KNOWN_BROWSER_COOKIE, type LoginAttempt } from './login-throttle.js';
import { loginPage } from './pages.js';
import { PasswordWorkBusy } from './passwords.js';
import type { PlatformOptions } from './platform.js';
import { errorHtml, pageResponse } from './respond.js';

/** How long a browser is remembered as one that signed in to an account (its own throttle count, priority). */
const KNOWN_BROWSER_MAX_AGE_S = 365 * 24 * 60 * 60;

/** GET /login?next=PATH: the form, or straight on to `next` when already signed in. */
export function showLogin(options: PlatformOptions, c: Context): Response {
  const next = safeReturnPath(c.req.query('next'));
  if (signedIn(options.accounts, c)) return c.redirect(next, 303);
  return pageResponse(c, 200, loginPage({ next }));
}

/** Who is trying to sign in to `email`, as the throttle counts it. */
export function loginAttempt(options: PlatformOptions, c: Context, email: string): LoginAttempt {
  return {
    email: emailKey(email),
    address: options.clientAddress(c),
    knownBrowser: cookieValue(c.req.raw, KNOWN_BROWSER_COOKIE),
  };
}

/**
 * Checks a password under the throttle: the account when it is right, else the refusal to show (429 while this
 * attempt must wait, 503 while the platform checks too many passwords, 401 for a wrong one).
 */
export async function checkPassword(
  options: PlatformOptions,
  c: Context,
  attempt: LoginAttempt,
  password: string,
): Promise<{ ok: true; account: Account } | { ok: false; status: number; error: string }> {
  const waitMs = options.throttle.waitMs(attempt);
  if (waitMs > 0) {
    const seconds = Math.ceil(waitMs / 1000);
    options.log('login throttled');
    c.header('Retry-After', String(seconds));
    return { ok: false, status: 429, error: `Too many wrong passwords. Wait ${seconds} s, then try again.` };
  }
  let account: Account | null;
  try {
    account = await options.accounts.verifyPassword(attempt.email, password, options.throttle.isKnownBrowser(attempt));
  } catch (error) {
    if (!(error instanceof PasswordWorkBusy)) throw error;
    options.log('login busy');
    c.header('Retry-After', '2');
    return { ok: false, status: 503, error: error.message };
  }
  if (!account) {
    options.throttle.failed(attempt);
    options.log('login refused');
    return { ok: false, status: 401, error: 'That email and password do not match an account.' };
  }
  options.throttle.succeeded(attempt);
  return { ok: true, account };
}

/** A new login session for this browser: its cookie, and the cookie that marks it as known to this account. */
export function startLogin(options: PlatformOptions, c: Context, account: Account): void {
  const cookie = options.accounts.startSession(account.id);
  const maxAge = Math.floor(SESSION_LIFETIME_MS / 1000);
  c.header('Set-Cookie', `${SESSION_COOKIE}=${cookie}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAge}`, {
    append: true,
  });
  const known = options.throttle.knownBrowserCookie(emailKey(account.email));
  c.header(
    'Set-Cookie',
    `${KNOWN_BROWSER_COOKIE}=${known}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${KNOWN_BROWSER_MAX_AGE_S}`,
    { append: true },
  );
}

/** POST /login: email and password; a login cookie and a redirect to `next`, or the form again with why. */
export async function submitLogin(options: PlatformOptions, c: Context): Promise<Response> {
  requireSameOrigin(c.req.raw);
  const form = await readForm(c.req.raw);
  const next = safeReturnPath(form.get('next'));
  const email = form.get('email') ?? '';
  const password = form.get('password') ?? '';
  const again = (status: number, error: string): Response => pageResponse(c, status, loginPage({ next, email, error }));
  if (email.trim() === '' || password === '') return again(400, 'Enter your email address and your password.');
  const checked = await checkPassword(options, c, loginAttempt(options, c, email), password);
  if (!checked.ok) return again(checked.status, checked.error);
  startLogin(options, c, checked.account);
  options.log(`login account=${checked.account.id}`);
  return c.redirect(next, 303);
}

/** POST /logout (with the page's CSRF token): ends the login session and clears the cookie. */
export async function logout(options: PlatformOptions, c: Context): Promise<Response> {
  requireSameOrigin(c.req.raw);
  const session = signedIn(options.accounts, c);
  if (session) {
    const form = await readForm(c.req.raw);
    if (!csrfMatches(options.csrfKey, session.cookie, form.get('csrf'))) {
      return errorHtml(c, 403, 'Refused', 'This sign-out form is out of date. Reload the page and try again.');
    }
    options.accounts.endSession(session.cookie);
  }
  c.header('Set-Cookie', `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0`);
  return c.redirect('/', 303);
}
