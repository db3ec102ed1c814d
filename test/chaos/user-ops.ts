// A person at work in one sync folder: carries out the schedule's folder operations on the real disk (with mtimes
// shifted like a machine with a wrong clock), and keeps the model of what that person last wrote at each path.

import { createHash } from 'node:crypto';
import { type FileHandle, mkdir, open, readdir, rename, rm, unlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { baseOf, type ContentSpec, type FolderOp, isUnder, parentOf } from './ops.js';

export const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** What a user op wrote: `size` bytes starting with its unique tag (a whole HTML page for a site). */
export function contentOf(spec: ContentSpec): Buffer {
  const head = spec.html
    ? `<!doctype html>\n<html><head><title>${spec.tag}</title></head><body>\n<p>${spec.tag}</p>\n`
    : `${spec.tag}\n`;
  const tail = spec.html ? '</body></html>\n' : '';
  const fill = Math.max(0, spec.size - head.length - tail.length);
  return Buffer.concat([Buffer.from(head), Buffer.alloc(fill, `${spec.tag}.`), Buffer.from(tail)]);
}

/** The bytes an edit puts into a file: the tag and filler, no page frame. */
const chunkOf = (spec: ContentSpec): Buffer => contentOf({ ...spec, html: false });

/** A content the model needs to find somewhere at the end, and why it is no longer at its path. */
export interface Orphan {
  path: string;
  sha256: string;
  why: string;
}

/** Per folder: path -> sha256 of the user's last write there; renames move entries, user deletes drop them. */
export class FolderModel {
  readonly current = new Map<string, string>();
  /** Contents whose file was gone (sync moved it) when a user op came for it: they must still exist somewhere. */
  readonly orphans: Orphan[] = [];

  orphan(path: string, why: string): void {
    const hash = this.current.get(path);
    if (hash !== undefined) this.orphans.push({ path, sha256: hash, why });
    this.current.delete(path);
  }

  dropUnder(dir: string): void {
    for (const path of [...this.current.keys()]) if (isUnder(path, dir)) this.current.delete(path);
  }

  moveUnder(from: string, to: string): void {
    for (const [path, hash] of [...this.current]) {
      if (!isUnder(path, from)) continue;
      this.current.delete(path);
      this.current.set(to + path.slice(from.length), hash);
    }
  }
}

/** The whole file behind a descriptor, from its first byte (whatever the descriptor's position). */
async function readWhole(handle: FileHandle): Promise<Buffer> {
  const { size } = await handle.stat();
  const buffer = Buffer.alloc(size);
  let done = 0;
  while (done < size) {
    const { bytesRead } = await handle.read(buffer, done, size - done, done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return buffer.subarray(0, done);
}

/**
 * Writes all of `data` from the file's first byte. A full disk can make a write short without an error: write the
 * rest until the disk says ENOSPC, as fs.writeFile does (a short write taken for a whole one left zeros behind).
 */
async function writeWhole(handle: FileHandle, data: Buffer): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await handle.write(data, done, data.length - done, done);
    if (bytesWritten === 0) throw Object.assign(new Error('no byte written'), { code: 'ENOSPC' });
    done += bytesWritten;
  }
}

const codeOf = (error: unknown): string => (error as NodeJS.ErrnoException).code ?? String(error);

/** One folder's user: runs folder ops, keeps the model. Returns a short outcome per op for the run's log. */
export class FolderUser {
  readonly folder: string;
  readonly skewMs: number;
  readonly model = new FolderModel();

  constructor(folder: string, skewMs: number) {
    this.folder = folder;
    this.skewMs = skewMs;
  }

  abs(path: string): string {
    return join(this.folder, ...path.split('/'));
  }

  /** The mtime a file saved now gets on this machine (its clock is off by skewMs). */
  #stamp(): Date {
    return new Date(Date.now() + this.skewMs);
  }

  async #shift(abs: string): Promise<void> {
    if (this.skewMs !== 0) await utimes(abs, this.#stamp(), this.#stamp());
  }

  async run(op: FolderOp): Promise<string> {
    try {
      switch (op.t) {
        case 'create':
          return await this.#write(op.path, contentOf(op.content));
        case 'burst': {
          const outcomes = await Promise.all(op.files.map((f) => this.#write(f.path, contentOf(f.content))));
          return outcomes.filter((o) => o !== 'ok').join(', ') || 'ok';
        }
        case 'edit':
        case 'append':
        case 'truncate':
          return await this.#inPlace(op.path, op);
        case 'syncedEdit':
          return await this.#syncedEdit(op);
        case 'editorSave':
          return await this.#editorSave(op.path, contentOf(op.content));
        case 'delete':
          return await this.#delete(op.path);
        case 'rename':
          return await this.#rename(op.from, op.to, op.dir);
        case 'mkdir':
          await mkdir(this.abs(op.path), { recursive: true });
          return 'ok';
        case 'rmdir':
          try {
            await rm(this.abs(op.path), { recursive: true, force: true, maxRetries: 10, retryDelay: 20 });
          } finally {
            // Even part-way, what the user removed is the user's doing; what is left stays on disk.
            this.model.dropUnder(op.path);
          }
          return 'ok';
      }
    } catch (error) {
      return `failed: ${codeOf(error)}`;
    }
  }

  /** A new file, or a whole-file save over one (the user overwrites what was there). */
  async #write(path: string, content: Buffer): Promise<string> {
    const abs = this.abs(path);
    try {
      await mkdir(join(abs, '..'), { recursive: true });
      await writeFile(abs, content);
      await this.#shift(abs);
      this.model.current.set(path, sha256(content));
      return 'ok';
    } catch (error) {
      // The save failed part-way (a full disk): whatever the file holds now is the user's own doing.
      this.model.current.delete(path);
      return `${path}: ${codeOf(error)}`;
    }
  }

  /** Edit, append or truncate through one descriptor, as an editor that writes in place. */
  async #inPlace(path: string, op: Extract<FolderOp, { t: 'edit' | 'append' | 'truncate' }>): Promise<string> {
    let handle: FileHandle;
    try {
      handle = await open(this.abs(path), 'r+');
    } catch (error) {
      if (codeOf(error) === 'ENOENT') this.model.orphan(path, `gone before the user's ${op.t}`);
      return `skipped: ${codeOf(error)}`;
    }
    try {
      const old = await readWhole(handle);
      let next: Buffer;
      if (op.t === 'truncate') next = old.subarray(0, Math.floor(op.keep * old.length));
      else if (op.t === 'append') next = Buffer.concat([old, chunkOf(op.content)]);
      else {
        const chunk = chunkOf(op.content);
        const at = Math.floor(op.at * old.length);
        next = Buffer.concat([old.subarray(0, at), chunk, old.subarray(Math.min(old.length, at + chunk.length))]);
      }
      if (op.t !== 'truncate') await writeWhole(handle, next);
      await handle.truncate(next.length);
      if (this.skewMs !== 0) await handle.utimes(this.#stamp(), this.#stamp());
      this.model.current.set(path, sha256(next));
      return 'ok';
    } catch (error) {
      // Part of the edit landed (a full disk): the file holds the user's own half-save now.
      const now = await readWhole(handle).catch(() => null);
      if (now) this.model.current.set(path, sha256(now));
      return `failed: ${codeOf(error)}`;
    } finally {
      await handle.close();
    }
  }

  /** An edit of whatever file sync made of `target` here; nothing when it has not come yet. */
  async #syncedEdit(op: Extract<FolderOp, { t: 'syncedEdit' }>): Promise<string> {
    const path = op.target.kind === 'upload' ? op.target.path : await this.#findSite(op.target.name);
    if (path === null) return 'skipped: not here';
    return this.#inPlace(path, { t: 'edit', c: op.c, path, at: 0.5, content: op.content });
  }

  async #findSite(name: string): Promise<string | null> {
    const walk = async (dir: string): Promise<string | null> => {
      const entries = await readdir(this.abs(dir), { withFileTypes: true }).catch(() => []);
      for (const entry of entries) {
        const path = dir === '' ? entry.name : `${dir}/${entry.name}`;
        if (entry.name.startsWith('.') || path === 'sites-versions') continue;
        if (entry.isFile() && entry.name.toLowerCase() === `${name}.html`) return path;
        if (entry.isDirectory()) {
          const found = await walk(path);
          if (found) return found;
        }
      }
      return null;
    };
    return walk('');
  }

  /** Write a temp file next to it, then rename it over the file (how most editors save). */
  async #editorSave(path: string, content: Buffer): Promise<string> {
    const abs = this.abs(path);
    const temp = join(abs, '..', `.${baseOf(path)}.chaos-save`);
    try {
      await mkdir(join(abs, '..'), { recursive: true });
      await writeFile(temp, content);
      await this.#shift(temp);
      await rename(temp, abs);
      this.model.current.set(path, sha256(content));
      return 'ok';
    } catch (error) {
      await unlink(temp).catch(() => {});
      return `failed: ${codeOf(error)}`;
    }
  }

  async #delete(path: string): Promise<string> {
    try {
      await unlink(this.abs(path));
      this.model.current.delete(path);
      return 'ok';
    } catch (error) {
      if (codeOf(error) === 'ENOENT') this.model.orphan(path, 'gone before the user deleted it');
      return `skipped: ${codeOf(error)}`;
    }
  }

  async #rename(from: string, to: string, dir: boolean): Promise<string> {
    try {
      await mkdir(this.abs(parentOf(to)), { recursive: true });
      await rename(this.abs(from), this.abs(to));
    } catch (error) {
      const code = codeOf(error);
      if (code === 'ENOENT' && !dir) this.model.orphan(from, 'gone before the user moved it');
      return `skipped: ${code}`;
    }
    if (dir) this.model.moveUnder(from, to);
    else {
      const hash = this.model.current.get(from);
      this.model.current.delete(from);
      if (hash !== undefined) this.model.current.set(to, hash);
      else this.model.current.delete(to);
    }
    return 'ok';
  }
}
