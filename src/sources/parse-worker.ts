/**
 * Parse worker of the parallel reader (parallel.ts): parses the byte ranges it is sent, in turn,
 * and posts each one's events back as columns, with its bytes; buffers are transferred. Loaded from the built
 * output (dist/src/sources/parse-worker.js).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { StorepulseError } from '../core/errors.js';
import { PROBE_BYTES, type RangeSetup, type RangeTask, parseRange } from './ranges.js';

/** What a worker posts when a range fails. */
export interface RangeFailure {
  k: number;
  error: { message: string; code?: string; storepulse: boolean };
}

const setup = workerData as RangeSetup;
const probe = Buffer.allocUnsafe(PROBE_BYTES);
const port = parentPort!;

port.on('message', (task: RangeTask) => {
  try {
    const { result, transfer } = parseRange(setup, task, probe);
    // The text pieces stay here: the reading thread decodes the bytes into the same ones.
    result.pieces = undefined;
    port.postMessage(result, transfer);
  } catch (err) {
    const e = err as Error & { code?: unknown };
    const failure: RangeFailure = {
      k: task.k,
      error: {
        message: e?.message ?? String(err),
        code: typeof e?.code === 'string' ? e.code : undefined,
        storepulse: err instanceof StorepulseError,
      },
    };
    port.postMessage(failure);
  }
});
