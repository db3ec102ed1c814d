// The window's own origin: `app://hyperclay-sync/...` served from the renderer folder, and nothing else from it.

import { extname, join } from 'node:path';
import { checkPath } from '../../protocol/index.js';

export const APP_SCHEME = 'app';
export const APP_HOST = 'hyperclay-sync';
export const APP_PAGE_URL = `${APP_SCHEME}://${APP_HOST}/index.html`;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/**
 * Maps a request on the app's scheme to a file inside `rendererDir`, or null (404): another host, a query,
 * a path that breaks PROTOCOL.md's path rules (`..`, backslashes, ...), or a file type the window never loads.
 */
export function resolveAppAsset(requestUrl: string, rendererDir: string): { file: string; contentType: string } | null {
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    return null;
  }
  if (url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST || url.username || url.password) return null;
  // Rejected on the raw text too: URL parsing silently resolves `..` and `%2e%2e`.
  const rawPath = requestUrl.slice(`${APP_SCHEME}://${APP_HOST}/`.length).split(/[?#]/)[0] ?? '';
  let relative: string;
  try {
    relative = decodeURIComponent(rawPath);
  } catch {
    return null;
  }
  if (relative === '') relative = 'index.html';
  const checked = checkPath(relative);
  if (!checked.ok) return null;
  const contentType = CONTENT_TYPES[extname(checked.value).toLowerCase()];
  if (contentType === undefined) return null;
  return { file: join(rendererDir, ...checked.value.split('/')), contentType };
}

/** The strict CSP the window's responses carry (the HTML also has it as a meta tag). */
export const WINDOW_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'none'; " +
  "font-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
