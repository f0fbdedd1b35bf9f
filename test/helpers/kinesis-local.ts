/**
 * Starts kinesis-local (the npm build of kinesis-mock, a Kinesis Data Streams emulator) for a test, on
 * loopback ports picked at run time, and stops it again. Clients must use a NodeHttpHandler (HTTP/1.1)
 * and any credentials, e.g. accessKeyId 'x'.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.js';

export interface KinesisLocal {
  /** Plain-HTTP endpoint, e.g. http://127.0.0.1:40123. */
  endpoint: string;
  stop(): Promise<void>;
}

const STARTUP_TIMEOUT_MS = 30_000;

/**
 * kinesis-mock binds 0.0.0.0 with no setting to change it; this preload (run with --import before its
 * main.js) makes every server it opens listen on 127.0.0.1 instead, so tests expose nothing.
 */
const LOOPBACK_ONLY = `
import net from 'node:net';
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'number' && typeof args[1] !== 'string') args.splice(1, 0, '127.0.0.1');
  else if (args[0] && typeof args[0] === 'object' && args[0].path === undefined && !args[0].host)
    args[0] = { ...args[0], host: '127.0.0.1' };
  return listen.apply(this, args);
};
`;

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startKinesisLocal(): Promise<KinesisLocal> {
  const pkg = path.dirname(createRequire(import.meta.url).resolve('kinesis-local/package.json'));
  const [plainPort, tlsPort] = [await freePort(), await freePort()];
  // Its working folder: nothing is persisted (SHOULD_PERSIST_DATA defaults to false), but keep any
  // stray file out of the repository.
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'sp-kinesis-local-'));
  const child = spawn(
    process.execPath,
    ['--import', `data:text/javascript,${encodeURIComponent(LOOPBACK_ONLY)}`, path.join(pkg, 'main.js')],
    {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        KINESIS_MOCK_CERT_PATH: path.join(pkg, 'server.json'),
        KINESIS_MOCK_PLAIN_PORT: String(plainPort),
        KINESIS_MOCK_TLS_PORT: String(tlsPort),
        // Stream state changes happen after these delays (default 500ms each).
        CREATE_STREAM_DURATION: '1ms',
        DELETE_STREAM_DURATION: '1ms',
        SPLIT_SHARD_DURATION: '1ms',
        MERGE_SHARDS_DURATION: '1ms',
        UPDATE_SHARD_COUNT_DURATION: '1ms',
        SHOULD_PERSIST_DATA: 'false',
        LOG_LEVEL: 'WARN',
      },
    },
  );
  // Keep the end of its output for error messages; reading also keeps the pipes from filling up.
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited(child);
      clearTimeout(timer);
    }
    rmSync(cwd, { recursive: true, force: true });
  };

  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (!(await canConnect(plainPort))) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`kinesis-local did not start on port ${plainPort}:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { endpoint: `http://127.0.0.1:${plainPort}`, stop };
}
