// Entries, change pages and the other JSON bodies of PROTOCOL.md, with parsers for what arrives over the wire.

import { checkPath, checkSiteName, isSiteFile, siteNameOf } from './paths.js';

export type EntryKind = 'site' | 'upload' | 'folder';

export interface Entry {
  kind: EntryKind;
  /** Sites only. */
  name?: string;
  path: string;
  /** Files only. */
  size?: number;
  sha256?: string;
  version?: number;
  updatedAt: string;
  /** Only in change pages: a tombstone. */
  deleted?: boolean;
  seq: number;
}

export interface ChangesPage {
  entries: Entry[];
  cursor: string;
  hasMore: boolean;
}

export interface SessionResponse {
  sessionId: string;
  cursor: string;
}

export interface User {
  id: string;
  email: string;
  plan: string;
}

export interface TokenResponse {
  token: string;
  expiresAt: string;
  user: User;
}

export interface RefreshResponse {
  token: string;
  expiresAt: string;
}

export interface MeResponse {
  user: User;
  limits: { maxSites: number | null; maxFileBytes: number; maxStorageBytes: number | null };
  usage: { sites: number; storageBytes: number };
  minClientVersion: string;
}

export interface VersionInfo {
  version: number;
  size: number;
  sha256: string;
  updatedAt: string;
}

export class ProtocolViolation extends Error {
  readonly code = 'protocol_violation';
}

const SHA256 = /^[0-9a-f]{64}$/;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export function isSha256(value: unknown): value is string {
  return typeof value === 'string' && SHA256.test(value);
}

export function isIsoUtc(value: unknown): value is string {
  return typeof value === 'string' && ISO_UTC.test(value) && !Number.isNaN(Date.parse(value));
}

const isCount = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

function record(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ProtocolViolation(`${what} is not an object`);
  }
  return value as Record<string, unknown>;
}

/**
 * Validates one entry from the platform. Paths are checked with the shared path rules (so `..`,
 * absolute paths and the like never get past here) and returned in NFC.
 */
export function parseEntry(value: unknown): Entry {
  const raw = record(value, 'entry');
  const { kind, seq, updatedAt } = raw;
  if (kind !== 'site' && kind !== 'upload' && kind !== 'folder') throw new ProtocolViolation('entry has a bad kind');
  const path = checkPath(raw.path, kind === 'folder' ? 'folder' : 'file');
  if (!path.ok) throw new ProtocolViolation(`entry path refused: ${path.message}`);
  if (!isCount(seq)) throw new ProtocolViolation('entry has a bad seq');
  if (!isIsoUtc(updatedAt)) throw new ProtocolViolation('entry has a bad updatedAt');
  const entry: Entry = { kind, path: path.value, updatedAt, seq };
  if (raw.deleted === true) entry.deleted = true;
  if (kind === 'site') {
    const name = checkSiteName(raw.name);
    if (!name.ok) throw new ProtocolViolation(`site name refused: ${name.message}`);
    if (!isSiteFile(path.value) || siteNameOf(path.value) !== name.value) {
      throw new ProtocolViolation('site path does not match its name');
    }
    entry.name = name.value;
  }
  if (kind !== 'folder' && !entry.deleted) {
    if (!isCount(raw.size)) throw new ProtocolViolation('entry has a bad size');
    if (!isSha256(raw.sha256)) throw new ProtocolViolation('entry has a bad sha256');
    if (!isCount(raw.version) || raw.version < 1) throw new ProtocolViolation('entry has a bad version');
    entry.size = raw.size;
    entry.sha256 = raw.sha256;
    entry.version = raw.version;
  }
  return entry;
}

/** An entry of a change page that breaks the protocol: its reason, and what it is when that much could be read. */
export interface MalformedEntry {
  /** Its position in the page. */
  index: number;
  reason: string;
  /** Its path as sent (cut to 200 characters), for a log line; absent when it was not text. */
  rawPath?: string;
  /** Its kind, name and path, when they are valid on their own (an entry that is only missing a field). */
  identity?: Pick<Entry, 'kind' | 'name' | 'path'>;
}

/** A change page whose own fields are valid, with each entry read on its own: the malformed ones set aside. */
export interface ReadChangesPage extends ChangesPage {
  malformed: MalformedEntry[];
}

/** The kind, name and path of an entry that failed validation, when those are valid by themselves. */
function identityOf(value: unknown): Pick<Entry, 'kind' | 'name' | 'path'> | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const raw = value as Record<string, unknown>;
  const { kind } = raw;
  if (kind !== 'site' && kind !== 'upload' && kind !== 'folder') return undefined;
  const path = checkPath(raw.path, kind === 'folder' ? 'folder' : 'file');
  if (!path.ok) return undefined;
  if (kind !== 'site') return { kind, path: path.value };
  const name = checkSiteName(raw.name);
  if (!name.ok || !isSiteFile(path.value) || siteNameOf(path.value) !== name.value) return undefined;
  return { kind, name: name.value, path: path.value };
}

