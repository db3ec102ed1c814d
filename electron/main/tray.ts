// The tray icon and its menu, rebuilt from the pure template on every state change.

import { join } from 'node:path';
import { Menu, type MenuItemConstructorOptions, nativeImage, Tray } from 'electron';
import type { AppState } from '../core/controller.js';
import { type TrayAction, type TrayIcon, trayIcon, trayMenu, trayTooltip } from '../core/tray.js';

// Module-level: a Tray held only by a local variable is garbage-collected and vanishes.
let tray: Tray | null = null;

function iconFile(iconsDir: string, icon: TrayIcon): string {
  // macOS: monochrome template images that follow the menu bar's light/dark look.
  return process.platform === 'darwin'
    ? join(iconsDir, `tray-${icon}Template.png`)
    : join(iconsDir, `tray-${icon}.png`);
}

export function renderTray(state: AppState, iconsDir: string, onAction: (action: TrayAction) => void): void {
  const image = nativeImage.createFromPath(iconFile(iconsDir, trayIcon(state)));
  if (tray === null || tray.isDestroyed()) tray = new Tray(image);
  else tray.setImage(image);
  tray.setToolTip(trayTooltip(state));
  const template: MenuItemConstructorOptions[] = trayMenu(state).map((item): MenuItemConstructorOptions => {
    if (item.type === 'separator') return { type: 'separator' };
    if (item.type === 'info') return { label: item.label, enabled: false };
    return { label: item.label, enabled: item.enabled, click: () => onAction(item.action) };
  });
  tray.setContextMenu(Menu.buildFromTemplate(template));
}

export function destroyTray(): void {
  tray?.destroy();
  tray = null;
}
