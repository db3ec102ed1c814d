// A throwaway S3-compatible server for tests and benchmarks: @20minutes/s3rver in its own process on a free
// 127.0.0.1 port, objects in a temp folder (removed after). It can be stopped and started again on the same
// port with its objects, or frozen, as an object store that goes away or stops answering.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DeleteObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { freePort } from './platform.js';

const ROOT = resolve(import.meta.dirname, '../..');
const ENTRY = join(ROOT, 'test/helpers/s3-server-process.ts');

export interface TestS3 {
  /** `http://127.0.0.1:<port>` (the SDK's endpoint, path-style). */
  endpoint: string;
  bucket: string;
  /** The server checks SigV4 signatures against this key pair (s3rver's built-in account). */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** `http://key:secret@127.0.0.1:<port>/<bucket>`: the reference server's `--s3` argument. */
  url: string;
  /** The server process's id (undefined while stopped). */
  pid(): number | undefined;
  /** Keys of the bucket's objects under `prefix`, sorted (listed through the S3 API). */
  keys(prefix?: string): Promise<string[]>;
  /** Removes an object behind the storage's back (tests of missing content). */
  removeObject(key: string): Promise<void>;
  /** Stops the server (requests in flight finish first); its port then refuses connections. */
  stop(): Promise<void>;
  /** Starts it again on the same port, with the objects it had. */
  start(): Promise<void>;
  /** While frozen (SIGSTOP) the server accepts connections but answers nothing: a store that hangs. */
  freeze(on: boolean): void;
  close(): Promise<void>;
}

/** Spawns the server and resolves once it prints that it listens; rejects with its stderr if it exits first. */
function spawnServer(dir: string, port: number, bucket: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', ENTRY, '--dir', dir, '--port', String(port), '--bucket', bucket],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return new Promise((resolveChild, reject) => {
    let out = '';
    let err = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes(`listening ${port}`)) resolveChild(child);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.once('exit', (code) =>
      reject(new Error(`the S3 server exited with ${code} before listening: ${err.trim()}`)),
    );
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => child.once('exit', () => done()));
}

/**
 * The client the helper lists and removes objects with. The SDK sends a bucket-level request as `/bucket/` and
 * signs that path, while s3rver checks the signature against `/bucket`: the trailing slash is dropped before
 * signing. (The storage never lists, so its own client needs no such change.)
 */
function listingClient(endpoint: string, credentials: TestS3['credentials']): S3Client {
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials });
  client.middlewareStack.add(
    (next) => (args) => {
      const request = args.request as { path?: unknown };
      if (typeof request.path === 'string' && /^\/[^/]+\/$/.test(request.path)) {
        request.path = request.path.slice(0, -1);
      }
      return next(args);
    },
    { step: 'build', name: 'bucketPathWithoutSlash' },
  );
  return client;
}

export async function startTestS3(options: { bucket?: string } = {}): Promise<TestS3> {
  const dir = mkdtempSync(join(tmpdir(), 'hc-s3-'));
  const bucket = options.bucket ?? 'hyperclay-test';
  const port = await freePort();
  const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  const endpoint = `http://127.0.0.1:${port}`;
  let child: ChildProcess | null = await spawnServer(dir, port, bucket).catch((error: Error) => {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  });
  const client = listingClient(endpoint, credentials);

  async function stop(): Promise<void> {
    const running = child;
    child = null;
    if (!running) return;
    running.kill('SIGCONT'); // a frozen server cannot handle SIGTERM
    running.kill('SIGTERM');
    await exited(running);
  }

  return {
    endpoint,
    bucket,
    credentials,
    url: `http://${credentials.accessKeyId}:${credentials.secretAccessKey}@127.0.0.1:${port}/${bucket}`,
    pid: () => child?.pid,
    async keys(prefix = '') {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        );
        keys.push(...(page.Contents ?? []).map((object) => object.Key ?? ''));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return keys.sort();
    },
    async removeObject(key) {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    },
    stop,
    async start() {
      if (child) return;
      child = await spawnServer(dir, port, bucket);
    },
    freeze(on) {
      child?.kill(on ? 'SIGSTOP' : 'SIGCONT');
    },
    async close() {
      client.destroy();
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