/**
 * Reads a change page: the page itself must be well formed (entries, cursor, hasMore), while one malformed entry
 * is set aside with its reason instead of refusing the whole page.
 */
export function readChangesPage(value: unknown): ReadChangesPage {
  const raw = record(value, 'changes page');
  if (!Array.isArray(raw.entries)) throw new ProtocolViolation('changes page has no entries');
  if (typeof raw.cursor !== 'string' || raw.cursor.length === 0)
    throw new ProtocolViolation('changes page has no cursor');
  if (typeof raw.hasMore !== 'boolean') throw new ProtocolViolation('changes page has no hasMore');
  const entries: Entry[] = [];
  const malformed: MalformedEntry[] = [];
  raw.entries.forEach((item: unknown, index) => {
    try {
      entries.push(parseEntry(item));
    } catch (error) {
      if (!(error instanceof ProtocolViolation)) throw error;
      const identity = identityOf(item);
      const raw = typeof item === 'object' && item !== null ? (item as { path?: unknown }).path : undefined;
      malformed.push({
        index,
        reason: error.message,
        ...(typeof raw === 'string' ? { rawPath: raw.slice(0, 200) } : {}),
        ...(identity ? { identity } : {}),
      });
    }
  });
  return { entries, cursor: raw.cursor, hasMore: raw.hasMore, malformed };
}

/** A change page in which every entry must be valid. */
export function parseChangesPage(value: unknown): ChangesPage {
  const page = readChangesPage(value);
  const first = page.malformed[0];
  if (first) throw new ProtocolViolation(first.reason);
  return { entries: page.entries, cursor: page.cursor, hasMore: page.hasMore };
}

function parseUser(value: unknown): User {
  const raw = record(value, 'user');
  if (typeof raw.id !== 'string' || typeof raw.email !== 'string' || typeof raw.plan !== 'string') {
    throw new ProtocolViolation('user is malformed');
  }
  return { id: raw.id, email: raw.email, plan: raw.plan };
}

export function parseTokenResponse(value: unknown): TokenResponse {
  const raw = record(value, 'token response');
  if (typeof raw.token !== 'string' || !isIsoUtc(raw.expiresAt))
    throw new ProtocolViolation('token response is malformed');
  return { token: raw.token, expiresAt: raw.expiresAt, user: parseUser(raw.user) };
}

export function parseRefreshResponse(value: unknown): RefreshResponse {
  const raw = record(value, 'refresh response');
  if (typeof raw.token !== 'string' || !isIsoUtc(raw.expiresAt))
    throw new ProtocolViolation('refresh response is malformed');
  return { token: raw.token, expiresAt: raw.expiresAt };
}

export function parseSessionResponse(value: unknown): SessionResponse {
  const raw = record(value, 'session response');
  if (typeof raw.sessionId !== 'string' || typeof raw.cursor !== 'string')
    throw new ProtocolViolation('session response is malformed');
  return { sessionId: raw.sessionId, cursor: raw.cursor };
}

const countOrNull = (value: unknown): value is number | null => value === null || isCount(value);

export function parseMeResponse(value: unknown): MeResponse {
  const raw = record(value, 'me response');
  const limits = record(raw.limits, 'limits');
  const usage = record(raw.usage, 'usage');
  if (!countOrNull(limits.maxSites) || !isCount(limits.maxFileBytes) || !countOrNull(limits.maxStorageBytes)) {
    throw new ProtocolViolation('limits are malformed');
  }
  if (!isCount(usage.sites) || !isCount(usage.storageBytes)) throw new ProtocolViolation('usage is malformed');
  if (typeof raw.minClientVersion !== 'string') throw new ProtocolViolation('minClientVersion is missing');
  return {
    user: parseUser(raw.user),
    limits: { maxSites: limits.maxSites, maxFileBytes: limits.maxFileBytes, maxStorageBytes: limits.maxStorageBytes },
    usage: { sites: usage.sites, storageBytes: usage.storageBytes },
    minClientVersion: raw.minClientVersion,
  };
}

export function parseVersionsResponse(value: unknown): VersionInfo[] {
  const list = typeof value === 'object' && value !== null ? (value as { versions?: unknown }).versions : undefined;
  if (!Array.isArray(list)) throw new ProtocolViolation('versions response has no versions');
  return list.map((item: unknown) => {
    const raw = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
    const { version, size, sha256, updatedAt } = raw;
    if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1)
      throw new ProtocolViolation('a version has a bad number');
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)
      throw new ProtocolViolation('a version has a bad size');
    if (!isSha256(sha256)) throw new ProtocolViolation('a version has a bad sha256');
    if (!isIsoUtc(updatedAt)) throw new ProtocolViolation('a version has a bad updatedAt');
    return { version, size, sha256, updatedAt };
  });
}
