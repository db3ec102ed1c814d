// The tray: its menu, icon and tooltip as pure functions of the app state (rebuilt by electron/main on every change).

import { homedir } from 'node:os';
import type { AppState } from './controller.js';

export type TrayAction = 'toggle-sync' | 'open-folder' | 'choose-folder' | 'open-log' | 'sign-in' | 'log-out' | 'quit';

export type TrayItem =
  | { type: 'separator' }
  /** A line of the header: shown, not clickable. */
  | { type: 'info'; label: string }
  | { type: 'action'; action: TrayAction; label: string; enabled: boolean };

export type TrayIcon = 'on' | 'off' | 'attention';

/** What the header's words depend on besides the state: the home folder (shown as ~) and the clock. */
export interface TrayContext {
  home: string;
  now: Date;
}

const defaultContext = (): TrayContext => ({ home: homedir(), now: new Date() });

const signedInPhase = (state: AppState): boolean =>
  state.phase !== 'signed-out' && state.phase !== 'waiting-for-browser';

/** The folder with the home folder as `~`. */
export function shortFolder(folder: string, home: string): string {
  if (folder === home) return '~';
  return folder.startsWith(`${home}/`) || folder.startsWith(`${home}\\`) ? `~${folder.slice(home.length)}` : folder;
}

const two = (n: number): string => String(n).padStart(2, '0');

/** `14:02` today, `2026-11-27 14:02` before, `never`: in local time, to the minute (it does not go stale). */
export function lastSyncText(iso: string | null, now: Date): string {
  const at = iso === null ? null : new Date(iso);
  if (at === null || Number.isNaN(at.getTime())) return 'never';
  const time = `${two(at.getHours())}:${two(at.getMinutes())}`;
  const sameDay = at.toDateString() === now.toDateString();
  return sameDay ? time : `${at.getFullYear()}-${two(at.getMonth() + 1)}-${two(at.getDate())} ${time}`;
}

/** Who, where and when, signed in: the account, the folder, the last sync. */
function header(state: AppState, context: TrayContext): string[] {
  if (!signedInPhase(state) || state.email === null) return [];
  const lines = [state.email];
  if (state.folder !== null) lines.push(shortFolder(state.folder, context.home));
  lines.push(`Last sync: ${lastSyncText(state.lastSyncAt, context.now)}`);
  return lines;
}

/** SPEC.md's menu under a header (signed in: account, folder, last sync): the toggle, the folder and log entries, Log Out or Sign In…, Quit. */
export function trayMenu(state: AppState, context: TrayContext = defaultContext()): TrayItem[] {
  const signedIn = signedInPhase(state);
  const on = signedIn && state.phase !== 'off';
  const top = header(state, context);
  return [
    ...top.map((label): TrayItem => ({ type: 'info', label })),
    ...(top.length > 0 ? [{ type: 'separator' } as const] : []),
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

/** Windows shows at most 127 characters of a tray tooltip. */
const TOOLTIP_MAX = 127;

/** The state in words, then (signed in) the account and folder, and the last sync. */
export function trayTooltip(state: AppState, context: TrayContext = defaultContext()): string {
  const what: Record<AppState['phase'], string> = {
    'signed-out': 'signed out',
    'waiting-for-browser': 'finish signing in in your browser',
    on: 'syncing',
    off: 'sync is off',
    offline: 'offline, will sync when the network is back',
    'needs-attention': 'needs attention',
  };
  const [email, folder, last] = header(state, context);
  const lines = [`Hyperclay Sync: ${what[state.phase]}`];
  if (email !== undefined) lines.push(folder === undefined ? email : `${email} · ${folder}`);
  if (last !== undefined) lines.push(last);
  const text = lines.join('\n');
  return text.length <= TOOLTIP_MAX ? text : `${text.slice(0, TOOLTIP_MAX - 1)}…`;
}
