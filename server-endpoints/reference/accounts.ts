// The reference platform's accounts and its own login: passwords, plans and limits, cookie sessions, and the
// IdentityProvider the sync endpoints see.

import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { safeReturnPath } from '../auth/return-path.js';
import type { Account, IdentityProvider } from '../types.js';
import { hashPassword, passwordMatches } from './passwords.js';

export { hashPassword, passwordMatches } from './passwords.js';

export type Plan = 'paid' | 'free';
export const PLANS: readonly Plan[] = ['paid', 'free'];

/** Site limits given to a new account when none is named. */
export const DEFAULT_MAX_SITES: Record<Plan, number | null> = { paid: 10, free: 1 };

export const SESSION_COOKIE = 'hc_session';
/** How long a platform login lasts. */
export const SESSION_LIFETIME_MS = 30 * 24 * 60 * 60 * 1000;

const MAX_EMAIL_LENGTH = 254;
const MIN_PASSWORD_LENGTH = 8;
const MAX_PASSWORD_LENGTH = 1024;

export class AccountError extends Error {
  constructor(
    readonly code:
      | 'invalid_email'
      | 'invalid_password'
      | 'invalid_plan'
      | 'invalid_limit'
      | 'email_taken'
      | 'not_found',
    message: string,
  ) {
    super(message);
  }
}

export interface NewAccount {
  email: string;
  password: string;
  plan?: Plan;
  /** undefined: the plan's default; null: unlimited. */
  maxSites?: number | null;
  maxStorageBytes?: number | null;
}

export interface AccountChanges {
  plan?: Plan;
  maxSites?: number | null;
  maxStorageBytes?: number | null;
}

export interface AccountStore {
  create(account: NewAccount): Promise<Account>;
  /** Several at once, in one transaction (all or none); see SqliteAccountStore.createMany. */
  createMany(accounts: NewAccount[]): Promise<Account[]>;
  update(email: string, changes: AccountChanges): Account;
  list(): Account[];
  byEmail(email: string): Account | null;
  byId(id: string): Account | null;
  /**
   * The account when the password is right; null otherwise (same cost whether or not the email exists). Throws
   * PasswordWorkBusy when too many checks are waiting; `priority` as for WorkGate.run.
   */
  verifyPassword(email: string, password: string, priority?: boolean): Promise<Account | null>;
  /** Sets a new password and ends every login session of the account (every browser signs in again). */
  changePassword(accountId: string, password: string): Promise<void>;
  /** Starts a login; returns the cookie value (only its hash is stored). */
  startSession(accountId: string): string;
  /** The account behind a cookie value, or null when unknown or expired. */
  sessionAccount(cookieValue: string): Account | null;
  /** The same, by the session's stored hash (sessionHash of the cookie value): what a site pass names. */
  sessionAccountByHash(hash: string): Account | null;
  endSession(cookieValue: string): void;
  /** The IdentityProvider of the sync endpoints, backed by this store's cookie sessions. */
  identity: IdentityProvider;
  close(): void;
}

interface AccountRow {
  id: string;
  email: string;
  plan: string;
  max_sites: number | null;
  max_storage_bytes: number | null;
}

