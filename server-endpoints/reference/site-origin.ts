// Which site a request's host names (`<name>.localhost[:port]`), and a site's own origin: every site is its own origin.

import type { Context } from 'hono';
import { checkSiteName } from '../../protocol/index.js';

const SUBDOMAIN_HOST = /^([a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?)\.localhost(?::\d{1,5})?$/;

/** The site a `<name>.localhost[:port]` Host header names, or null for the platform's own host. */
export function subdomainSite(host: string | undefined): string | null {
  const match = host ? SUBDOMAIN_HOST.exec(host.toLowerCase()) : null;
  if (!match?.[1]) return null;
  return checkSiteName(match[1]).ok ? match[1] : null;
}

/** Any `<something>.localhost` host is site space: the platform's own pages are never served there. */
export function isSiteSpace(host: string | undefined): boolean {
  return host !== undefined && /\.localhost(?::\d{1,5})?$/i.test(host);
}

/** `http://<name>.localhost:<port>`: the site's own origin (the port the browser used when the server's is unknown). */
export function siteOrigin(port: number | null, c: Context, name: string): string {
  const shown = port ?? new URL(c.req.url).port;
  return `http://${name}.localhost${shown ? `:${shown}` : ''}`;
}
