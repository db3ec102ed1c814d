// The app controller: every transition of signed-out -> waiting -> on / off / attention and back, on a fake engine.

import { describe, expect, it } from 'vitest';
import { AppError } from '../../electron/core/backend.js';
import { AppController, type AppState, authorizeState, windowView } from '../../electron/core/controller.js';
import { NOTICE_TEXT } from '../../sync-engine/status.js';
import { callbackLink, FakeBackend, GOOD_CODE, ORIGIN, SCHEME } from './desktop-fake-backend.js';

function setup() {
  const backend = new FakeBackend();
  const opened: string[] = [];
  const logs: string[] = [];
  const controller = new AppController({
    backend,
    origin: ORIGIN,
    scheme: SCHEME,
    openExternal: async (url) => {
      opened.push(url);
    },
    log: (level, message) => logs.push(`${level} ${message}`),
  });
  const phases: AppState['phase'][] = [];
  controller.on('change', (state) => phases.push(state.phase));
  return { backend, controller, opened, logs, phases };
}

async function signedIn() {
  const s = setup();
  await s.controller.signIn();
  await s.controller.submitCode(GOOD_CODE);
  return s;
}

describe('app controller', () => {
  it('starts signed out and shows the Sync button', () => {
    const { controller } = setup();
    expect(controller.state.phase).toBe('signed-out');
    expect(controller.view).toEqual({ screen: 'signed-out', notice: null });
  });

  it('Sync opens the authorize page in the browser and waits', async () => {
    const { controller, opened, backend } = setup();
    expect(await controller.signIn()).toEqual({ ok: true });
    expect(opened).toHaveLength(1);
    expect(opened[0]).toContain(`${ORIGIN}/sync/authorize?`);
    expect(controller.state.phase).toBe('waiting-for-browser');
    expect(controller.view).toEqual({ screen: 'waiting', notice: null });
    expect(backend.calls).toEqual(['beginSignIn']);
  });

  it('the deep link with the pending state signs in and sync is on', async () => {
    const { controller, backend, phases } = setup();
    await controller.signIn();
    const state = backend.pendingState!;
    expect(await controller.handleDeepLink(callbackLink(state))).toEqual({ ok: true });
    expect(controller.state).toMatchObject({ phase: 'on', email: 'ada@example.com', notice: null });
    expect(controller.view).toEqual({ screen: 'signed-in', syncOn: true, attention: false, notice: null });
    expect(phases).toEqual(['waiting-for-browser', 'on']);
    expect(controller.signInPending).toBe(false);
  });

  it('the pasted code signs in too; a pasted callback link is accepted as the link', async () => {
    const first = setup();
    await first.controller.signIn();
    expect(await first.controller.submitCode(`  ${GOOD_CODE}\n`)).toEqual({ ok: true });
    expect(first.controller.state.phase).toBe('on');

    const second = setup();
    await second.controller.signIn();
    expect(await second.controller.submitCode(callbackLink(second.backend.pendingState!))).toEqual({ ok: true });
    expect(second.controller.state.phase).toBe('on');
  });

  it('a wrong pasted code keeps waiting with the engine sentence on the red line; the right one then works', async () => {
    const { controller } = setup();
    await controller.signIn();
    const result = await controller.submitCode('wrong-code-12345');
    expect(result).toMatchObject({ ok: false, code: 'invalid_grant' });
    expect(controller.view).toEqual({
      screen: 'waiting',
      notice: 'That code is wrong or expired. Click Sync to get a new one.',
    });
    await controller.submitCode(GOOD_CODE);
    expect(controller.view).toEqual({ screen: 'signed-in', syncOn: true, attention: false, notice: null });
  });

  it('a malformed pasted code never reaches the engine', async () => {
    const { controller, backend } = setup();
    await controller.signIn();
    for (const junk of ['', 'a b c d e f g h', 'x', '<script>alert(1)</script>', 'a'.repeat(600), 42]) {
      expect(await controller.submitCode(junk)).toMatchObject({ ok: false, code: 'bad_code' });
    }
    expect(backend.calls).toEqual(['beginSignIn']);
    expect(controller.state.phase).toBe('waiting-for-browser');
  });

  it('a link when no sign-in is pending is ignored and logged', async () => {
    const { controller, backend, logs } = setup();
    const result = await controller.handleDeepLink(callbackLink('abcdefgh12345678'));
    expect(result).toMatchObject({ ok: false, code: 'link_ignored' });
    expect(backend.calls).toEqual([]);
    expect(controller.state.phase).toBe('signed-out');
    expect(logs).toContain('warn deep link ignored: no sign-in is pending');
  });

  it('a link with the wrong state is ignored and logged, and the wait goes on', async () => {
    const { controller, backend, logs } = setup();
    await controller.signIn();
    const result = await controller.handleDeepLink(callbackLink('someone-elses-state-1234'));
    expect(result).toMatchObject({ ok: false, code: 'link_ignored' });
    expect(backend.calls).toEqual(['beginSignIn']);
    expect(controller.state.phase).toBe('waiting-for-browser');
    expect(logs.some((line) => line.includes('state does not match'))).toBe(true);
    // Nothing secret in the log: not the code, not the link.
    expect(logs.join('\n')).not.toContain(GOOD_CODE);
  });

  it('Cancel in the browser (error=access_denied) returns to the Sync button with a sentence', async () => {
    const { controller, backend } = setup();
    await controller.signIn();
    const link = `${SCHEME}://auth/callback?error=access_denied&state=${backend.pendingState}`;
    expect(await controller.handleDeepLink(link)).toMatchObject({ ok: false, code: 'access_denied' });
    expect(controller.view.screen).toBe('signed-out');
    expect(controller.view.notice).toContain('cancelled');
    expect(backend.calls).toEqual(['beginSignIn', 'cancelSignIn']);
  });

  it('cancelling the wait returns to the Sync button; a late link is then ignored', async () => {
    const { controller, backend } = setup();
    await controller.signIn();
    const state = backend.pendingState!;
    await controller.cancelSignIn();
    expect(controller.view).toEqual({ screen: 'signed-out', notice: null });
    expect(await controller.handleDeepLink(callbackLink(state))).toMatchObject({ code: 'link_ignored' });
  });

  it('clicking Sync again restarts the flow with a new state; the old link no longer works', async () => {
    const { controller, backend } = setup();
    await controller.signIn();
    const old = backend.pendingState!;
    await controller.signIn();
    expect(backend.pendingState).not.toBe(old);
    expect(await controller.handleDeepLink(callbackLink(old))).toMatchObject({ code: 'link_ignored' });
    expect(await controller.handleDeepLink(callbackLink(backend.pendingState!))).toEqual({ ok: true });
  });

  it('a sign-in that cannot start shows the reason and stays signed out', async () => {
    const { controller, backend, opened } = setup();
    backend.failNext.beginSignIn = new AppError('offline', 'Hyperclay is not reachable. Check your connection.');
    expect(await controller.signIn()).toMatchObject({ ok: false, code: 'offline' });
    expect(controller.view).toEqual({
      screen: 'signed-out',
      notice: 'Hyperclay is not reachable. Check your connection.',
    });
    expect(opened).toEqual([]);
  });

  it('refuses an authorize URL on another origin (nothing is opened, nothing is pending)', async () => {
    const { controller, backend, opened } = setup();
    backend.beginSignIn = async () => ({ authorizeUrl: 'https://evil.example/sync/authorize?state=abcdefgh12345678' });
    expect(await controller.signIn()).toMatchObject({ ok: false, code: 'bad_authorize_url' });
    expect(opened).toEqual([]);
    expect(controller.signInPending).toBe(false);
  });

  it('keeps waiting when the browser cannot be opened (the paste field still works)', async () => {
    const backend = new FakeBackend();
    const controller = new AppController({
      backend,
      origin: ORIGIN,
      scheme: SCHEME,
      openExternal: async () => {
        throw new Error('no browser');
      },
      log: () => {},
    });
    expect(await controller.signIn()).toEqual({ ok: true });
    expect(controller.state.phase).toBe('waiting-for-browser');
    await controller.submitCode(GOOD_CODE);
    expect(controller.state.phase).toBe('on');
  });

  it('Sync: On -> Sync: Off -> Sync: On', async () => {
    const { controller, backend } = await signedIn();
    await controller.setSyncOn(false);
    expect(controller.view).toEqual({ screen: 'signed-in', syncOn: false, attention: false, notice: null });
    expect(controller.state.phase).toBe('off');
    await controller.toggleSync();
    expect(controller.view).toEqual({ screen: 'signed-in', syncOn: true, attention: false, notice: null });
    expect(backend.calls.slice(-2)).toEqual(['setSyncOn:false', 'setSyncOn:true']);
  });

  it('signs in straight to Sync: Off when sync was switched off before', async () => {
    const s = setup();
    s.backend.syncOn = false;
    await s.controller.signIn();
    await s.controller.submitCode(GOOD_CODE);
    expect(s.controller.view).toEqual({ screen: 'signed-in', syncOn: false, attention: false, notice: null });
  });

  it('the quota notice shows as the red line while sync stays on, and clears when the engine clears it', async () => {
    const { controller, backend } = await signedIn();
    backend.reachSiteLimit();
    expect(controller.view).toEqual({
      screen: 'signed-in',
      syncOn: true,
      attention: true,
      notice: NOTICE_TEXT.site_limit_reached,
    });
    expect(controller.view.notice).toBe("You've run out of sites. We can't sync any more sites.");
    backend.status.noticeCleared();
    expect(controller.view.notice).toBeNull();
  });

  it('needs-attention and offline still show Sync: On, in the needs-attention look (green only while syncing)', async () => {
    const { controller, backend } = await signedIn();
    backend.status.needsAttention({ code: 'delete_brake', text: NOTICE_TEXT.delete_brake });
    expect(controller.state.phase).toBe('needs-attention');
    expect(controller.view).toEqual({
      screen: 'signed-in',
      syncOn: true,
      attention: true,
      notice: NOTICE_TEXT.delete_brake,
    });
    backend.status.noticeCleared();
    controller.setOsOnline(false);
    expect(controller.state.phase).toBe('offline');
    expect(controller.view).toEqual({ screen: 'signed-in', syncOn: true, attention: true, notice: null });
    controller.setOsOnline(true);
    expect(controller.state.phase).toBe('on');
  });

  it('Log out returns to the Sync button', async () => {
    const { controller, backend } = await signedIn();
    expect(await controller.logOut()).toEqual({ ok: true });
    expect(controller.view).toEqual({ screen: 'signed-out', notice: null });
    expect(backend.calls).toContain('logOut');
  });

  it('a 402 from the engine signs out with the subscription message', async () => {
    const { controller, backend } = await signedIn();
    backend.loseSubscription();
    expect(controller.view).toEqual({ screen: 'signed-out', notice: NOTICE_TEXT.subscription_required });
  });

  it('toggling or logging out while signed out does nothing to the engine', async () => {
    const { controller, backend } = setup();
    expect(await controller.setSyncOn(true)).toMatchObject({ ok: false, code: 'signed_out' });
    expect(await controller.logOut()).toEqual({ ok: true });
    expect(backend.calls).toEqual([]);
  });

  it('Sync while signed in is refused (one account at a time)', async () => {
    const { controller } = await signedIn();
    expect(await controller.signIn()).toMatchObject({ ok: false, code: 'already_signed_in' });
    expect(controller.state.phase).toBe('on');
  });

  it('a failed toggle keeps the state and shows why', async () => {
    const { controller, backend } = await signedIn();
    backend.failNext.setSyncOn = new AppError(
      'folder_locked',
      'Another Hyperclay Sync (pid 42) is syncing this folder.',
    );
    expect(await controller.setSyncOn(false)).toMatchObject({ ok: false, code: 'folder_locked' });
    expect(controller.view).toEqual({
      screen: 'signed-in',
      syncOn: true,
      attention: true,
      notice: 'Another Hyperclay Sync (pid 42) is syncing this folder.',
    });
    // The next successful action clears the sentence.
    await controller.setSyncOn(false);
    expect(controller.view).toEqual({ screen: 'signed-in', syncOn: false, attention: false, notice: null });
  });

  it('the deep link and the pasted code at once sign in once', async () => {
    const { controller, backend } = setup();
    await controller.signIn();
    const [a, b] = await Promise.all([
      controller.handleDeepLink(callbackLink(backend.pendingState!)),
      controller.submitCode(GOOD_CODE),
    ]);
    expect([a.ok, b.ok].filter(Boolean)).toHaveLength(1);
    expect(backend.calls.filter((c) => c === 'completeSignIn')).toHaveLength(1);
    expect(controller.state.phase).toBe('on');
  });

  it('passes suspend, resume and the network to the engine; shutdown stops it once', async () => {
    const { controller, backend } = await signedIn();
    controller.suspend();
    expect(backend.suspended).toBe(true);
    controller.resume();
    expect(backend.suspended).toBe(false);
    await Promise.all([controller.shutdown(), controller.shutdown()]);
    expect(backend.shutdownCount).toBe(1);
  });

  it('chooseFolder updates the folder the tray opens', async () => {
    const { controller } = await signedIn();
    await controller.chooseFolder('/home/ada/Sites');
    expect(controller.state.folder).toBe('/home/ada/Sites');
  });

  it('windowView maps every phase to one of the three screens', () => {
    const base = { notice: null, email: null, folder: null, lastSyncAt: null };
    expect(windowView({ ...base, phase: 'signed-out' }).screen).toBe('signed-out');
    expect(windowView({ ...base, phase: 'waiting-for-browser' }).screen).toBe('waiting');
    expect(windowView({ ...base, phase: 'on' })).toEqual({
      screen: 'signed-in',
      syncOn: true,
      attention: false,
      notice: null,
    });
    // On means syncing: offline or needing attention keeps "Sync: On" in the needs-attention look, never green.
    for (const phase of ['offline', 'needs-attention'] as const) {
      expect(windowView({ ...base, phase })).toEqual({
        screen: 'signed-in',
        syncOn: true,
        attention: true,
        notice: null,
      });
    }
    expect(windowView({ ...base, phase: 'on', notice: 'x' })).toMatchObject({ syncOn: true, attention: true });
    expect(windowView({ ...base, phase: 'off' })).toEqual({
      screen: 'signed-in',
      syncOn: false,
      attention: false,
      notice: null,
    });
  });

  it('authorizeState accepts only the platform authorize page with a state', () => {
    expect(authorizeState(`${ORIGIN}/sync/authorize?state=abcdefgh12345678`, ORIGIN)).toBe('abcdefgh12345678');
    expect(authorizeState(`${ORIGIN}/login?state=abcdefgh12345678`, ORIGIN)).toBeNull();
    expect(authorizeState(`${ORIGIN}/sync/authorize`, ORIGIN)).toBeNull();
    expect(authorizeState('http://127.0.0.1:9999/sync/authorize?state=abcdefgh12345678', ORIGIN)).toBeNull();
    expect(authorizeState('javascript:alert(1)', ORIGIN)).toBeNull();
  });
});
