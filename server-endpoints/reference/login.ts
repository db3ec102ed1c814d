// The reference platform's own login: the login page and form, the wrong-password throttle, and signing out.

import type { Context } from 'hono';
import { emailKey, SESSION_COOKIE, SESSION_LIFETIME_MS, safeReturnPath } from './accounts.js';
import { csrfMatches, readForm, requireSameOrigin, signedIn } from './guards.js';
import { loginPage } from './pages.js';
import type { PlatformOptions } from './platform.js';
import { errorHtml, pageResponse } from './respond.js';

const MAX_LOGIN_FAILURES = 10;
const LOGIN_THROTTLE_MS = 60_000;
/** How many emails the throttle remembers; past it, the oldest is forgotten so memory stays bounded. */
const MAX_TRACKED_EMAILS = 10_000;

/** Wrong passwords per email key: after MAX_LOGIN_FAILURES, that email waits LOGIN_THROTTLE_MS. Per instance. */
export class LoginThrottle {
  private readonly failures = new Map<string, { count: number; untilMs: number }>();

  /** How long this email must still wait, or null when it may try. */
  waitMs(key: string): number | null {
    const failures = this.failures.get(key);
    const now = Date.now();
    return failures && failures.count >= MAX_LOGIN_FAILURES && now < failures.untilMs ? failures.untilMs - now : null;
  }

  failed(key: string): void {
    const failures = this.failures.get(key);
    const count = failures && Date.now() < failures.untilMs ? failures.count + 1 : 1;
    this.failures.set(key, { count, untilMs: Date.now() + LOGIN_THROTTLE_MS });
    if (this.failures.size > MAX_TRACKED_EMAILS) this.failures.delete(this.failures.keys().next().value ?? '');
  }

  succeeded(key: string): void {
    this.failures.delete(key);
  }
}

/** GET /login?next=PATH: the form, or straight on to `next` when already signed in. */
export function showLogin(options: PlatformOptions, c: Context): Response {
  const next = safeReturnPath(c.req.query('next'));
  if (signedIn(options.accounts, c)) return c.redirect(next, 303);
  return pageResponse(c, 200, loginPage({ next }));
}

/** POST /login: email and password; a login cookie and a redirect to `next`, or the form again with why. */
export async function submitLogin(options: PlatformOptions, throttle: LoginThrottle, c: Context): Promise<Response> {
  requireSameOrigin(c.req.raw);
  const form = await readForm(c.req.raw);
  const next = safeReturnPath(form.get('next'));
  const email = form.get('email') ?? '';
  const password = form.get('password') ?? '';
  const again = (status: number, error: string): Response => pageResponse(c, status, loginPage({ next, email, error }));
  if (email.trim() === '' || password === '') return again(400, 'Enter your email address and your password.');
  const key = emailKey(email);
  const waitMs = throttle.waitMs(key);
  if (waitMs !== null) {
    options.log('login throttled');
    c.header('Retry-After', String(Math.ceil(waitMs / 1000)));
    return again(429, 'Too many wrong passwords for this email. Wait a minute, then try again.');
  }
  const account = await options.accounts.verifyPassword(email, password);
  if (!account) {
    throttle.failed(key);
    options.log('login refused');
    return again(401, 'That email and password do not match an account.');
  }
  throttle.succeeded(key);
  const cookie = options.accounts.startSession(account.id);
  const maxAge = Math.floor(SESSION_LIFETIME_MS / 1000);
  c.header('Set-Cookie', `${SESSION_COOKIE}=${cookie}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAge}`);
  options.log(`login account=${account.id}`);
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
