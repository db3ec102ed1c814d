// `login --device`: the device sign-in for a machine without a browser (PROTOCOL.md "Device sign-in"): prints the
// address and the short code, polls until the person allows it on any device, saves the token as `login` does.

import { startDeviceSignIn } from '../sync-engine/sign-in-device.js';
import type { CliContext } from './context.js';
import { checkReachable, reportSignedIn, signInFailure } from './login.js';

export async function loginWithDevice(ctx: CliContext): Promise<number> {
  await checkReachable(ctx);
  const api = ctx.api();
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const signIn = await startDeviceSignIn({
      api,
      deviceName: ctx.deviceName,
      tokenStore: ctx.tokens,
      log: ctx.log,
    });
    const minutes = Math.round((signIn.expiresAtMs - Date.now()) / 60_000);
    ctx.io.out('On any device with a browser, open:');
    ctx.io.out(signIn.verificationUri);
    ctx.io.out(`and enter the code: ${signIn.userCode}`);
    ctx.io.out(`(or open ${signIn.verificationUriComplete})`);
    ctx.io.out(`Waiting for you to allow this device (the code works for ${minutes} minutes; Ctrl-C stops)…`);
    return reportSignedIn(ctx, await signIn.wait(stop.signal));
  } catch (error) {
    return signInFailure(error);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    api.close();
  }
}
