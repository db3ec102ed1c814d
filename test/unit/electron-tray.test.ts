// The tray menu and icon as pure functions of the app state: SPEC.md's items, per state.

import { describe, expect, it } from 'vitest';
import type { AppPhase, AppState } from '../../electron/core/controller.js';
import { lastSyncText, shortFolder, type TrayItem, trayIcon, trayMenu, trayTooltip } from '../../electron/core/tray.js';

/** Ada's machine at 14:30 local time on 2026-11-28; her last sync at 14:02 the same day. */
const NOW = new Date(2026, 10, 28, 14, 30, 0);
const LAST_SYNC = new Date(2026, 10, 28, 14, 2, 0).toISOString();
const CONTEXT = { home: '/home/ada', now: NOW };

const state = (phase: AppPhase, extra: Partial<AppState> = {}): AppState => ({
  phase,
  notice: null,
  email: phase === 'signed-out' || phase === 'waiting-for-browser' ? null : 'ada@example.com',
  folder: phase === 'signed-out' || phase === 'waiting-for-browser' ? null : '/home/ada/Hyperclay',
  lastSyncAt: phase === 'signed-out' || phase === 'waiting-for-browser' ? null : LAST_SYNC,
  ...extra,
});

const labels = (items: TrayItem[]): string[] => items.map((item) => (item.type === 'separator' ? '---' : item.label));
const item = (items: TrayItem[], label: string) => items.find((i) => i.type === 'action' && i.label === label);
const toggle = (items: TrayItem[]) => items.find((i) => i.type === 'action' && i.action === 'toggle-sync');
const HEADER = ['ada@example.com', '~/Hyperclay', 'Last sync: 14:02', '---'];

describe('tray menu', () => {
  it('signed in and on: the account, folder and last sync as a header, then Sync: On, folder items, Log Out, Quit', () => {
    const menu = trayMenu(state('on'), CONTEXT);
    expect(labels(menu)).toEqual([
      ...HEADER,
      'Sync: On',
      '---',
      'Open Sync Folder',
      'Choose Sync Folder…',
      'Open Log File',
      '---',
      'Log Out',
      'Quit',
    ]);
    expect(item(menu, 'Sync: On')).toMatchObject({ action: 'toggle-sync', enabled: true });
    expect(item(menu, 'Open Sync Folder')).toMatchObject({ enabled: true });
    expect(item(menu, 'Log Out')).toMatchObject({ action: 'log-out' });
    // The header is words, not actions.
    expect(menu.slice(0, 3).every((i) => i.type === 'info')).toBe(true);
  });

  it('the header: a folder outside the home in full, a sync on another day with its date, none yet as never', () => {
    const elsewhere = trayMenu(state('on', { folder: '/srv/sites', lastSyncAt: null }), CONTEXT);
    expect(labels(elsewhere).slice(0, 3)).toEqual(['ada@example.com', '/srv/sites', 'Last sync: never']);
    expect(lastSyncText(new Date(2026, 10, 27, 9, 5).toISOString(), NOW)).toBe('2026-11-27 09:05');
    expect(lastSyncText('not a time', NOW)).toBe('never');
    expect(shortFolder('/home/ada', '/home/ada')).toBe('~');
    expect(shortFolder('/home/adam/x', '/home/ada')).toBe('/home/adam/x');
  });

  it('off: the toggle says Sync: Off and stays clickable', () => {
    const menu = trayMenu(state('off'), CONTEXT);
    expect(labels(menu).slice(0, 5)).toEqual([...HEADER, 'Sync: Off']);
    expect(toggle(menu)).toMatchObject({ label: 'Sync: Off', enabled: true });
    expect(labels(menu)).toContain('Log Out');
  });

  it('offline and needs-attention are still on', () => {
    for (const phase of ['offline', 'needs-attention'] as const) {
      expect(toggle(trayMenu(state(phase), CONTEXT))).toMatchObject({ label: 'Sync: On' });
    }
  });

  it('signed out: Sign In… instead of Log Out, the toggle disabled, no folder to open yet', () => {
    for (const phase of ['signed-out', 'waiting-for-browser'] as const) {
      const menu = trayMenu(state(phase), CONTEXT);
      expect(labels(menu)).toEqual([
        'Sync: Off',
        '---',
        'Open Sync Folder',
        'Choose Sync Folder…',
        'Open Log File',
        '---',
        'Sign In…',
        'Quit',
      ]);
      expect(menu[0]).toMatchObject({ enabled: false });
      expect(item(menu, 'Open Sync Folder')).toMatchObject({ enabled: false });
      expect(item(menu, 'Sign In…')).toMatchObject({ action: 'sign-in', enabled: true });
      expect(item(menu, 'Open Log File')).toMatchObject({ enabled: true });
      expect(item(menu, 'Quit')).toMatchObject({ action: 'quit', enabled: true });
    }
  });
});

describe('tray icon', () => {
  it('green when on and working, grey when off, signed out or offline, warning when it needs attention', () => {
    expect(trayIcon(state('on'))).toBe('on');
    expect(trayIcon(state('off'))).toBe('off');
    expect(trayIcon(state('signed-out'))).toBe('off');
    expect(trayIcon(state('waiting-for-browser'))).toBe('off');
    expect(trayIcon(state('offline'))).toBe('off');
    expect(trayIcon(state('needs-attention'))).toBe('attention');
    // The quota line means some sites are not syncing: that needs attention too.
    expect(trayIcon(state('on', { notice: "You've run out of sites. We can't sync any more sites." }))).toBe(
      'attention',
    );
  });

  it('says what the state is in the tooltip, then the account, the folder and the last sync', () => {
    expect(trayTooltip(state('on'), CONTEXT)).toBe(
      'Hyperclay Sync: syncing\nada@example.com · ~/Hyperclay\nLast sync: 14:02',
    );
    expect(trayTooltip(state('off'), CONTEXT).split('\n')[0]).toBe('Hyperclay Sync: sync is off');
    expect(trayTooltip(state('offline'), CONTEXT)).toContain('offline');
    expect(trayTooltip(state('signed-out'), CONTEXT)).toBe('Hyperclay Sync: signed out');
    // Windows shows 127 characters at most.
    const long = trayTooltip(state('on', { folder: `/home/ada/${'deep/'.repeat(40)}x` }), CONTEXT);
    expect(long.length).toBeLessThanOrEqual(127);
    expect(long.endsWith('…')).toBe(true);
  });
});
