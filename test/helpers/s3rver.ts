/**
 * Starts s3rver (an S3 emulator storing objects in a folder) for a test, on a loopback port the OS
 * picks, with the given buckets, and stops it again. Clients need path-style addressing (storepulse
 * sets it for any custom endpoint) and s3rver's fixed credentials, S3RVER_CREDENTIALS.
 *
 * It runs in a child process with OpenSSL's legacy provider: s3rver encrypts ListObjectsV2
 * continuation tokens with DES, which Node 20's OpenSSL 3 refuses otherwise (every truncated
 * listing would fail with InternalError).
 *
 * Known gap: s3rver answers a suffix range (`Range: bytes=-N`) with the first N bytes instead of the
 * last, so nothing that reads a Parquet footer by range can be tested against it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

/** The only key s3rver accepts (it checks signatures). */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface S3rver {
  /** Plain-HTTP endpoint, e.g. http://127.0.0.1:40123. */
  endpoint: string;
  /**
   * Requests received so far, as `METHOD /bucket/key?query`. Reported by the child as they arrive:
   * wait for one with vi.waitFor rather than reading this right after a call.
   */
  requests: string[];
  stop(): Promise<void>;
}

export interface S3rverOptions {
  buckets: string[];
  /** Requests (`METHOD /bucket/key?query`) matching this are answered with HTTP 400 InvalidRequest. */
  fail?: RegExp;
}

const STARTUP_TIMEOUT_MS = 30_000;

/** The child: s3rver with a first middleware that reports each request and fails the chosen ones. */
const CHILD = `
const S3rver = require(process.env.S3RVER_MODULE);
const fail = process.env.S3RVER_FAIL ? new RegExp(process.env.S3RVER_FAIL) : null;
const server = new S3rver({
  address: '127.0.0.1', port: 0, silent: true, vhostBuckets: false,
  directory: process.env.S3RVER_DIR,
  configureBuckets: JSON.parse(process.env.S3RVER_BUCKETS).map((name) => ({ name })),
});
const say = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
server.middleware.unshift(async (ctx, next) => {
  const request = ctx.method + ' ' + ctx.url;
  say({ request });
  if (fail && fail.test(request)) {
    ctx.status = 400;
    ctx.type = 'application/xml';
    ctx.body = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidRequest</Code>' +
      '<Message>failed by the test</Message></Error>';
    return;
  }
  await next();
});
server.run().then(({ port }) => say({ port }), (err) => { console.error(err); process.exit(1); });
// The test process owns it: gone with its stdin.
process.stdin.on('end', () => process.exit(0)).resume();
`;

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startS3rver(opts: S3rverOptions): Promise<S3rver> {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'sp-s3rver-'));
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', CHILD], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: {
      ...process.env,
      S3RVER_MODULE: createRequire(import.meta.url).resolve('s3rver'),
      S3RVER_DIR: directory,
      S3RVER_BUCKETS: JSON.stringify(opts.buckets),
      S3RVER_FAIL: opts.fail?.source ?? '',
    },
  });
  const requests: string[] = [];
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      child.stdin!.end();
      child.kill('SIGTERM');
      await exited(child);
      rmSync(directory, { recursive: true, force: true });
    })());
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('s3rver did not start')), STARTUP_TIMEOUT_MS);
      child.once('exit', (code) => reject(new Error(`s3rver exited with code ${code}`)));
      readline.createInterface({ input: child.stdout! }).on('line', (line) => {
        const msg = JSON.parse(line) as { port?: number; request?: string };
        if (msg.request !== undefined) requests.push(msg.request);
        if (msg.port !== undefined) {
          clearTimeout(timer);
          resolve(msg.port);
        }
      });
    });
    return { endpoint: `http://127.0.0.1:${port}`, requests, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
