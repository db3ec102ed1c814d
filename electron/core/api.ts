// The window's API (exposed by the preload as `window.hyperclay`): one function per action and one subscription.
// Browser-safe: built over a transport so the same code runs in the preload and in the Chromium tests.

import type { Channel, RequestOf } from './ipc-contract.js';
import { type ActionResult, parseActionResult, parseWindowView, type WindowView } from './view.js';

export interface DesktopApi {
  getView(): Promise<WindowView>;
  /** The Sync button: opens the browser sign-in. */
  signIn(): Promise<ActionResult>;
  /** The paste-code fallback. */
  submitCode(code: string): Promise<ActionResult>;
  cancelSignIn(): Promise<ActionResult>;
  setSyncOn(on: boolean): Promise<ActionResult>;
  logOut(): Promise<ActionResult>;
  /** Called with every new view; returns the unsubscribe. */
  onState(callback: (view: WindowView) => void): () => void;
}

export interface ApiTransport {
  invoke<C extends Channel>(channel: C, request: RequestOf<C>): Promise<unknown>;
  /** Subscribes to the VIEW_CHANNEL pushes; returns the unsubscribe. */
  subscribe(listener: (payload: unknown) => void): () => void;
}

const BROKEN: ActionResult = { ok: false, code: 'bad_response', message: 'The app answered something unexpected.' };

export function createDesktopApi(transport: ApiTransport): DesktopApi {
  const action = async <C extends Channel>(channel: C, request: RequestOf<C>): Promise<ActionResult> =>
    parseActionResult(await transport.invoke(channel, request)) ?? BROKEN;
  return {
    async getView() {
      const view = parseWindowView(await transport.invoke('app:get-view', null));
      if (view === null) throw new Error('The app answered an unexpected view.');
      return view;
    },
    signIn: () => action('app:sign-in', null),
    submitCode: (code) => action('app:submit-code', { code: String(code) }),
    cancelSignIn: () => action('app:cancel-sign-in', null),
    setSyncOn: (on) => action('app:set-sync', { on: on === true }),
    logOut: () => action('app:log-out', null),
    onState(callback) {
      return transport.subscribe((payload) => {
        const view = parseWindowView(payload);
        if (view !== null) callback(view);
      });
    },
  };
}
