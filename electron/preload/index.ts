// The preload: exposes `window.hyperclay`, one typed function per action and one subscription; no raw ipcRenderer.
// Bundled to one CommonJS file (sandboxed preloads cannot load modules of their own).

import { contextBridge, type IpcRendererEvent, ipcRenderer } from 'electron';
import { createDesktopApi } from '../core/api.js';
import { VIEW_CHANNEL } from '../core/ipc-contract.js';

const api = createDesktopApi({
  invoke: (channel, request) => ipcRenderer.invoke(channel, request),
  subscribe(listener) {
    // The page gets the payload only, never the event (which would reach ipcRenderer through event.sender).
    const handler = (_event: IpcRendererEvent, payload: unknown): void => listener(payload);
    ipcRenderer.on(VIEW_CHANNEL, handler);
    return () => {
      ipcRenderer.removeListener(VIEW_CHANNEL, handler);
    };
  },
});

contextBridge.exposeInMainWorld('hyperclay', api);
