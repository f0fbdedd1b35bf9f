/**
 * "No valid row" is an error, not an empty success: a run over an empty, mistyped or foreign file
 * would otherwise print zeros and exit 0, which reads as "no bots". The probe lets a command that
 * replaces earlier results (the demo) check its input before it deletes anything.
 */
import { StorepulseError } from '../core/errors.js';
import { readEvents } from './reader.js';
import type { ReadStats } from './types.js';

/** Rows the probe reads at most looking for a valid one. */
const PROBE_ROWS = 10_000;

/** The error for a dataset in which no row is a valid event. */
export function noValidRowError(stats: ReadStats, scope = ''): StorepulseError {
  const reasons = Object.entries(stats.rejectedByReason)
    .sort((a, b) => b[1] - a[1])
    .map(([reason, n]) => `${n} ${reason}`)
    .join(', ');
  const what =
    stats.rows === 0
      ? 'holds no rows'
      : `holds no valid row${scope}: ${stats.rows} rows rejected (${reasons})` +
        (stats.deadLetterPath ? `; see ${stats.deadLetterPath}` : '');
  return new StorepulseError(
    'INPUT',
    `${stats.source} ${what}. A dataset is REES46-shaped CSV (.csv, .csv.gz or .zip): see docs/data-contract.md`,
  );
}

/** Throws unless one of the first PROBE_ROWS rows of `file` is a valid event. Reads on this thread. */
export async function probeDataset(file: string, maxLineBytes: number): Promise<void> {
  const stop = new AbortController();
  const batches = readEvents(file, {
    maxLineBytes,
    threads: 1,
    batchSize: 1,
    signal: stop.signal,
    onProgress: (s) => {
      if (s.valid === 0 && s.rows >= PROBE_ROWS) stop.abort();
    },
  });
  try {
    for await (const batch of batches) if (batch.length > 0) return;
  } catch (err) {
    if (!stop.signal.aborted) throw err;
  }
  throw noValidRowError(batches.stats, stop.signal.aborted ? ` in its first ${batches.stats.rows} rows` : '');
}
