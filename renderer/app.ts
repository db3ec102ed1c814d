// The window's script: renders the view the main process sends and turns clicks into the preload's actions.

import type { DesktopApi } from '../electron/core/api.js';
import type { WindowView } from '../electron/core/view.js';

declare global {
  interface Window {
    hyperclay?: DesktopApi;
  }
}

function element<T extends HTMLElement>(id: string, type: { new (): T }): T {
  const found = document.getElementById(id);
  if (!(found instanceof type)) throw new Error(`The page is missing #${id}.`);
  return found;
}

const ui = {
  main: element('app', HTMLElement),
  screens: {
    'signed-out': element('screen-signed-out', HTMLElement),
    waiting: element('screen-waiting', HTMLElement),
    'signed-in': element('screen-signed-in', HTMLElement),
  },
  syncButton: element('sync-button', HTMLButtonElement),
  codeForm: element('code-form', HTMLFormElement),
  codeInput: element('code-input', HTMLInputElement),
  codeSubmit: element('code-submit', HTMLButtonElement),
  cancelButton: element('cancel-button', HTMLButtonElement),
  toggle: element('sync-toggle', HTMLButtonElement),
  toggleLabel: element('toggle-label', HTMLElement),
  logoutButton: element('logout-button', HTMLButtonElement),
  notice: element('notice', HTMLElement),
};

/** The control that should hold focus when a screen appears, so the keyboard can go on at once. */
const FIRST_CONTROL: Record<WindowView['screen'], HTMLElement> = {
  'signed-out': ui.syncButton,
  waiting: ui.codeInput,
  'signed-in': ui.toggle,
};

let current: WindowView | null = null;

function render(view: WindowView): void {
  const screenChanged = current === null || current.screen !== view.screen;
  current = view;
  for (const [name, screen] of Object.entries(ui.screens)) screen.hidden = name !== view.screen;
  if (view.screen === 'signed-in') {
    ui.toggle.setAttribute('aria-pressed', String(view.syncOn));
    // Green only while it syncs; on but not syncing as it should is the needs-attention look (the tray's too).
    ui.toggle.classList.toggle('attention', view.attention);
    ui.toggleLabel.textContent = view.syncOn ? 'Sync: On' : 'Sync: Off';
  }
  if (view.screen !== 'waiting') ui.codeInput.value = '';
  ui.notice.textContent = view.notice ?? '';
  ui.notice.hidden = view.notice === null;
  ui.main.setAttribute('aria-busy', 'false');
  if (screenChanged) FIRST_CONTROL[view.screen].focus();
}

/** Runs an action with its buttons disabled, so a double click is one action. */
async function run(api: DesktopApi, action: () => Promise<unknown>): Promise<void> {
  const buttons = [ui.syncButton, ui.codeSubmit, ui.cancelButton, ui.toggle, ui.logoutButton];
  for (const button of buttons) button.disabled = true;
  try {
    await action();
  } finally {
    for (const button of buttons) button.disabled = false;
    // The view that arrived during the action is the truth; ask once more in case a push was missed.
    render(await api.getView());
    keepFocus();
  }
}

/** A disabled or hidden control drops focus to the page; give it back to the screen's first control. */
function keepFocus(): void {
  const active = document.activeElement;
  const lost =
    active === null || active === document.body || (active instanceof HTMLElement && active.offsetParent === null);
  if (lost && current !== null) FIRST_CONTROL[current.screen].focus();
}

function start(api: DesktopApi): void {
  api.onState(render);
  ui.syncButton.addEventListener('click', () => void run(api, () => api.signIn()));
  ui.codeForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const code = ui.codeInput.value.trim();
    if (code === '') {
      ui.codeInput.focus();
      return;
    }
    void run(api, () => api.submitCode(code));
  });
  ui.cancelButton.addEventListener('click', () => void run(api, () => api.cancelSignIn()));
  ui.toggle.addEventListener('click', () => {
    const on = current?.screen === 'signed-in' && current.syncOn;
    void run(api, () => api.setSyncOn(!on));
  });
  ui.logoutButton.addEventListener('click', () => void run(api, () => api.logOut()));
  void api.getView().then(render);
}

if (window.hyperclay === undefined) {
  ui.notice.textContent = 'Hyperclay Sync could not start its window. Quit and open the app again.';
  ui.notice.hidden = false;
} else {
  start(window.hyperclay);
}
