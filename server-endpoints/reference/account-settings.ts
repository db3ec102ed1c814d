// The account's own settings on the dashboard: revoking one signed-in device, and changing the password (which
// signs out every device and every other browser).

import type { Context } from 'hono';
import { csrfFor, csrfMatches, readForm, requireSameOrigin, type Session, signedIn } from './guards.js';
import { checkPassword, loginAttempt, startLogin } from './login.js';
import { messagePage, passwordPage } from './pages.js';
import type { PlatformOptions } from './platform.js';
import { errorHtml, pageResponse } from './respond.js';

const MIN_PASSWORD_LENGTH = 8;
const MAX_PASSWORD_LENGTH = 1024;

/** A signed-in, same-origin form post with this login's CSRF token: the session and the form, or the refusal. */
async function sessionForm(
  options: PlatformOptions,
  c: Context,
  what: string,
): Promise<{ session: Session; form: URLSearchParams } | Response> {
  requireSameOrigin(c.req.raw);
  const session = signedIn(options.accounts, c);
  if (!session) return errorHtml(c, 401, 'Sign in first', `Sign in to ${what}.`);
  const form = await readForm(c.req.raw);
  if (!csrfMatches(options.csrfKey, session.cookie, form.get('csrf'))) {
    return errorHtml(c, 403, 'Refused', 'This form is out of date. Reload the dashboard and try again.');
  }
  return { session, form };
}

/** POST /dashboard/devices/revoke {csrf, sid}: that device is signed out (its next request is 401). */
export async function revokeDevice(options: PlatformOptions, c: Context): Promise<Response> {
  const posted = await sessionForm(options, c, 'revoke a device');
  if (posted instanceof Response) return posted;
  const { session, form } = posted;
  const sid = form.get('sid') ?? '';
  const connection = sid === '' ? null : await options.authStore.connection(sid);
  // Another account's device is "not found", never revoked: the sid alone grants nothing.
  if (!connection || connection.accountId !== session.account.id) {
    return errorHtml(c, 404, 'Not found', 'That device is not signed in to your account.');
  }
  await options.authStore.revokeConnection(sid);
  options.log(`device revoked account=${session.account.id}`);
  return c.redirect('/?revoked=1', 303);
}

/** GET /account/password: the form (signed in only). */
export function passwordForm(options: PlatformOptions, c: Context): Response {
  const session = signedIn(options.accounts, c);
  if (!session) return c.redirect(options.accounts.identity.loginUrl('/account/password'), 303);
  return pageResponse(c, 200, passwordPage({ csrf: csrfFor(options.csrfKey, session.cookie) }));
}

/** Why the new password cannot be taken, or null when it can. */
function newPasswordProblem(password: string, confirm: string | null): string | null {
  if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
    return `The new password needs ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters.`;
  }
  if (confirm !== password) return 'The two new passwords are not the same.';
  return null;
}

/**
 * POST /account/password {csrf, current, password, confirm}: the current password is checked under the login's
 * throttle (a stolen browser session must not become a way to guess it), then the new one is set, every login
 * session ends, every device is signed out, and this browser gets a fresh login.
 */
export async function changePassword(options: PlatformOptions, c: Context): Promise<Response> {
  const posted = await sessionForm(options, c, 'change your password');
  if (posted instanceof Response) return posted;
  const { session, form } = posted;
  const csrf = csrfFor(options.csrfKey, session.cookie);
  const again = (status: number, error: string): Response => pageResponse(c, status, passwordPage({ csrf, error }));
  const password = form.get('password') ?? '';
  const problem = newPasswordProblem(password, form.get('confirm'));
  if (problem) return again(400, problem);
  const attempt = loginAttempt(options, c, session.account.email);
  const checked = await checkPassword(options, c, attempt, form.get('current') ?? '');
  if (!checked.ok)
    return again(checked.status, checked.status === 401 ? 'The current password is not right.' : checked.error);
  if (checked.account.id !== session.account.id) return again(401, 'The current password is not right.');
  await options.accounts.changePassword(session.account.id, password);
  const devices = await options.authStore.revokeAccountConnections(session.account.id);
  startLogin(options, c, session.account);
  options.log(`password changed account=${session.account.id} devices-signed-out=${devices}`);
  const said = devices === 1 ? '1 device was' : `${devices} devices were`;
  return pageResponse(
    c,
    200,
    messagePage('Password changed', [
      `Your password is changed. ${said} signed out, and every other browser must sign in again.`,
    ]),
  );
}
