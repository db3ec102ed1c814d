// What the window shows (SPEC.md's three states and the red notice line) and the results of its actions.
// Browser-safe: the renderer and the preload import this, so no Node modules here.

export type WindowView =
  /** A single Sync button; the notice is e.g. the subscription message after a 402. */
  | { screen: 'signed-out'; notice: string | null }
  /** "Finish signing in in your browser" and the paste-code field. */
  | { screen: 'waiting'; notice: string | null }
  /**
   * The Sync: On / Sync: Off toggle and Log out; the notice is the quota, subscription or outdated message.
   * `attention`: on, but not syncing as it should (offline, a folder another process holds, a notice): the toggle
   * takes the needs-attention look instead of green.
   */
  | { screen: 'signed-in'; syncOn: boolean; attention: boolean; notice: string | null };

export type ActionResult = { ok: true } | { ok: false; code: string; message: string };

const MAX_NOTICE = 500;

function isNotice(value: unknown): value is string | null {
  return value === null || (typeof value === 'string' && value.length <= MAX_NOTICE);
}

/** Validates a view that crossed the IPC boundary; null when it is not one. */
export function parseWindowView(value: unknown): WindowView | null {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  if (!isNotice(v.notice)) return null;
  const notice = v.notice;
  if (v.screen === 'signed-out' || v.screen === 'waiting') return { screen: v.screen, notice };
  if (v.screen === 'signed-in' && typeof v.syncOn === 'boolean' && typeof v.attention === 'boolean')
    return { screen: 'signed-in', syncOn: v.syncOn, attention: v.attention, notice };
  return null;
}

/** Validates an action result that crossed the IPC boundary. */
export function parseActionResult(value: unknown): ActionResult | null {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  if (v.ok === true) return { ok: true };
  if (v.ok === false && typeof v.code === 'string' && typeof v.message === 'string') {
    return { ok: false, code: v.code, message: v.message };
  }
  return null;
}
