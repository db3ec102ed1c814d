// A small fake AppBackend for the desktop tests: a real StatusModel and the engine's visible behaviour, no I/O.

import { randomBytes } from 'node:crypto';
import type { AppBackend, SignInCompletion } from '../../electron/core/backend.js';
import { AppError } from '../../electron/core/backend.js';
import { NOTICE_TEXT, StatusModel } from '../../sync-engine/status.js';

export const ORIGIN = 'http://127.0.0.1:4321';
export const SCHEME = 'hyperclay';
export const GOOD_CODE = 'good-code-0123456789';

type Failable = 'beginSignIn' | 'completeSignIn' | 'setSyncOn' | 'logOut' | 'chooseFolder';

export class FakeBackend implements AppBackend {
  readonly status = new StatusModel();
  readonly calls: string[] = [];
  /** The state of the pending sign-in, as the real engine's PKCE flow would hold it. */
  pendingState: string | null = null;
  syncOn = true;
  /** Set to make the next call of that name reject. */
  failNext: Partial<Record<Failable, AppError>> = {};
  suspended = false;
  shutdownCount = 0;

  async beginSignIn(): Promise<{ authorizeUrl: string }> {
    this.#call('beginSignIn', 'beginSignIn');
    this.pendingState = randomBytes(16).toString('base64url');
    const query = new URLSearchParams({
      redirect_uri: `${SCHEME}://auth/callback`,
      state: this.pendingState,
      code_challenge: 'x'.repeat(43),
      code_challenge_method: 'S256',
      device_name: 'test',
    });
    return { authorizeUrl: `${ORIGIN}/sync/authorize?${query}` };
  }

  async completeSignIn(input: SignInCompletion): Promise<void> {
    this.#call('completeSignIn', 'completeSignIn');
    const code = 'code' in input ? input.code : new URL(input.deepLink).searchParams.get('code');
    if (code !== GOOD_CODE)
      throw new AppError('invalid_grant', 'That code is wrong or expired. Click Sync to get a new one.');
    this.pendingState = null;
    this.status.signedIn({ id: 'u1', email: 'ada@example.com' }, '/home/ada/Hyperclay', this.syncOn ? 'on' : 'off');
  }

  async cancelSignIn(): Promise<void> {
    this.calls.push('cancelSignIn');
    this.pendingState = null;
  }

  async setSyncOn(on: boolean): Promise<void> {
    this.#call(`setSyncOn:${on}`, 'setSyncOn');
    this.syncOn = on;
    if (on) this.status.started();
    else this.status.switchedOff();
  }

  async logOut(): Promise<void> {
    this.#call('logOut', 'logOut');
    this.status.signedOut(null);
  }

  async chooseFolder(path: string): Promise<void> {
    this.#call('chooseFolder', 'chooseFolder');
    this.status.folderChosen(path);
  }

  setOsOnline(online: boolean): void {
    this.calls.push(`setOsOnline:${online}`);
    const phase = this.status.current.phase;
    if (phase !== 'syncing' && phase !== 'offline') return;
    if (online) this.status.online();
    else this.status.offline();
  }

  suspend(): void {
    this.calls.push('suspend');
    this.suspended = true;
  }

  resume(): void {
    this.calls.push('resume');
    this.suspended = false;
  }

  async shutdown(): Promise<void> {
    this.calls.push('shutdown');
    this.shutdownCount++;
  }

  /** What the engine does on `403 site_limit_reached`: keeps syncing, shows the quota line. */
  reachSiteLimit(): void {
    this.status.limitReached({ code: 'site_limit_reached', text: NOTICE_TEXT.site_limit_reached });
  }

  /** What the engine does on `402`: signed out with the subscription message. */
  loseSubscription(): void {
    this.status.signedOut({ code: 'subscription_required', text: NOTICE_TEXT.subscription_required });
  }

  #call(record: string, name: Failable): void {
    this.calls.push(record);
    const error = this.failNext[name];
    if (error !== undefined) {
      delete this.failNext[name];
      throw error;
    }
  }
}

export function callbackLink(state: string, code = GOOD_CODE): string {
  return `${SCHEME}://auth/callback?code=${encodeURIComponent(code)}&state=${encodeURIComponent(state)}`;
}
