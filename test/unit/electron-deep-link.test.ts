// The sign-in deep link: hostile URLs reaching the controller, argv scanning, the pre-ready queue and the single-instance hand-off.

import { describe, expect, it } from 'vitest';
import { AppController } from '../../electron/core/controller.js';
import { DeepLinkInbox, findDeepLinkInArgv, parsePastedCode } from '../../electron/core/deep-link.js';
import { createLaunchHandler } from '../../electron/core/launch.js';
import { FakeBackend, GOOD_CODE, ORIGIN } from './desktop-fake-backend.js';

const STATE = 'Zm9vYmFyYmF6cXV4MTIz';
const CODE = 'k3y-AbC_123.xyz~';
const GOOD = `hyperclay://auth/callback?code=${CODE}&state=${STATE}`;

describe('deep links reaching the controller', () => {
  async function waiting() {
    const backend = new FakeBackend();
    const logs: string[] = [];
    const controller = new AppController({
      backend,
      origin: ORIGIN,
      scheme: 'hyperclay',
      openExternal: async () => {},
      log: (_level, message) => logs.push(message),
    });
    await controller.signIn();
    return { backend, controller, logs, state: backend.pendingState! };
  }

  it('the callback with the pending state and a code signs in (any case of scheme and host)', async () => {
    const { controller, state } = await waiting();
    expect(await controller.handleDeepLink(`hyperclay://auth/callback?code=${GOOD_CODE}&state=${state}`)).toEqual({
      ok: true,
    });
    expect(controller.state.phase).toBe('on');
  });

  const good = (s: string): string => `hyperclay://auth/callback?code=${GOOD_CODE}&state=${s}`;
  const hostile: Array<[string, (state: string) => unknown]> = [
    ["another sign-in's state", () => good('c29tZW9uZS1lbHNlcy1zdGF0ZQ')],
    ['the state with a suffix', (s) => good(`${s}x`)],
    ['not a string', () => 42],
    ['null', () => null],
    ['another scheme', (s) => `https://auth/callback?code=${GOOD_CODE}&state=${s}`],
    ['a lookalike scheme', (s) => `hyperclayx://auth/callback?code=${GOOD_CODE}&state=${s}`],
    ['javascript', (s) => `javascript:alert(1)//hyperclay://auth/callback?code=${GOOD_CODE}&state=${s}`],
    ['another host', (s) => `hyperclay://evil/callback?code=${GOOD_CODE}&state=${s}`],
    ['credentials', (s) => `hyperclay://user:pw@auth/callback?code=${GOOD_CODE}&state=${s}`],
    ['a port', (s) => `hyperclay://auth:80/callback?code=${GOOD_CODE}&state=${s}`],
    ['another path', (s) => `hyperclay://auth/callbackx?code=${GOOD_CODE}&state=${s}`],
    ['dot segments', (s) => `hyperclay://auth/x/../callback?code=${GOOD_CODE}&state=${s}`],
    ['escaped path', (s) => `hyperclay://auth/%63allback?code=${GOOD_CODE}&state=${s}`],
    ['a trailing slash', (s) => `hyperclay://auth/callback/?code=${GOOD_CODE}&state=${s}`],
    ['a fragment', (s) => `${good(s)}#frag`],
    ['no query', () => 'hyperclay://auth/callback'],
    ['no state', () => `hyperclay://auth/callback?code=${GOOD_CODE}`],
    ['an empty state', () => `hyperclay://auth/callback?code=${GOOD_CODE}&state=`],
    ['a short state', () => `hyperclay://auth/callback?code=${GOOD_CODE}&state=abc`],
    ['a state with spaces', () => `hyperclay://auth/callback?code=${GOOD_CODE}&state=a%20b%20c%20d%20e%20f`],
    ['a repeated state', (s) => `${good(s)}&state=${s}`],
    ['a repeated code', (s) => `${good(s)}&code=other-code-123`],
    ['an extra parameter', (s) => `${good(s)}&redirect=https://evil`],
    ['code and error', (s) => `${good(s)}&error=access_denied`],
    ['neither code nor error', (s) => `hyperclay://auth/callback?state=${s}`],
    ['a code with quotes', (s) => `hyperclay://auth/callback?code=%22%3E%3Cscript%3E&state=${s}`],
    ['a code with a NUL', (s) => `hyperclay://auth/callback?code=abcdefgh%00ijk&state=${s}`],
    ['a bad escape', (s) => `hyperclay://auth/callback?code=%E0%A4%A&state=${s}`],
    ['a raw space', (s) => `hyperclay://auth/callback?code=${GOOD_CODE} &state=${s}`],
    ['a newline', (s) => `hyperclay://auth/callback?code=${GOOD_CODE}\n&state=${s}`],
    ['non-ASCII', (s) => `hyperclay://auth/callback?code=${GOOD_CODE}é&state=${s}`],
    ['a parameter without value', (s) => `hyperclay://auth/callback?code&state=${s}`],
    ['an enormous link', (s) => `${good(s)}&${'x'.repeat(5000)}`],
    ['an odd error', (s) => `hyperclay://auth/callback?error=<b>&state=${s}`],
  ];
  for (const [what, link] of hostile) {
    it(`ignores and logs ${what}; the sign-in goes on waiting`, async () => {
      const { backend, controller, logs, state } = await waiting();
      const result = await controller.handleDeepLink(link(state));
      expect(result).toMatchObject({ ok: false, code: 'link_ignored' });
      expect(backend.calls).toEqual(['beginSignIn']);
      expect(controller.state.phase).toBe('waiting-for-browser');
      expect(logs.some((line) => line.startsWith('deep link ignored: '))).toBe(true);
      expect(logs.join('\n')).not.toContain(GOOD_CODE);
      // The real link still works afterwards.
      expect(await controller.handleDeepLink(`hyperclay://auth/callback?code=${GOOD_CODE}&state=${state}`)).toEqual({
        ok: true,
      });
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

describe('findDeepLinkInArgv', () => {
  it('finds the link among Chromium switches (Windows and Linux cold start / second instance)', () => {
    const argv = ['C:\\Program Files\\Hyperclay Sync\\hyperclay-sync.exe', '--allow-file-access-from-files', GOOD];
    expect(findDeepLinkInArgv(argv, 'hyperclay')).toBe(GOOD);
    expect(findDeepLinkInArgv(['/usr/bin/electron', '/app/main.js', '--', GOOD], 'hyperclay')).toBe(GOOD);
    expect(
      findDeepLinkInArgv(['/opt/app', `HYPERCLAY://auth/callback?code=${CODE}&state=${STATE}`], 'hyperclay'),
    ).not.toBeNull();
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
