// How a site saves itself from its own origin without the platform's login cookie ever reaching user content: the
// owner's visit through the platform mints a one-minute ticket, which the site's host exchanges for a cookie that
// lets this browser save this one site for as long as its platform login lasts.

import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import type { Account } from '../types.js';
import { type AccountStore, cookieValue, SESSION_LIFETIME_MS, sessionHash } from './accounts.js';
import type { PlatformOptions } from './platform.js';
import { siteOrigin } from './site-origin.js';

/** On a site's host only; a path segment holding ":" is never an upload's, so it shadows none. */
export const ENTER_PATH = '/hyperclay:enter';
/** Host-only on `<name>.localhost`: the platform's origin never sees it, and no other site's host either. */
export const SITE_PASS_COOKIE = 'hc_site';
const TICKET_LIFETIME_MS = 60_000;

const HASH = /^[0-9a-f]{64}$/;

function mac(key: string, message: string): string {
  return createHmac('sha256', key).update(message).digest('base64url');
}

function same(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** `<expiresAtMs>.<login session hash>.<MAC>`: names the login it came from, for this site, for one minute. */
export function siteTicket(key: string, site: string, loginCookie: string, nowMs: number): string {
  const expires = nowMs + TICKET_LIFETIME_MS;
  const login = sessionHash(loginCookie);
  return `${expires}.${login}.${mac(key, `site-ticket:${site}:${login}:${expires}`)}`;
}

/** The pass a valid, unexpired ticket for this site is worth (`<login session hash>.<MAC>`); null otherwise. */
export function passForTicket(key: string, site: string, ticket: string, nowMs: number): string | null {
  const [expires = '', login = '', given = ''] = ticket.split('.');
  if (!/^\d{1,15}$/.test(expires) || Number(expires) < nowMs || !HASH.test(login)) return null;
  if (!same(given, mac(key, `site-ticket:${site}:${login}:${expires}`))) return null;
  return `${login}.${mac(key, `site-pass:${site}:${login}`)}`;
}

/** The account a request on a site's host may save that site as: its pass names a live login. */
export function passAccount(key: string, accounts: AccountStore, site: string, request: Request): Account | null {
  const [login = '', given = ''] = cookieValue(request, SITE_PASS_COOKIE)?.split('.') ?? [];
  if (!HASH.test(login) || !same(given, mac(key, `site-pass:${site}:${login}`))) return null;
  // Signing out, or a password change, ends that login: the pass dies with it.
  return accounts.sessionAccountByHash(login);
}

/** GET <site host>/hyperclay:enter?ticket=T&to=PATH: the pass cookie for a valid ticket, then on to PATH. */
export function enterSite(key: string, site: string, c: Context, to: string): Response {
  const pass = passForTicket(key, site, c.req.query('ticket') ?? '', Date.now());
  if (pass !== null) {
    const maxAge = Math.floor(SESSION_LIFETIME_MS / 1000);
    c.header('Set-Cookie', `${SITE_PASS_COOKIE}=${pass}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAge}`);
  }
  c.header('Cache-Control', 'no-store');
  c.header('Referrer-Policy', 'no-referrer');
  return c.redirect(to, 303);
}

/** The owner, signed in here, to `target` on the site's own host through the site's pass exchange. */
export function ownerRedirect(options: PlatformOptions, c: Context, name: string, cookie: string, target: string) {
  const ticket = siteTicket(options.sitePassKey, name, cookie, Date.now());
  const query = new URLSearchParams({ ticket, to: target });
  // The ticket lives a minute and is worth one site's pass only: still, no referrer carries it anywhere.
  c.header('Cache-Control', 'no-store');
  c.header('Referrer-Policy', 'no-referrer');
  return c.redirect(`${siteOrigin(options.port(), c, name)}${ENTER_PATH}?${query}`, 302);
}
