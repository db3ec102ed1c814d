// The login's `next`: every trick that could send the browser to another origin after sign-in lands on a path of
// the platform's own origin instead, as a browser would read the Location header.

import { describe, expect, it } from 'vitest';
import { safeReturnPath } from '../../server-endpoints/auth/return-path.js';
import { NEXT_TRICKS } from '../helpers/next-tricks.js';

const PLATFORM = 'http://platform.test:4321';

/** Where a browser on the platform goes when it follows `Location: <location>`. */
function landing(location: string): URL {
  return new URL(location, `${PLATFORM}/login`);
}

describe('the login next (safeReturnPath)', () => {
  it.each(NEXT_TRICKS.map((trick) => [JSON.stringify(trick).slice(0, 60), trick]))(
    '%s lands on the platform origin',
    (_shown, trick) => {
      const next = safeReturnPath(trick);
      expect(next.startsWith('/')).toBe(true);
      expect(next.startsWith('//')).toBe(false);
      expect(next).not.toMatch(/[\\\s]/);
      expect(landing(next).origin).toBe(PLATFORM);
    },
  );

  it('keeps real same-origin paths with their query, normalised, without the fragment', () => {
    expect(safeReturnPath('/dashboard/sites/hello?x=1')).toBe('/dashboard/sites/hello?x=1');
    expect(safeReturnPath('/sync/authorize?state=a&b=c')).toBe('/sync/authorize?state=a&b=c');
    expect(safeReturnPath('/a/../b?x=1#frag')).toBe('/b?x=1');
    expect(safeReturnPath('/caf%C3%A9')).toBe('/caf%C3%A9');
    expect(safeReturnPath('/x?to=//evil.example')).toBe('/x?to=//evil.example');
  });

  it('turns anything that is not text into /', () => {
    for (const value of [undefined, null, 42, ['/x'], { path: '/x' }]) expect(safeReturnPath(value)).toBe('/');
  });
});
