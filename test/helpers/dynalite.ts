/**
 * Starts dynalite (a DynamoDB emulator on LevelDB, in memory) inside the test process, on a loopback
 * port the OS picks, and stops it again. Clients may use any credentials, e.g. accessKeyId 'x'.
 */
import type http from 'node:http';
import { createRequire } from 'node:module';
import type net from 'node:net';

export interface Dynalite {
  /** Plain-HTTP endpoint, e.g. http://127.0.0.1:40123. */
  endpoint: string;
  stop(): Promise<void>;
}

interface DynaliteOptions {
  /** How long tables stay CREATING (default 500 ms). */
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
  /** LevelDB folder; in memory when absent. */
  path?: string;
}

// dynalite is CommonJS without type declarations.
const dynalite = createRequire(import.meta.url)('dynalite') as (opts?: DynaliteOptions) => http.Server;

export async function startDynalite(opts: DynaliteOptions = {}): Promise<Dynalite> {
  const server = dynalite({ createTableMs: 5, deleteTableMs: 5, updateTableMs: 5, ...opts });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as net.AddressInfo;
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= new Promise<void>((resolve, reject) => {
      // Keep-alive sockets of clients that were not destroyed would hold close() up.
      server.closeAllConnections();
      server.close((err?: Error) => (err ? reject(err) : resolve()));
    }));
  return { endpoint: `http://127.0.0.1:${port}`, stop };
}
