// Single-instance hand-off: what the first instance does with a cold start's argv, a second launch, or open-url.

import { DeepLinkInbox, findDeepLinkInArgv } from './deep-link.js';

export interface LaunchHooks {
  scheme: string;
  /** A link for the controller (validated there). Called only once the app is ready. */
  onDeepLink(url: string): void;
  /** Bring the window forward (a second launch means the person is looking for the app). */
  showWindow(): void;
}

export interface LaunchHandler {
  /** argv of this process at start. */
  coldStart(argv: readonly unknown[]): void;
  /** Electron's `second-instance`: another launch passed us its argv and quit. */
  secondInstance(argv: readonly unknown[]): void;
  /** macOS `open-url` (may fire before `ready`). */
  openUrl(url: unknown): void;
  /** The controller and window exist: deliver what was queued. */
  ready(): void;
}

export function createLaunchHandler(hooks: LaunchHooks): LaunchHandler {
  let isReady = false;
  const inbox = new DeepLinkInbox((url) => hooks.onDeepLink(url));
  return {
    coldStart(argv) {
      const link = findDeepLinkInArgv(argv, hooks.scheme);
      if (link !== null) inbox.receive(link);
    },
    secondInstance(argv) {
      const link = findDeepLinkInArgv(argv, hooks.scheme);
      if (link !== null) inbox.receive(link);
      if (isReady) hooks.showWindow();
    },
    openUrl(url) {
      if (typeof url === 'string') inbox.receive(url);
    },
    ready() {
      isReady = true;
      inbox.markReady();
    },
  };
}
