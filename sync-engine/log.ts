// The log of SPEC.md: the log types every module shares (LogLevel, EngineLog), and the log file: one redacted line
// per event, appended in order by one synchronous winston transport, rotated by size.

import { closeSync, fstatSync, mkdirSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import winston from 'winston';
import type WinstonTransport from 'winston-transport';
import { escapeInvisible } from '../protocol/index.js';
import { errnoOf } from './fsutil.js';

// winston exports its transport base class as `Transport` at run time, while its types call it `transport`;
// taking it from winston keeps `winston-transport` an internal detail of winston.
const TransportStream = (winston as unknown as { Transport: typeof WinstonTransport }).Transport;

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

/** One line per event; never given a token, a code or a query string. */
export type EngineLog = (level: LogLevel, line: string) => void;

/** Extra `key=value` pairs after the message; secret-looking keys are redacted whatever their value. */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  readonly file: string;
  error(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  /** Resolves once every line logged so far is in the file, then closes it. */
  close(): Promise<void>;
}

export interface LoggerOptions {
  file: string;
  /** Lines below this level are dropped (default info). */
  level?: LogLevel;
  /** Rotate when the file would pass this size (default 5 MiB). */
  maxBytes?: number;
  /** Files kept in all, the current one included: sync.log, sync.1.log, … (default 5). */
  maxFiles?: number;
  /** Also hands each finished line here (e.g. stderr for the CLI in the foreground). */
  echo?: (line: string) => void;
}

const LEVELS: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

/** Log files kept in all by default, the current one included. */
export const LOG_FILES_KEPT = 5;

/** The n-th older log file after rotation: sync.log -> sync.1.log -> sync.2.log … */
export function rotatedLogName(file: string, n: number): string {
  const ext = extname(file);
  return join(dirname(file), `${basename(file, ext)}.${n}${ext}`);
}

/** `3.1 KiB`, `512 B`, `20.0 MiB`: sizes in binary units (1 KiB = 1024 B), named so, in log lines and the CLI. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 1024) return `${Math.max(0, Math.round(bytes || 0))} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

const SECRET_KEYS =
  'code|code_verifier|code_challenge|token|access_token|refresh_token|id_token|password|secret|authorization';
const SECRET_KEY = new RegExp(`^(?:${SECRET_KEYS})$`, 'i');
const REDACTIONS: Array<[RegExp, string]> = [
  // JWTs (and anything shaped like one).
  [/\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g, '[redacted]'],
  [/\b[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}/g, '[redacted]'],
  [/\bBearer\s+[^\s"',;]+/gi, 'Bearer [redacted]'],
  // Query strings and key=value pairs.
  [new RegExp(`\\b(${SECRET_KEYS})=[^&\\s"',;]*`, 'gi'), '$1=[redacted]'],
  // JSON fields.
  [new RegExp(`"(${SECRET_KEYS})"\\s*:\\s*"(?:[^"\\\\]|\\\\.)*"`, 'gi'), '"$1":"[redacted]"'],
  // Header-like `Authorization: …`, `token: …`, `code_verifier: …`.
  [/\b(authorization|token|code_verifier|refresh_token|access_token)\s*:\s*[^\s,;]+/gi, '$1: [redacted]'],
];

/** Removes anything that looks like a token, a sign-in code or a PKCE verifier. */
export function redact(text: string): string {
  let out = text;
  for (const [pattern, replacement] of REDACTIONS) out = out.replace(pattern, replacement);
  return out;
}

function renderFields(fields: LogFields | undefined): string {
  if (!fields) return '';
  let out = '';
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    let shown = SECRET_KEY.test(key) ? '[redacted]' : String(value);
    if (shown === '' || /[\s"=]/.test(shown)) shown = JSON.stringify(shown);
    out += ` ${key}=${shown}`;
  }
  return out;
}

/** `2026-11-25T13:24:11.123Z INFO  push blog/hello.html v8 3.1 KiB 14 ms` */
export function formatLine(at: Date, level: LogLevel, message: string, fields?: LogFields): string {
  // Control characters (newlines above all), line separators and bidi controls become visible escapes: a file or
  // device name can neither forge a second line nor reorder what the line shows.
  const body = escapeInvisible(redact(`${message}${renderFields(fields)}`));
  return `${at.toISOString()} ${level.toUpperCase().padEnd(5)} ${body}`;
}

const LINE = Symbol('line');
interface LineInfo {
  level: string;
  message: string;
  [LINE]?: string;
}

/**
 * Appends each line with one synchronous write, so lines land whole and in order however fast they come (winston's
 * own File transport lost lines under bursts), and rotates by size: sync.log -> sync.1.log -> … .
 */
class RotatingFileTransport extends TransportStream {
  readonly #file: string;
  readonly #maxBytes: number;
  readonly #maxFiles: number;
  readonly #echo: ((line: string) => void) | undefined;
  #fd: number;
  #size: number;
  #ino = 0;
  written = 0;
  #waiters: Array<() => void> = [];
  #target = 0;

  constructor(options: Required<Pick<LoggerOptions, 'file' | 'maxBytes' | 'maxFiles'>> & Pick<LoggerOptions, 'echo'>) {
    super({});
    this.#file = options.file;
    this.#maxBytes = options.maxBytes;
    this.#maxFiles = Math.max(1, options.maxFiles);
    this.#echo = options.echo;
    mkdirSync(dirname(this.#file), { recursive: true, mode: 0o700 });
    this.#fd = -1;
    this.#size = 0;
    this.#open();
  }

  #open(): void {
    this.#fd = openSync(this.#file, 'a', 0o600);
    const info = fstatSync(this.#fd);
    this.#size = info.size;
    this.#ino = info.ino;
  }

  /**
   * Another process logging to the same file (the app and a CLI on another folder) may have rotated it: then our
   * descriptor points at sync.1.log, and we follow the new sync.log instead.
   */
  #followRotation(): void {
    let ino: number | null = null;
    try {
      ino = statSync(this.#file).ino;
    } catch {}
    if (ino === this.#ino) return;
    closeSync(this.#fd);
    this.#open();
  }

  #rotate(): void {
    closeSync(this.#fd);
    const last = this.#maxFiles - 1;
    if (last === 0) {
      unlinkSync(this.#file);
    } else {
      try {
        unlinkSync(rotatedLogName(this.#file, last));
      } catch (error) {
        if (errnoOf(error) !== 'ENOENT') throw error;
      }
      for (let n = last - 1; n >= 0; n--) {
        try {
          renameSync(n === 0 ? this.#file : rotatedLogName(this.#file, n), rotatedLogName(this.#file, n + 1));
        } catch (error) {
          if (errnoOf(error) !== 'ENOENT') throw error;
        }
      }
    }
    this.#open();
  }

  override log(info: LineInfo, next: () => void): void {
    const line = `${info[LINE] ?? info.message}\n`;
    const bytes = Buffer.byteLength(line);
    try {
      if (this.written % 256 === 0) this.#followRotation();
      if (this.#size > 0 && this.#size + bytes > this.#maxBytes) {
        this.#followRotation();
        if (this.#size > 0 && this.#size + bytes > this.#maxBytes) this.#rotate();
      }
      writeSync(this.#fd, line);
      this.#size += bytes;
    } catch (error) {
      // The log must never take the sync down; say so where someone may see it.
      process.stderr.write(`hyperclay-sync: could not write the log file ${this.#file}: ${String(error)}\n`);
    }
    this.#echo?.(line.slice(0, -1));
    this.written++;
    if (this.written >= this.#target) for (const wake of this.#waiters.splice(0)) wake();
    next();
  }

  /** Resolves once `count` lines have been written. */
  waitFor(count: number): Promise<void> {
    if (this.written >= count) return Promise.resolve();
    this.#target = count;
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  closeFile(): void {
    if (this.#fd >= 0) closeSync(this.#fd);
    this.#fd = -1;
  }
}

/** The log file (`Logger`) as an EngineLog. */
export function logTo(logger: Record<LogLevel, (message: string) => void>): EngineLog {
  return (level, line) => logger[level](line);
}

export function createLogger(options: LoggerOptions): Logger {
  const level = options.level ?? 'info';
  const transport = new RotatingFileTransport({
    file: options.file,
    maxBytes: options.maxBytes ?? 5 * 1024 * 1024,
    maxFiles: options.maxFiles ?? LOG_FILES_KEPT,
    echo: options.echo,
  });
  const logger = winston.createLogger({ levels: LEVELS, level, transports: [transport], exitOnError: false });
  let submitted = 0;
  let closed = false;

  const emit = (lineLevel: LogLevel, message: string, fields?: LogFields): void => {
    if (closed || LEVELS[lineLevel] > LEVELS[level]) return;
    submitted++;
    logger.log({ level: lineLevel, message: '', [LINE]: formatLine(new Date(), lineLevel, String(message), fields) });
  };

  return {
    file: options.file,
    error: (message, fields) => emit('error', message, fields),
    warn: (message, fields) => emit('warn', message, fields),
    info: (message, fields) => emit('info', message, fields),
    debug: (message, fields) => emit('debug', message, fields),
    async close() {
      if (closed) return;
      closed = true;
      // winston's end() can race lines still buffered in its pipe: wait for our own count instead (bounded, so a
      // line winston dropped can never hang the shutdown).
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        transport.waitFor(submitted),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, 10_000);
          timer.unref();
        }),
      ]);
      clearTimeout(timer);
      logger.close();
      transport.closeFile();
    },
  };
}
