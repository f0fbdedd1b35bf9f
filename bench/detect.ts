/**
 * Detection benchmark (core/rules/detector.ts, pipeline/processor.ts), in three parts:
 *
 *   npm run build && node dist/bench/detect.js --part throughput [--events 2000000] [--runs 3]
 *   node dist/bench/detect.js --part latency [--events 600000] [--runs 1] [--rate 20000]
 *        [--poll 50,10,5] [--durability batch,interval] [--reference] [--lake on|off] [--per-day N]
 *   node dist/bench/detect.js --part memory [--events 10000000] [--every 1000000] [--processor] [--keep]
 *
 * - throughput: events/s of the Detector (all default rules; then with the reference rule too) over
 *   events parsed into memory beforehand, of the processor over a pre-filled MemoryStream, and of
 *   readEvents + Detector from the CSV file, against DuckDB computing the reference rule's windowed
 *   counts over the same data (a loaded table, and read_csv), with 1 thread and its default.
 *   Every phase runs in a child process of its own (peak RSS is its own); phases alternate run by
 *   run and the median counts (detect-throughput.ts).
 * - latency: `storepulse simulate --rate R` and `storepulse process` as two processes over the
 *   embedded log, while this process tails stream 2 and takes, for every alert, its arrival time
 *   minus evidence.trigger.txn_timestamp (detect-latency.ts).
 * - memory: RSS and heap every 1M events of readEvents → Detector over a 10M-event file, or with
 *   --processor of runProcessor over a bounded MemoryStream (detect-memory.ts). The generated file
 *   is deleted afterwards unless --keep.
 *
 * Data: `storepulse generate --attacks all` into --dir (default the OS temp folder), made once per
 * (events, seed, per-day) and reused; `--file F` uses a given file instead.
 */

import { parseArgs } from './detect-common.js';

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  if (a.part === 'throughput') {
    const { throughput, throughputChild } = await import('./detect-throughput.js');
    return a.phase ? throughputChild(a) : throughput(a);
  }
  if (a.part === 'latency') return (await import('./detect-latency.js')).latency(a);
  return (await import('./detect-memory.js')).memory(a);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
