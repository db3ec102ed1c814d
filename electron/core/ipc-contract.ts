// The one table of IPC channels between the window and the main process, with their request and response types.
// Browser-safe (the preload bundles it). Adding a channel without its parser or handler fails to compile.

import type { ActionResult, WindowView } from './view.js';

/** Renderer -> main, through `ipcRenderer.invoke`. */
export interface IpcContract {
  'app:get-view': { request: null; response: WindowView };
  'app:sign-in': { request: null; response: ActionResult };
  'app:submit-code': { request: { code: string }; response: ActionResult };
  'app:cancel-sign-in': { request: null; response: ActionResult };
  'app:set-sync': { request: { on: boolean }; response: ActionResult };
  'app:log-out': { request: null; response: ActionResult };
}

export type Channel = keyof IpcContract;
export type RequestOf<C extends Channel> = IpcContract[C]['request'];
export type ResponseOf<C extends Channel> = IpcContract[C]['response'];

/** Main -> renderer: the new view after every state change. */
export const VIEW_CHANNEL = 'app:view';

const MAX_CODE_LENGTH = 4096;

function none(raw: unknown): null | undefined {
  return raw === null || raw === undefined ? null : undefined;
}

/**
 * Each channel's request validator (arguments cross a process boundary). `undefined` means refused.
 * The mapped type makes the compiler insist on one entry per channel.
 */
export const REQUEST_PARSERS: { readonly [C in Channel]: (raw: unknown) => RequestOf<C> | undefined } = {
  'app:get-view': none,
  'app:sign-in': none,
  'app:cancel-sign-in': none,
  'app:log-out': none,
  'app:submit-code': (raw) => {
    if (typeof raw !== 'object' || raw === null) return undefined;
    const { code } = raw as { code?: unknown };
    return typeof code === 'string' && code.length <= MAX_CODE_LENGTH ? { code } : undefined;
  },
  'app:set-sync': (raw) => {
    if (typeof raw !== 'object' || raw === null) return undefined;
    const { on } = raw as { on?: unknown };
    return typeof on === 'boolean' ? { on } : undefined;
  },
};

/** The allowlist: every channel the main process answers. */
export const CHANNELS = Object.keys(REQUEST_PARSERS) as Channel[];

export function isChannel(value: unknown): value is Channel {
  return typeof value === 'string' && Object.hasOwn(REQUEST_PARSERS, value);
}
