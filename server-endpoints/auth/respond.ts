// What the sign-in endpoints send besides JSON: their HTML pages with the security headers, and one log line per event.

import type { Context } from 'hono';
import type { EndpointContext, SyncEnv } from '../context.js';
import type { Account } from '../types.js';
import { messagePage, type PageSources, pageHeaders } from './pages.js';

type C = Context<SyncEnv>;

export function htmlPage(c: C, status: 200 | 400 | 402 | 403 | 429, html: string, sources: PageSources = {}): Response {
  return c.body(html, status, pageHeaders(sources));
}

function messageHtml(c: C, status: 400 | 402 | 403, title: string, sentences: string[]): Response {
  return htmlPage(c, status, messagePage(title, sentences));
}

export function badLinkPage(c: C, problem: string): Response {
  return messageHtml(c, 400, 'This sign-in link is not valid', [
    problem,
    'Start signing in again from the Hyperclay Sync app or the hyperclay-sync command.',
  ]);
}

export function unpaidPage(c: C, account: Account): Response {
  return messageHtml(c, 402, 'Sync needs a paid plan', [
    `The account ${account.email} is on the ${account.plan} plan, which does not include Hyperclay Sync.`,
    'Upgrade the plan on the platform, then sign in from the app again.',
  ]);
}

export function expiredFormPage(c: C): Response {
  return messageHtml(c, 403, 'This sign-in form has expired', [
    'The form was not sent from this page, or it is too old. Start signing in again from the app.',
  ]);
}

export function notForScriptsPage(c: C): Response {
  return messageHtml(c, 403, 'Open this page in the browser', [
    'The sign-in page opens only as a page of its own, not inside another page or from a script.',
    'Start signing in again from the Hyperclay Sync app or the hyperclay-sync command.',
  ]);
}

/**
 * One line per sign-in event; the device name is JSON-quoted so it cannot break the line (ctx.log escapes bidi
 * controls on every line). Never tokens or codes.
 */
export function logEvent(ctx: EndpointContext, event: string, accountId: string, device?: string): void {
  ctx.log(`auth ${event} account=${accountId}${device === undefined ? '' : ` device=${JSON.stringify(device)}`}`);
}
