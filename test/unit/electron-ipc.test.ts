// The typed IPC table and its main-side wrappers: every channel handled, every caller's sender checked, every
// request validated; the preload API built over it, driven through a fake ipcMain against a real controller.

import { describe, expect, it } from 'vitest';
import { createDesktopApi } from '../../electron/core/api.js';
import { APP_PAGE_URL } from '../../electron/core/app-protocol.js';
import { AppController } from '../../electron/core/controller.js';
import { CHANNELS, isChannel, REQUEST_PARSERS } from '../../electron/core/ipc-contract.js';
import {
  controllerHandlers,
  type InvokeEventLike,
  type IpcMainLike,
  isTrustedSender,
  registerIpcHandlers,
} from '../../electron/core/ipc-main.js';
import { parseWindowView } from '../../electron/core/view.js';
import { FakeBackend, GOOD_CODE, ORIGIN, SCHEME } from './desktop-fake-backend.js';

type Listener = (event: InvokeEventLike, ...args: unknown[]) => Promise<unknown>;

/** The thinnest ipcMain that works: a map of channel -> listener. */
class FakeIpcMain implements IpcMainLike {
  readonly handlers = new Map<string, Listener>();
  handle(channel: string, listener: Listener): void {
    if (this.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
    this.handlers.set(channel, listener);
  }
  removeHandler(channel: string): void {
    this.handlers.delete(channel);
  }
  invoke(event: InvokeEventLike, channel: string, ...args: unknown[]): Promise<unknown> {
    const listener = this.handlers.get(channel);
    if (listener === undefined) return Promise.reject(new Error(`No handler registered for '${channel}'`));
    return listener(event, ...args);
  }
}

const WINDOW_ID = 7;
const ownWindow: InvokeEventLike = { sender: { id: WINDOW_ID }, senderFrame: { url: APP_PAGE_URL, parent: null } };

function setup() {
  const backend = new FakeBackend();
  const controller = new AppController({
    backend,
    origin: ORIGIN,
    scheme: SCHEME,
    openExternal: async () => {},
    log: () => {},
  });
  const ipcMain = new FakeIpcMain();
  const refused: string[] = [];
  const unregister = registerIpcHandlers(
    ipcMain,
    controllerHandlers(controller),
    { pageUrl: APP_PAGE_URL, webContentsId: () => WINDOW_ID },
    (message) => refused.push(message),
  );
  return { backend, controller, ipcMain, refused, unregister };
}

describe('IPC table', () => {
  it('registers exactly one handler per channel of the table, and removes them all', () => {
    const { ipcMain, unregister } = setup();
    expect([...ipcMain.handlers.keys()].sort()).toEqual([...CHANNELS].sort());
    expect(CHANNELS).toEqual(
      expect.arrayContaining(['app:get-view', 'app:sign-in', 'app:submit-code', 'app:set-sync', 'app:log-out']),
    );
    unregister();
    expect(ipcMain.handlers.size).toBe(0);
  });

  it('validates requests per channel', () => {
    expect(REQUEST_PARSERS['app:set-sync']({ on: true })).toEqual({ on: true });
    expect(REQUEST_PARSERS['app:set-sync']({ on: 'yes' })).toBeUndefined();
    expect(REQUEST_PARSERS['app:set-sync'](null)).toBeUndefined();
    expect(REQUEST_PARSERS['app:submit-code']({ code: 'abc' })).toEqual({ code: 'abc' });
    expect(REQUEST_PARSERS['app:submit-code']({ code: 'x'.repeat(5000) })).toBeUndefined();
    expect(REQUEST_PARSERS['app:submit-code']('abc')).toBeUndefined();
    expect(REQUEST_PARSERS['app:sign-in'](undefined)).toBeNull();
    expect(REQUEST_PARSERS['app:sign-in']({ url: 'https://evil' })).toBeUndefined();
    expect(isChannel('app:log-out')).toBe(true);
    expect(isChannel('app:eval')).toBe(false);
    expect(isChannel('__proto__')).toBe(false);
  });
});

describe('sender check', () => {
  const trusted = { pageUrl: APP_PAGE_URL, webContentsId: () => WINDOW_ID };
  it('trusts only the app window showing the app page in its main frame', () => {
    expect(isTrustedSender(ownWindow, trusted)).toBe(true);
    expect(isTrustedSender({ ...ownWindow, senderFrame: { url: `${APP_PAGE_URL}#x`, parent: null } }, trusted)).toBe(
      true,
    );
    const refused: InvokeEventLike[] = [
      { ...ownWindow, sender: { id: 8 } },
      { ...ownWindow, senderFrame: null },
      { ...ownWindow, senderFrame: { url: APP_PAGE_URL, parent: {} } },
      { ...ownWindow, senderFrame: { url: 'https://evil.example/index.html', parent: null } },
      { ...ownWindow, senderFrame: { url: 'app://evil/index.html', parent: null } },
      { ...ownWindow, senderFrame: { url: 'app://hyperclay-sync/other.html', parent: null } },
      { ...ownWindow, senderFrame: { url: 'file:///index.html', parent: null } },
      { ...ownWindow, senderFrame: { url: 'not a url', parent: null } },
    ];
    for (const event of refused) expect(isTrustedSender(event, trusted)).toBe(false);
    expect(isTrustedSender(ownWindow, { ...trusted, webContentsId: () => null })).toBe(false);
  });

  it('refuses and logs calls from anything else, and nothing reaches the engine', async () => {
    const { ipcMain, backend, refused } = setup();
    const stranger: InvokeEventLike = { sender: { id: 99 }, senderFrame: { url: APP_PAGE_URL, parent: null } };
    await expect(ipcMain.invoke(stranger, 'app:sign-in', null)).rejects.toMatchObject({ code: 'untrusted_sender' });
    const iframe: InvokeEventLike = { sender: { id: WINDOW_ID }, senderFrame: { url: APP_PAGE_URL, parent: {} } };
    await expect(ipcMain.invoke(iframe, 'app:log-out', null)).rejects.toMatchObject({ code: 'untrusted_sender' });
    expect(backend.calls).toEqual([]);
    expect(refused).toEqual([
      'ipc refused: app:sign-in from an untrusted sender',
      'ipc refused: app:log-out from an untrusted sender',
    ]);
  });

  it('refuses malformed requests', async () => {
    const { ipcMain, backend } = setup();
    await expect(ipcMain.invoke(ownWindow, 'app:set-sync', { on: 1 })).rejects.toMatchObject({ code: 'bad_request' });
    await expect(ipcMain.invoke(ownWindow, 'app:sign-in', null, 'extra')).rejects.toMatchObject({
      code: 'bad_request',
    });
    expect(backend.calls).toEqual([]);
  });
});

describe('the preload API over IPC', () => {
  it('drives the controller through every action and delivers validated views', async () => {
    const { ipcMain, controller, backend } = setup();
    const listeners = new Set<(payload: unknown) => void>();
    controller.on('change', () => {
      for (const listener of listeners) listener(controller.view);
    });
    const api = createDesktopApi({
      invoke: (channel, request) => ipcMain.invoke(ownWindow, channel, request),
      subscribe(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    });
    const seen: string[] = [];
    const unsubscribe = api.onState((view) =>
      seen.push(view.screen === 'signed-in' ? `on=${view.syncOn}` : view.screen),
    );

    expect(await api.getView()).toEqual({ screen: 'signed-out', notice: null });
    expect(await api.signIn()).toEqual({ ok: true });
    expect(await api.submitCode(GOOD_CODE)).toEqual({ ok: true });
    expect(await api.setSyncOn(false)).toEqual({ ok: true });
    expect(await api.setSyncOn(true)).toEqual({ ok: true });
    expect(await api.logOut()).toEqual({ ok: true });
    expect(seen).toEqual(['waiting', 'on=true', 'on=false', 'on=true', 'signed-out']);
    expect(backend.calls).toEqual(['beginSignIn', 'completeSignIn', 'setSyncOn:false', 'setSyncOn:true', 'logOut']);

    unsubscribe();
    await api.signIn();
    expect(seen).toHaveLength(5);
  });

  it('drops pushed payloads that are not views, and reports odd answers as errors', async () => {
    let push: (payload: unknown) => void = () => {};
    const api = createDesktopApi({
      invoke: async () => ({ nonsense: true }),
      subscribe(listener) {
        push = listener;
        return () => {};
      },
    });
    const seen: unknown[] = [];
    api.onState((view) => seen.push(view));
    push({ screen: 'admin' });
    push({ screen: 'signed-in', syncOn: 'yes', attention: false, notice: null });
    push({ screen: 'signed-in', syncOn: true, notice: null });
    push({ screen: 'signed-out', notice: 'x'.repeat(1000) });
    push({ screen: 'signed-in', syncOn: false, attention: false, notice: null });
    expect(seen).toEqual([{ screen: 'signed-in', syncOn: false, attention: false, notice: null }]);
    expect(await api.signIn()).toMatchObject({ ok: false, code: 'bad_response' });
    await expect(api.getView()).rejects.toThrow();
    expect(parseWindowView({ screen: 'waiting', notice: null, extra: 1 })).toEqual({ screen: 'waiting', notice: null });
  });
});
