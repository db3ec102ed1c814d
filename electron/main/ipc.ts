// IPC in the main process: the typed table's handlers on the real ipcMain, and the view pushed to the window.

import { ipcMain } from 'electron';
import { APP_PAGE_URL } from '../core/app-protocol.js';
import type { AppController } from '../core/controller.js';
import { VIEW_CHANNEL } from '../core/ipc-contract.js';
import { controllerHandlers, registerIpcHandlers } from '../core/ipc-main.js';
import { appWindow } from './window.js';

export function wireIpc(controller: AppController, log: (message: string) => void): () => void {
  const unregister = registerIpcHandlers(
    ipcMain,
    controllerHandlers(controller),
    {
      pageUrl: APP_PAGE_URL,
      webContentsId: () => {
        const window = appWindow();
        return window === null || window.isDestroyed() ? null : window.webContents.id;
      },
    },
    log,
  );
  const push = (): void => {
    const window = appWindow();
    if (window !== null && !window.isDestroyed()) window.webContents.send(VIEW_CHANNEL, controller.view);
  };
  controller.on('change', push);
  return () => {
    controller.off('change', push);
    unregister();
  };
}
