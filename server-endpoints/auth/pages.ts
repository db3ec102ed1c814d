// The HTML of the sign-in pages (consent, code, refusals) and the headers that keep them unframeable and inert.

import { escapeInvisible } from '../../protocol/index.js';

export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** A name (device, site, file) as page text: escaped, and every hiding or reordering character shown as an escape. */
export function escapeName(text: string): string {
  return escapeHtml(escapeInvisible(text));
}

/**
 * What keeps a platform page to its own origin: no other origin may frame it (frame-ancestors in the CSP, and
 * X-Frame-Options for older browsers), embed it as a resource (CORP), or keep a handle on the window it opened
 * (COOP: a page of another origin that opens it gets no reference to it), and no type sniffing.
 */
export const ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/** What a page may load beyond its own inline style: its one script (same origin) and whom that script may reach. */
export interface PageSources {
  /** Where a form may go, including the redirect that follows it (Chromium applies form-action to redirects). */
  formAction?: string[];
  /** The page runs its own script from this origin (`script-src 'self'`); inline script never runs. */
  script?: boolean;
  /** Where that script may send a request (`connect-src`): the code page's check that the app is listening. */
  connect?: string[];
}

/** Headers for every sign-in page: only the sources named in `sources`, nothing inline but style. */
export function pageHeaders(sources: PageSources = {}): Record<string, string> {
  const formAction = sources.formAction ?? [];
  const formSources = formAction.length > 0 ? formAction.join(' ') : "'none'";
  const script = sources.script ? " script-src 'self';" : '';
  const connect = sources.connect && sources.connect.length > 0 ? ` connect-src ${sources.connect.join(' ')};` : '';
  return {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Security-Policy': `default-src 'none';${script}${connect} style-src 'unsafe-inline'; base-uri 'none'; form-action ${formSources}; frame-ancestors 'none'`,
    ...ISOLATION_HEADERS,
    // Nothing from these pages (the code page's links carry a sign-in code) goes to another origin as a referrer.
    // Not `no-referrer`: with it, browsers send `Origin: null` on the consent POST and the origin check fails.
    'Referrer-Policy': 'same-origin',
    'Cache-Control': 'no-store',
  };
}

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem}button{font-size:1rem;padding:.5rem 1.2rem;margin-right:.5rem}
code#code{display:block;font-size:1.15rem;padding:.8rem;background:#f3f3f3;border-radius:4px;word-break:break-all;user-select:all;font-family:ui-monospace,monospace}
.muted{color:#666;font-size:.9rem}.error{color:#b00020}
a.button{display:inline-block;font-size:1.05rem;padding:.6rem 1.4rem;margin:.6rem 0;background:#1a5fd0;color:#fff;border-radius:4px;text-decoration:none}
input.code{font:1.6rem ui-monospace,monospace;letter-spacing:.15em;text-transform:uppercase;width:14ch;padding:.3rem .5rem}`;

/** A whole page; `title` is escaped here, `body` must already be safe HTML. */
function page(title: string, body: string, head = ''): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
${head}<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>${body}</body></html>
`;
}

/**
 * "Connect <device> to <email>?" with Allow and Cancel: the authorize page and the device page's second step. The
 * hidden `fields` (validated before rendering) go back with the answer.
 */
export function consentPage(options: {
  action: string;
  email: string;
  device: string;
  fields: Record<string, string>;
}): string {
  const hidden = Object.entries(options.fields)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('\n');
  const device = escapeName(options.device);
  const email = escapeName(options.email);
  return page(
    `Connect ${escapeInvisible(options.device)}`,
    `<h1>Connect <strong id="device">${device}</strong> to <span id="email">${email}</span>?</h1>
<p>Hyperclay Sync on this device will be able to read and change the sites and uploads of ${email}.</p>
<form method="post" action="${escapeHtml(options.action)}">
${hidden}
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="cancel">Cancel</button>
</form>`,
  );
}

/** The device page's first step: the short code the device shows, typed in (prefilled from the complete URI). */
export function deviceCodeEntryPage(options: {
  action: string;
  email: string;
  csrf: string;
  userCode: string;
  error?: string;
}): string {
  const error = options.error ? `<p id="error" class="error" role="alert">${escapeHtml(options.error)}</p>\n` : '';
  return page(
    'Connect a device',
    `<h1>Connect a device</h1>
<p>Enter the code your device shows. You are signed in as <span id="email">${escapeName(options.email)}</span>.</p>
${error}<form method="post" action="${escapeHtml(options.action)}">
<input type="hidden" name="csrf" value="${escapeHtml(options.csrf)}">
<p><label for="user_code">Code</label><br>
<input id="user_code" class="code" name="user_code" value="${escapeHtml(options.userCode)}" placeholder="ABCD-EFGH"
 maxlength="20" autocomplete="off" autocapitalize="characters" spellcheck="false" required autofocus></p>
<button type="submit">Continue</button>
</form>
<p class="muted">The code is on the screen of the device that runs <code>hyperclay-sync login --device</code>.</p>`,
  );
}

/** The code page's one script (`/sync/authorize/return.js`): the Copy button and the return to a loopback app. */
export const RETURN_SCRIPT_PATH = '/sync/authorize/return.js';

/**
 * After Allow: the code first, large and selectable, with the sentence saying where to paste it; then the way back
 * to the app. A deep link (the desktop app) is tried by a meta refresh after a moment: when no app handles the
 * scheme the browser stays on this page. A loopback address (the CLI) is never navigated to blindly (an address
 * nobody listens on would replace this page, and the code, with the browser's error page): the script first asks
 * the address (a HEAD without credentials) and goes there only when something answers; otherwise, and without
 * script, the page stays with the code and a "Return to the app" link.
 */
export function codePage(options: { code: string; callbackUrl: string; device: string; deepLink: boolean }): string {
  const url = escapeHtml(options.callbackUrl);
  const returning = options.deepLink ? 'Returning to the app…' : '';
  return page(
    'Sign-in code',
    `<h1>Connecting ${escapeName(options.device)}</h1>
<p>Your sign-in code:</p>
<code id="code">${escapeHtml(options.code)}</code>
<p><button id="copy" type="button" hidden>Copy</button></p>
<p id="paste-hint">If nothing happens, paste this code into the app or the terminal that asked you to sign in.</p>
<p><a id="callback" class="button" href="${url}">Return to the app</a></p>
<p id="return-status" class="muted" role="status">${returning}</p>
<p class="muted">The code works once and expires in 5 minutes. You can close this page afterwards.</p>
<script src="${RETURN_SCRIPT_PATH}"></script>`,
    options.deepLink ? `<meta http-equiv="refresh" content="1; url=${url}">` : '',
  );
}

/** A refusal: says what went wrong and what to do; never redirects anywhere. */
export function messagePage(title: string, sentences: string[]): string {
  // Sentences name things (devices, accounts): shown with their hiding or reordering characters escaped.
  return page(title, `<h1>${escapeHtml(title)}</h1>\n${sentences.map((s) => `<p>${escapeName(s)}</p>`).join('\n')}`);
}
