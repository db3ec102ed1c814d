// The sign-in deep link: strict parsing of hostile URLs, argv scanning, the pre-ready queue and the single-instance hand-off.

import { describe, expect, it } from 'vitest';
import {
  DeepLinkInbox,
  findDeepLinkInArgv,
  isValidScheme,
  parseDeepLink,
  parsePastedCode,
} from '../../electron/core/deep-link.js';
import { createLaunchHandler } from '../../electron/core/launch.js';

const STATE = 'Zm9vYmFyYmF6cXV4MTIz';
const CODE = 'k3y-AbC_123.xyz~';
const GOOD = `hyperclay://auth/callback?code=${CODE}&state=${STATE}`;

describe('parseDeepLink', () => {
  it('accepts the callback with a code, and the browser refusal', () => {
    expect(parseDeepLink(GOOD, 'hyperclay')).toEqual({ ok: true, link: { kind: 'code', code: CODE, state: STATE } });
    expect(parseDeepLink(`hyperclay://auth/callback?state=${STATE}&code=${CODE}`, 'hyperclay').ok).toBe(true);
    expect(parseDeepLink(`hyperclay://auth/callback?error=access_denied&state=${STATE}`, 'hyperclay')).toEqual({
      ok: true,
      link: { kind: 'error', error: 'access_denied', state: STATE },
    });
    // Scheme and host are case-insensitive in URLs; Windows may upper-case them.
    expect(parseDeepLink(`HYPERCLAY://AUTH/CALLBACK?code=${CODE}&state=${STATE}`, 'hyperclay').ok).toBe(true);
  });

  it('uses the configured scheme only', () => {
    expect(parseDeepLink(GOOD.replace('hyperclay', 'hyperclay-dev'), 'hyperclay-dev').ok).toBe(true);
    expect(parseDeepLink(GOOD, 'hyperclay-dev').ok).toBe(false);
  });

  const hostile: Array<[string, unknown]> = [
    ['not a string', 42],
    ['null', null],
    ['another scheme', `https://auth/callback?code=${CODE}&state=${STATE}`],
    ['a lookalike scheme', `hyperclayx://auth/callback?code=${CODE}&state=${STATE}`],
    ['javascript', `javascript:alert(1)//hyperclay://auth/callback?code=${CODE}&state=${STATE}`],
    ['another host', `hyperclay://evil/callback?code=${CODE}&state=${STATE}`],
    ['credentials', `hyperclay://user:pw@auth/callback?code=${CODE}&state=${STATE}`],
    ['a port', `hyperclay://auth:80/callback?code=${CODE}&state=${STATE}`],
    ['another path', `hyperclay://auth/callbackx?code=${CODE}&state=${STATE}`],
    ['dot segments', `hyperclay://auth/x/../callback?code=${CODE}&state=${STATE}`],
    ['escaped path', `hyperclay://auth/%63allback?code=${CODE}&state=${STATE}`],
    ['a trailing slash', `hyperclay://auth/callback/?code=${CODE}&state=${STATE}`],
    ['a fragment', `${GOOD}#frag`],
    ['no query', 'hyperclay://auth/callback'],
    ['no state', `hyperclay://auth/callback?code=${CODE}`],
    ['an empty state', `hyperclay://auth/callback?code=${CODE}&state=`],
    ['a short state', `hyperclay://auth/callback?code=${CODE}&state=abc`],
    ['a state with spaces', `hyperclay://auth/callback?code=${CODE}&state=a%20b%20c%20d%20e%20f`],
    ['a repeated state', `${GOOD}&state=${STATE}`],
    ['a repeated code', `${GOOD}&code=other-code-123`],
    ['an extra parameter', `${GOOD}&redirect=https://evil`],
    ['code and error', `${GOOD}&error=access_denied`],
    ['neither code nor error', `hyperclay://auth/callback?state=${STATE}`],
    ['a code with quotes', `hyperclay://auth/callback?code=%22%3E%3Cscript%3E&state=${STATE}`],
    ['a code with a NUL', `hyperclay://auth/callback?code=abcdefgh%00ijk&state=${STATE}`],
    ['a bad escape', `hyperclay://auth/callback?code=%E0%A4%A&state=${STATE}`],
    ['a raw space', `hyperclay://auth/callback?code=${CODE} &state=${STATE}`],
    ['a newline', `hyperclay://auth/callback?code=${CODE}\n&state=${STATE}`],
    ['non-ASCII', `hyperclay://auth/callback?code=${CODE}é&state=${STATE}`],
    ['a parameter without value', `hyperclay://auth/callback?code&state=${STATE}`],
    ['an empty parameter', `hyperclay://auth/callback?code=${CODE}&&state=${STATE}`],
    ['an enormous link', `${GOOD}&${'x'.repeat(5000)}`],
    ['an odd error', `hyperclay://auth/callback?error=<b>&state=${STATE}`],
  ];
  for (const [what, link] of hostile) {
    it(`refuses ${what}`, () => {
      const parsed = parseDeepLink(link, 'hyperclay');
      expect(parsed.ok).toBe(false);
      // The reason is safe to log: it never echoes the code.
      if (!parsed.ok) expect(parsed.reason).not.toContain(CODE);
    });
  }
});

