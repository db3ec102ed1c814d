// The main side of IPC: typed handler registration over an ipcMain-shaped object, every call's sender checked.
// No Electron import: electron/main passes the real ipcMain, the tests a fake.

import type { AppController } from './controller.js';
import { CHANNELS, type Channel, REQUEST_PARSERS, type RequestOf, type ResponseOf } from './ipc-contract.js';

/** The parts of Electron's IpcMainInvokeEvent the sender check reads. */
export interface InvokeEventLike {
  sender: { id: number };
  senderFrame: { url: string; parent: unknown } | null;
}

export interface IpcMainLike {
  handle(channel: string, listener: (event: InvokeEventLike, ...args: unknown[]) => Promise<unknown>): void;
  removeHandler(channel: string): void;
}

export type IpcHandlers = { readonly [C in Channel]: (request: RequestOf<C>) => Promise<ResponseOf<C>> };

/** Who may call: the app's own window (by webContents id) showing the app's own page, in its main frame. */
export interface TrustedSender {
  webContentsId(): number | null;
  /** The page's URL, e.g. `app://hyperclay-sync/index.html`. */
  pageUrl: string;
}

export function isTrustedSender(event: InvokeEventLike, trusted: TrustedSender): boolean {
  const id = trusted.webContentsId();
  if (id === null || event.sender.id !== id) return false;
  const frame = event.senderFrame;
  // A sub-frame, even of our own page, never speaks for the app.
  if (frame === null || frame.parent !== null) return false;
  return samePage(frame.url, trusted.pageUrl);
}

function samePage(url: string, pageUrl: string): boolean {
  try {
    const a = new URL(url);
    const b = new URL(pageUrl);
    return a.protocol === b.protocol && a.host === b.host && a.pathname === b.pathname && !a.username;
  } catch {
    return false;
  }
}

export class IpcRefused extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/**
 * Registers one handler per channel of the table. A call from an untrusted sender or with a malformed request is
 * refused (the renderer's promise rejects) and logged; raw ipcMain is used nowhere else.
 */
export function registerIpcHandlers(
  ipcMain: IpcMainLike,
  handlers: IpcHandlers,
  trusted: TrustedSender,
  log: (message: string) => void,
): () => void {
  for (const channel of CHANNELS) {
    ipcMain.handle(channel, async (event, ...args) => {
      if (!isTrustedSender(event, trusted)) {
        log(`ipc refused: ${channel} from an untrusted sender`);
        throw new IpcRefused('untrusted_sender', 'This page may not control Hyperclay Sync.');
      }
      const request = REQUEST_PARSERS[channel](args[0]);
      if (request === undefined || args.length > 1) {
        log(`ipc refused: ${channel} with a malformed request`);
        throw new IpcRefused('bad_request', 'The request was malformed.');
      }
      return callHandler(handlers, channel, request);
    });
  }
  return () => {
    for (const channel of CHANNELS) ipcMain.removeHandler(channel);
  };
}

function callHandler<C extends Channel>(
  handlers: IpcHandlers,
  channel: C,
  request: RequestOf<C>,
): Promise<ResponseOf<C>> {
  const handler = handlers[channel] as (request: RequestOf<C>) => Promise<ResponseOf<C>>;
  return handler(request);
}

/** The window's actions, carried out by the controller. */
export function controllerHandlers(controller: AppController): IpcHandlers {
  return {
    'app:get-view': async () => controller.view,
    'app:sign-in': () => controller.signIn(),
    'app:submit-code': ({ code }) => controller.submitCode(code),
    'app:cancel-sign-in': () => controller.cancelSignIn(),
    'app:set-sync': ({ on }) => controller.setSyncOn(on),
    'app:log-out': () => controller.logOut(),
  };
}
