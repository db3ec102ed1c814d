// The code page's one script, served from the platform's own origin (the pages' CSP runs no inline script): the Copy
// button, and the return to a loopback app only once something listens there, so the code never leaves the screen.

import type { Context } from 'hono';
import { ISOLATION_HEADERS } from './pages.js';

/**
 * Plain browser JavaScript. A loopback redirect (the CLI) is first asked with a HEAD without credentials or
 * referrer: when the CLI answers (any status), the browser goes there after a moment; when nothing listens, the page
 * stays and says so. A deep link is left to the page's meta refresh. Nothing here reads or sends the code anywhere
 * but the clipboard and the redirect the person's own Allow chose.
 */
const SOURCE = `'use strict';
(function () {
  var code = document.getElementById('code');
  var copy = document.getElementById('copy');
  var link = document.getElementById('callback');
  var status = document.getElementById('return-status');
  if (copy && code && navigator.clipboard) {
    copy.hidden = false;
    copy.addEventListener('click', function () {
      navigator.clipboard.writeText(code.textContent.trim()).then(
        function () { copy.textContent = 'Copied'; },
        function () { copy.textContent = 'Select the code and copy it'; }
      );
    });
  }
  if (!link || !status) return;
  var target = new URL(link.href);
  if (target.protocol !== 'http:') return;
  status.textContent = 'Returning to the app…';
  fetch(target.origin + target.pathname, {
    method: 'HEAD', mode: 'no-cors', cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer'
  }).then(
    function () { setTimeout(function () { window.location.assign(link.href); }, 1200); },
    function () {
      status.className = 'error';
      status.textContent = 'The app is not answering on this computer (' + target.host + '). ' +
        'Paste the code above into the terminal that asked you to sign in.';
    }
  );
})();
`;

/** GET /sync/authorize/return.js */
export function returnScript(c: Context): Response {
  return c.body(SOURCE, 200, {
    'Content-Type': 'text/javascript; charset=utf-8',
    'Cache-Control': 'public, max-age=300',
    ...ISOLATION_HEADERS,
  });
}
