/** `storepulse streams`: streams, their shards and sizes, and how far behind each consumer is. */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { SHARD_END, type DurableStream, type ShardStats } from '../streams/types.js';
import { openDurableStream, parseStreamUri } from '../streams/uri.js';
import { contextOf } from './context.js';
import { requireRun } from './data-folder.js';
import { formatJson, formatTable, type Row } from './output.js';
import { streamPlace } from './paths.js';

interface StreamsOptions {
  json?: boolean;
}

export interface ConsumerLag {
  consumer: string;
  updatedAt: string;
  /** Records not yet processed, summed over shards; null where the backend cannot count (Kinesis). */
  lagRecords: number | null;
  shardsDone: number;
}

export interface StreamReport {
  uri: string;
  shards: ShardStats[];
  records: number | null;
  bytes: number | null;
  consumers: ConsumerLag[];
}

/**
 * Records after `position` in a shard. Embedded sequence numbers are consecutive, so the difference
 * counts records; a backend that does not count records (Kinesis) gets null.
 */
function shardLag(shard: ShardStats, position: string | undefined): number | null {
  if (position === SHARD_END) return 0;
  if (shard.records === undefined) return null;
  if (shard.records === 0 || shard.newestSequenceNumber === undefined) return 0;
  if (position === undefined) return shard.records;
  return Math.max(0, Math.min(shard.records, Number(BigInt(shard.newestSequenceNumber) - BigInt(position))));
}

async function describeStream(uri: string, stream: DurableStream): Promise<StreamReport> {
  const shards = await stream.stats();
  const sum = (f: (s: ShardStats) => number | undefined) =>
    shards.every((s) => f(s) !== undefined) ? shards.reduce((a, s) => a + f(s)!, 0) : null;
  const consumers: ConsumerLag[] = [];
  for (const name of await stream.checkpoints.consumers()) {
    const cp = await stream.checkpoints.load(name);
    // A replay's checkpoint (`simulate:<source>`) belongs to a producer, not a consumer.
    if (!cp || name.startsWith('simulate:')) continue;
    let lag: number | null = 0;
    for (const s of shards) {
      const l = shardLag(s, cp.positions[s.shardId]);
      lag = l === null || lag === null ? null : lag + l;
    }
    consumers.push({
      consumer: name,
      updatedAt: new Date(cp.updatedAt).toISOString(),
      lagRecords: lag,
      shardsDone: Object.values(cp.positions).filter((p) => p === SHARD_END).length,
    });
  }
  return { uri, shards, records: sum((s) => s.records), bytes: sum((s) => s.bytes), consumers };
}

function printReport(r: StreamReport): string {
  const size = r.records === null ? '' : `, ${r.records} records, ${r.bytes} bytes`;
  const shardRows: Row[] = r.shards.map((s) => ({
    shard: s.shardId,
    state: s.closed ? 'closed' : 'open',
    records: s.records,
    bytes: s.bytes,
    oldest: s.oldestSequenceNumber,
    newest: s.newestSequenceNumber,
  }));
  const consumerRows: Row[] = r.consumers.map((c) => ({
    consumer: c.consumer,
    checkpoint: c.updatedAt,
    'lag (records)': c.lagRecords ?? 'unknown',
  }));
  return (
    `${r.uri} (${r.shards.length} shards${size})\n${formatTable(shardRows)}` +
    (consumerRows.length > 0 ? formatTable(consumerRows) : '(no consumer checkpoints)\n')
  );
}

export function register(program: Command): void {
  program
    .command('streams')
    .description("list streams with their shards, sizes and each consumer's lag")
    .argument('[uri...]', 'streams to show (default: every embedded stream in the data folder)')
    .option('--json', 'JSON output')
    .action(async (uris: string[], opts: StreamsOptions, cmd: Command) => {
      const ctx = contextOf(cmd);
      if (uris.length === 0) {
        requireRun(ctx);
        const names = await readdir(path.join(ctx.dataDir, 'streams')).catch(() => [] as string[]);
        uris = names.sort().map((n) => `embedded://${n}`);
      }
      const place = streamPlace(ctx);
      const reports: StreamReport[] = [];
      for (const uri of uris) {
        const parsed = parseStreamUri(uri, 'streams');
        if (parsed.kind === 'pipe') continue;
        const stream = await openDurableStream(parsed, place, 'read');
        try {
          reports.push(await describeStream(uri, stream));
        } finally {
          await stream.close();
        }
      }
      if (opts.json) process.stdout.write(formatJson(reports));
      else if (reports.length === 0) process.stdout.write(`no streams in ${ctx.dataDir}\n`);
      else process.stdout.write(reports.map(printReport).join('\n'));
    });
}
