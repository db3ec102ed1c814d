// Password hashes of the reference platform's accounts: salted scrypt, its parameters stored with each hash, and
// the gate that bounds how much scrypt work runs at once.

import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

// scrypt cost: N=2^14, r=8, p=1 (about 16 MiB and tens of ms): slow for guessing, fine for a login.
const SCRYPT = { N: 16384, r: 8, p: 1, keyLength: 32, saltLength: 16 } as const;
const SCRYPT_MAX_MEMORY = 64 * 1024 * 1024;

/** The platform is checking as many passwords as it will at once: try again in a moment. */
export class PasswordWorkBusy extends Error {
  constructor() {
    super('The platform is busy checking other sign-ins. Try again in a moment.');
  }
}

/**
 * scrypt runs on libuv's thread pool (4 threads), which file reads and writes use too: a login flood running
 * scrypt on every thread starved every other request (an authenticated GET went from 3 ms to over 1 s). So one
 * scrypt runs at a time, a bounded queue waits, and past it a login is refused at once rather than queued.
 * `priority` work (a browser that signed in to this account before) goes ahead of the queue and has its own bound.
 */
export class WorkGate {
  #running = 0;
  readonly #queue: Array<() => void> = [];
  readonly #priority: Array<() => void> = [];

  constructor(
    private readonly concurrency = 1,
    private readonly maxWaiting = 32,
  ) {}

  async run<T>(work: () => Promise<T>, priority = false): Promise<T> {
    if (this.#running >= this.concurrency) {
      const queue = priority ? this.#priority : this.#queue;
      if (queue.length >= this.maxWaiting) throw new PasswordWorkBusy();
      await new Promise<void>((resolve) => queue.push(resolve));
    } else {
      this.#running++;
    }
    try {
      return await work();
    } finally {
      // The slot passes straight to the next waiter (priority first), or is freed.
      const next = this.#priority.shift() ?? this.#queue.shift();
      if (next) next();
      else this.#running--;
    }
  }
}

/** One gate per process: every account store of the process shares the thread pool. */
export const passwordGate = new WorkGate();

function scryptKey(
  password: string,
  salt: Buffer,
  keyLength: number,
  cost: { N: number; r: number; p: number },
): Promise<Buffer> {
  const options = { N: cost.N, r: cost.r, p: cost.p, maxmem: SCRYPT_MAX_MEMORY };
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keyLength, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/** `scrypt$N$r$p$<salt b64>$<hash b64>`: the parameters travel with the hash so they can be raised later. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SCRYPT.saltLength);
  const key = await passwordGate.run(() => scryptKey(password, salt, SCRYPT.keyLength, SCRYPT), true);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** Whether `password` is the one `stored` was made from; `priority` as for WorkGate.run. Throws PasswordWorkBusy. */
export async function passwordMatches(password: string, stored: string, priority = false): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [, n, r, p, salt, hash] = parts as [string, string, string, string, string, string];
  const expected = Buffer.from(hash, 'base64');
  const cost = { N: Number(n), r: Number(r), p: Number(p) };
  const key = await passwordGate.run(
    () => scryptKey(password, Buffer.from(salt, 'base64'), expected.length, cost),
    priority,
  );
  return key.length === expected.length && timingSafeEqual(key, expected);
}