describe('parsePastedCode', () => {
  it('trims and accepts a code; refuses junk', () => {
    expect(parsePastedCode(`  ${CODE}\n`)).toBe(CODE);
    expect(parsePastedCode('')).toBeNull();
    expect(parsePastedCode('two words here')).toBeNull();
    expect(parsePastedCode('<img src=x>')).toBeNull();
    expect(parsePastedCode({ code: CODE })).toBeNull();
  });
});

describe('isValidScheme', () => {
  it('refuses schemes that would hijack the web or files', () => {
    expect(isValidScheme('hyperclay')).toBe(true);
    expect(isValidScheme('hyperclay-dev')).toBe(true);
    for (const bad of ['http', 'https', 'file', 'javascript', 'data', '', '1abc', 'a b', 'Hyperclay']) {
      expect(isValidScheme(bad)).toBe(false);
    }
  });
});

describe('findDeepLinkInArgv', () => {
  it('finds the link among Chromium switches (Windows and Linux cold start / second instance)', () => {
    const argv = ['C:\\Program Files\\Hyperclay Sync\\hyperclay-sync.exe', '--allow-file-access-from-files', GOOD];
    expect(findDeepLinkInArgv(argv, 'hyperclay')).toBe(GOOD);
    expect(findDeepLinkInArgv(['/usr/bin/electron', '/app/main.js', '--', GOOD], 'hyperclay')).toBe(GOOD);
    expect(findDeepLinkInArgv(['/opt/app', `HYPERCLAY://auth/callback?code=${CODE}&state=${STATE}`], 'hyperclay')).not.toBeNull();
  });

  it('ignores arguments that only contain the scheme', () => {
    expect(findDeepLinkInArgv(['/app', `--foo=${GOOD}`, `x${GOOD}`, 'hyperclay:/auth'], 'hyperclay')).toBeNull();
    expect(findDeepLinkInArgv(['/app', GOOD], 'other')).toBeNull();
    expect(findDeepLinkInArgv([undefined, 7, null], 'hyperclay')).toBeNull();
  });
});

describe('DeepLinkInbox', () => {
  it('queues links until ready, then delivers them in order, and delivers at once afterwards', () => {
    const delivered: string[] = [];
    const inbox = new DeepLinkInbox((url) => delivered.push(url));
    inbox.receive('a');
    inbox.receive('b');
    expect(delivered).toEqual([]);
    inbox.markReady();
    expect(delivered).toEqual(['a', 'b']);
    inbox.receive('c');
    expect(delivered).toEqual(['a', 'b', 'c']);
    inbox.markReady();
    expect(delivered).toEqual(['a', 'b', 'c']);
  });

  it('keeps only the newest few links from a flood before ready', () => {
    const delivered: string[] = [];
    const inbox = new DeepLinkInbox((url) => delivered.push(url), 2);
    for (const url of ['1', '2', '3', '4']) inbox.receive(url);
    inbox.markReady();
    expect(delivered).toEqual(['3', '4']);
  });
});

describe('single-instance hand-off', () => {
  function launcher() {
    const links: string[] = [];
    let shown = 0;
    const handler = createLaunchHandler({
      scheme: 'hyperclay',
      onDeepLink: (url) => links.push(url),
      showWindow: () => {
        shown++;
      },
    });
    return { handler, links, shown: () => shown };
  }

  it('a cold start with the link in argv delivers it once the app is ready', () => {
    const { handler, links } = launcher();
    handler.coldStart(['/opt/Hyperclay Sync/hyperclay-sync', '--no-sandbox', GOOD]);
    expect(links).toEqual([]);
    handler.ready();
    expect(links).toEqual([GOOD]);
  });

  it('macOS open-url before ready is queued, after ready delivered', () => {
    const { handler, links } = launcher();
    handler.openUrl(GOOD);
    handler.openUrl(42);
    handler.ready();
    handler.openUrl(`${GOOD}x`);
    expect(links).toEqual([GOOD, `${GOOD}x`]);
  });

  it("a second instance hands over its argv's link and brings the window forward", () => {
    const { handler, links, shown } = launcher();
    handler.coldStart(['/opt/app']);
    handler.ready();
    handler.secondInstance(['/opt/app', '--flag', GOOD]);
    expect(links).toEqual([GOOD]);
    expect(shown()).toBe(1);
    // A plain second launch (no link) only shows the window.
    handler.secondInstance(['/opt/app']);
    expect(links).toEqual([GOOD]);
    expect(shown()).toBe(2);
  });

  it('a second instance during start-up queues the link and does not show a window that does not exist yet', () => {
    const { handler, links, shown } = launcher();
    handler.secondInstance(['/opt/app', GOOD]);
    expect(shown()).toBe(0);
    handler.ready();
    expect(links).toEqual([GOOD]);
  });
});
