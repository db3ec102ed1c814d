// The tray menu and icon as pure functions of the app state: SPEC.md's items, per state.

import { describe, expect, it } from 'vitest';
import type { AppPhase, AppState } from '../../electron/core/controller.js';
import { type TrayItem, trayIcon, trayMenu, trayTooltip } from '../../electron/core/tray.js';

const state = (phase: AppPhase, extra: Partial<AppState> = {}): AppState => ({
  phase,
  notice: null,
  email: phase === 'signed-out' || phase === 'waiting-for-browser' ? null : 'ada@example.com',
  folder: phase === 'signed-out' || phase === 'waiting-for-browser' ? null : '/home/ada/Hyperclay',
  ...extra,
});

const labels = (items: TrayItem[]): string[] => items.map((item) => (item.type === 'separator' ? '---' : item.label));
const item = (items: TrayItem[], label: string) => items.find((i) => i.type === 'action' && i.label === label);

describe('tray menu', () => {
  it('signed in and on: Sync: On, folder items, Log Out, Quit', () => {
    const menu = trayMenu(state('on'));
    expect(labels(menu)).toEqual([
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
  });

  it('off: the toggle says Sync: Off and stays clickable', () => {
    const menu = trayMenu(state('off'));
    expect(labels(menu)[0]).toBe('Sync: Off');
    expect(menu[0]).toMatchObject({ action: 'toggle-sync', enabled: true });
    expect(labels(menu)).toContain('Log Out');
  });

  it('offline and needs-attention are still on', () => {
    for (const phase of ['offline', 'needs-attention'] as const) {
      expect(labels(trayMenu(state(phase)))[0]).toBe('Sync: On');
    }
  });

  it('signed out: Sign In… instead of Log Out, the toggle disabled, no folder to open yet', () => {
    for (const phase of ['signed-out', 'waiting-for-browser'] as const) {
      const menu = trayMenu(state(phase));
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

  it('says what the state is in the tooltip', () => {
    expect(trayTooltip(state('on'))).toBe('Hyperclay Sync: syncing');
    expect(trayTooltip(state('off'))).toBe('Hyperclay Sync: sync is off');
    expect(trayTooltip(state('offline'))).toContain('offline');
  });
});
