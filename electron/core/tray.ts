// The tray: its menu and icon as pure functions of the app state (rebuilt by electron/main on every change).

import type { AppState } from './controller.js';

export type TrayAction = 'toggle-sync' | 'open-folder' | 'choose-folder' | 'open-log' | 'sign-in' | 'log-out' | 'quit';

export type TrayItem = { type: 'separator' } | { type: 'action'; action: TrayAction; label: string; enabled: boolean };

export type TrayIcon = 'on' | 'off' | 'attention';

/** SPEC.md's menu: the toggle, the folder and log entries, Log Out or Sign In…, Quit. */
export function trayMenu(state: AppState): TrayItem[] {
  const signedIn = state.phase !== 'signed-out' && state.phase !== 'waiting-for-browser';
  const on = signedIn && state.phase !== 'off';
  return [
    { type: 'action', action: 'toggle-sync', label: on ? 'Sync: On' : 'Sync: Off', enabled: signedIn },
    { type: 'separator' },
    { type: 'action', action: 'open-folder', label: 'Open Sync Folder', enabled: state.folder !== null },
    { type: 'action', action: 'choose-folder', label: 'Choose Sync Folder…', enabled: true },
    { type: 'action', action: 'open-log', label: 'Open Log File', enabled: true },
    { type: 'separator' },
    signedIn
      ? { type: 'action', action: 'log-out', label: 'Log Out', enabled: true }
      : { type: 'action', action: 'sign-in', label: 'Sign In…', enabled: true },
    { type: 'action', action: 'quit', label: 'Quit', enabled: true },
  ];
}

/** Green when on and working, grey when off (or not signed in, or offline), the warning badge when it needs attention. */
export function trayIcon(state: AppState): TrayIcon {
  if (state.phase === 'on') return state.notice === null ? 'on' : 'attention';
  if (state.phase === 'needs-attention') return 'attention';
  return 'off';
}

export function trayTooltip(state: AppState): string {
  const what: Record<AppState['phase'], string> = {
    'signed-out': 'signed out',
    'waiting-for-browser': 'finish signing in in your browser',
    on: 'syncing',
    off: 'sync is off',
    offline: 'offline, will sync when the network is back',
    'needs-attention': 'needs attention',
  };
  return `Hyperclay Sync: ${what[state.phase]}`;
}