const EMAIL = /^[^\s@<>"'`]+@[^\s@<>"'`]+$/;

/** Emails are compared case-insensitively: the key is the NFC, lowercased, trimmed form. */
export function emailKey(email: string): string {
  return email.normalize('NFC').trim().toLowerCase();
}

export function checkEmail(email: unknown): string {
  if (typeof email !== 'string') throw new AccountError('invalid_email', 'The email address is missing.');
  const trimmed = email.normalize('NFC').trim();
  if (trimmed.length > MAX_EMAIL_LENGTH || !EMAIL.test(trimmed)) {
    throw new AccountError('invalid_email', `"${trimmed.slice(0, 80)}" is not an email address.`);
  }
  return trimmed;
}

function checkPassword(password: unknown): string {
  if (typeof password !== 'string' || password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
    throw new AccountError('invalid_password', `A password needs at least ${MIN_PASSWORD_LENGTH} characters.`);
  }
  return password;
}

export function checkPlan(plan: unknown): Plan {
  if (plan === 'paid' || plan === 'free') return plan;
  throw new AccountError('invalid_plan', `The plan must be one of: ${PLANS.join(', ')}.`);
}

function checkLimit(value: number | null, what: string): number | null {
  if (value === null) return null;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new AccountError('invalid_limit', `${what} must be a whole number of 0 or more (or unlimited).`);
  }
  return value;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** The hash a login session is stored under; the cookie value itself is never stored. */
export const sessionHash = (cookieValue: string): string => sha256(cookieValue);

/** A new account's fields, checked, with the plan's default limits filled in. */
function checkNewAccount(account: NewAccount) {
  const plan = checkPlan(account.plan ?? 'paid');
  return {
    email: checkEmail(account.email),
    password: checkPassword(account.password),
    plan,
    maxSites: checkLimit(account.maxSites === undefined ? DEFAULT_MAX_SITES[plan] : account.maxSites, 'max-sites'),
    maxStorageBytes: checkLimit(account.maxStorageBytes ?? null, 'max-storage'),
  };
}

function toAccount(row: AccountRow): Account {
  return {
    id: row.id,
    email: row.email,
    plan: row.plan,
    paid: row.plan === 'paid',
    maxSites: row.max_sites,
    maxStorageBytes: row.max_storage_bytes,
  };
}

/** A cookie of the request by name, or null. */
export function cookieValue(request: Request, name: string): string | null {
  const header = request.headers.get('cookie');
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** The login cookie of a request, if any. */
export function sessionCookie(request: Request): string | null {
  const value = cookieValue(request, SESSION_COOKIE);
  return value && /^[A-Za-z0-9_-]{20,100}$/.test(value) ? value : null;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS accounts (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    email_key TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    plan TEXT NOT NULL CHECK (plan IN ('paid', 'free')),
    max_sites INTEGER,
    max_storage_bytes INTEGER,
    created_at_ms INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS login_sessions (
    id_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    expires_at_ms INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS login_sessions_expiry ON login_sessions(expires_at_ms);
`;

const COLUMNS = 'id, email, plan, max_sites, max_storage_bytes';

function prepareStatements(db: Database.Database) {
  return {
    byKey: db.prepare<[string], AccountRow>(`SELECT ${COLUMNS} FROM accounts WHERE email_key = ?`),
    byId: db.prepare<[string], AccountRow>(`SELECT ${COLUMNS} FROM accounts WHERE id = ?`),
    hashByKey: db.prepare<[string], { id: string; password_hash: string }>(
      'SELECT id, password_hash FROM accounts WHERE email_key = ?',
    ),
    all: db.prepare<[], AccountRow>(`SELECT ${COLUMNS} FROM accounts ORDER BY created_at_ms, email_key`),
    insert: db.prepare(
      `INSERT INTO accounts (id, email, email_key, password_hash, plan, max_sites, max_storage_bytes, created_at_ms)
     VALUES (@id, @email, @emailKey, @passwordHash, @plan, @maxSites, @maxStorageBytes, @createdAtMs)`,
    ),
    insertSession: db.prepare('INSERT INTO login_sessions (id_hash, account_id, expires_at_ms) VALUES (?, ?, ?)'),
    sessionRow: db.prepare<[string, number], AccountRow>(
      `SELECT a.id, a.email, a.plan, a.max_sites, a.max_storage_bytes FROM login_sessions s
     JOIN accounts a ON a.id = s.account_id WHERE s.id_hash = ? AND s.expires_at_ms > ?`,
    ),
    deleteSession: db.prepare('DELETE FROM login_sessions WHERE id_hash = ?'),
    deleteAccountSessions: db.prepare('DELETE FROM login_sessions WHERE account_id = ?'),
    setPassword: db.prepare('UPDATE accounts SET password_hash = ? WHERE id = ?'),
    deleteExpired: db.prepare('DELETE FROM login_sessions WHERE expires_at_ms <= ?'),
  };
}

/** The SET clause and its values for the changes that are given; each value checked. */
function accountUpdate(changes: AccountChanges): { sets: string[]; values: Record<string, unknown> } {
  const sets: string[] = [];
  const values: Record<string, unknown> = {};
  if (changes.plan !== undefined) {
    sets.push('plan = @plan');
    values.plan = checkPlan(changes.plan);
  }
  if (changes.maxSites !== undefined) {
    sets.push('max_sites = @maxSites');
    values.maxSites = checkLimit(changes.maxSites, 'max-sites');
  }
  if (changes.maxStorageBytes !== undefined) {
    sets.push('max_storage_bytes = @maxStorageBytes');
    values.maxStorageBytes = checkLimit(changes.maxStorageBytes, 'max-storage');
  }
  return { sets, values };
}

/** The AccountStore of one data folder: `accounts.sqlite` (WAL), accounts and login sessions. */
class SqliteAccountStore implements AccountStore {
  readonly identity: IdentityProvider;
  private readonly db: Database.Database;
  private readonly now: () => number;
  private readonly statements: ReturnType<typeof prepareStatements>;
  /** Unknown emails still pay for one scrypt, so response time does not say which emails exist. */
  private readonly dummyHash: Promise<string>;

  constructor(dir: string, now: () => number) {
    this.now = now;
    mkdirSync(dir, { recursive: true });
    this.db = new Database(join(dir, 'accounts.sqlite'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    this.db.exec(SCHEMA);
    this.statements = prepareStatements(this.db);
    this.dummyHash = hashPassword(randomBytes(16).toString('hex'));
    this.identity = {
      currentAccount: async (request) => {
        const value = sessionCookie(request);
        return value ? this.sessionAccount(value) : null;
      },
      loginUrl: (returnTo) => `/login?next=${encodeURIComponent(safeReturnPath(returnTo))}`,
      accountById: async (id) => this.byId(id),
    };
  }

  async create(account: NewAccount): Promise<Account> {
    const [created] = await this.createMany([account]);
    return created!;
  }

  /**
   * Several accounts in one transaction, all or none (the scale bench makes 10,000 at once). One scrypt per
   * distinct password of the call: accounts given the same password share its hash, so this is for made-up
   * accounts, not for importing people's passwords.
   */
  async createMany(accounts: NewAccount[]): Promise<Account[]> {
    const checked = accounts.map(checkNewAccount);
    const hashes = new Map<string, Promise<string>>();
    for (const { password } of checked) if (!hashes.has(password)) hashes.set(password, hashPassword(password));
    const createdAtMs = this.now();
    const rows = await Promise.all(
      checked.map(async ({ password, ...account }) => ({
        ...account,
        id: randomUUID(),
        emailKey: emailKey(account.email),
        passwordHash: await hashes.get(password)!,
        createdAtMs,
      })),
    );
    try {
      this.db.transaction(() => {
        for (const row of rows) this.statements.insert.run(row);
      })();
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
        const seen = new Set<string>();
        const taken = rows.find((row) => seen.size === seen.add(row.emailKey).size || this.byEmail(row.email));
        throw new AccountError('email_taken', `An account with the email ${taken?.email ?? ''} already exists.`);
      }
      throw error;
    }
    return rows.map((row) =>
      toAccount({
        id: row.id,
        email: row.email,
        plan: row.plan,
        max_sites: row.maxSites,
        max_storage_bytes: row.maxStorageBytes,
      }),
    );
  }

  update(email: string, changes: AccountChanges): Account {
    const row = this.statements.byKey.get(emailKey(email));
    if (!row) throw new AccountError('not_found', `No account has the email ${email}.`);
    const { sets, values } = accountUpdate(changes);
    if (sets.length > 0) {
      this.db.prepare(`UPDATE accounts SET ${sets.join(', ')} WHERE id = @id`).run({ id: row.id, ...values });
    }
    const updated = this.statements.byId.get(row.id);
    if (!updated) throw new AccountError('not_found', `No account has the email ${email}.`);
    return toAccount(updated);
  }

  list(): Account[] {
    return this.statements.all.all().map(toAccount);
  }

  byEmail(email: string): Account | null {
    const row = this.statements.byKey.get(emailKey(email));
    return row ? toAccount(row) : null;
  }

  byId(id: string): Account | null {
    const row = this.statements.byId.get(id);
    return row ? toAccount(row) : null;
  }

  async verifyPassword(email: string, password: string, priority = false): Promise<Account | null> {
    if (typeof email !== 'string' || typeof password !== 'string' || password.length > MAX_PASSWORD_LENGTH) {
      return null;
    }
    const row = this.statements.hashByKey.get(emailKey(email));
    const matches = await passwordMatches(password, row ? row.password_hash : await this.dummyHash, priority);
    if (!row || !matches) return null;
    return this.byId(row.id);
  }

  async changePassword(accountId: string, password: string): Promise<void> {
    const hash = await hashPassword(checkPassword(password));
    const change = this.db.transaction(() => {
      if (this.statements.setPassword.run(hash, accountId).changes === 0) {
        throw new AccountError('not_found', 'That account no longer exists.');
      }
      this.statements.deleteAccountSessions.run(accountId);
    });
    change();
  }

  startSession(accountId: string): string {
    const value = randomBytes(32).toString('base64url');
    this.statements.deleteExpired.run(this.now());
    this.statements.insertSession.run(sessionHash(value), accountId, this.now() + SESSION_LIFETIME_MS);
    return value;
  }

  sessionAccount(cookieValue: string): Account | null {
    return this.sessionAccountByHash(sessionHash(cookieValue));
  }

  sessionAccountByHash(hash: string): Account | null {
    const row = this.statements.sessionRow.get(hash, this.now());
    return row ? toAccount(row) : null;
  }

  endSession(cookieValue: string): void {
    this.statements.deleteSession.run(sessionHash(cookieValue));
  }

  close(): void {
    this.db.close();
  }
}

export function openAccountStore(options: { dir: string; now?: () => number }): AccountStore {
  return new SqliteAccountStore(options.dir, options.now ?? Date.now);
}
