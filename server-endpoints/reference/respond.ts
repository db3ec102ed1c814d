// How the reference platform answers: its HTML pages with their headers, its refusals (PlatformError), and the
// JSON error body of its save endpoint.

import type { Context } from 'hono';
import { ERROR_STATUS, type ErrorCode, errorBody } from '../../protocol/index.js';
import { ISOLATION_HEADERS } from '../auth/pages.js';
import { errorPage, PAGE_CSP, SITE_PAGE_CSP } from './pages.js';
import { isSiteSpace } from './site-origin.js';

/** A refusal a platform route throws: a page for the browser routes, a JSON body for the save endpoint. */
export class PlatformError extends Error {
  constructor(
    readonly code: ErrorCode | 'forbidden',
    message: string,
  ) {
    super(message);
  }
  get status(): number {
    return this.code === 'forbidden' ? 403 : ERROR_STATUS[this.code];
  }
}

export function pageResponse(c: Context, status: number, html: string, csp = PAGE_CSP): Response {
  c.header('Content-Security-Policy', csp);
  for (const [name, value] of Object.entries(ISOLATION_HEADERS)) c.header(name, value);
  c.header('Cache-Control', 'no-store');
  c.header('Referrer-Policy', 'same-origin');
  return c.html(html, status as 200);
}

/** An error page; on a site's host without the shell (no platform script or stylesheet is ever loaded there). */
export function errorHtml(c: Context, status: number, title: string, message: string): Response {
  if (isSiteSpace(c.req.header('host'))) {
    return pageResponse(c, status, errorPage(status, title, message, true), SITE_PAGE_CSP);
  }
  return pageResponse(c, status, errorPage(status, title, message));
}

/** A site name nobody holds (or that breaks the naming rules). */
export function noSuchSite(c: Context, name: string): Response {
  return errorHtml(c, 404, 'Not found', `There is no site named "${name}".`);
}

/** A valid site name the signed-in account does not hold. */
export function notYourSite(c: Context, name: string): Response {
  return errorHtml(c, 404, 'Not found', `You have no site named "${name}".`);
}

export function notFoundPage(c: Context): Response {
  return errorHtml(c, 404, 'Not found', 'There is nothing at this address.');
}

export function jsonError(c: Context, error: PlatformError): Response {
  // 'forbidden' (a CSRF refusal) is this endpoint's own code: PROTOCOL.md's table has none for it.
  const body =
    error.code === 'forbidden'
      ? { error: { code: 'forbidden', message: error.message } }
      : errorBody(error.code, error.message);
  return c.json(body, error.status as 400);
}
