/** `storepulse streams`: streams, their shards and sizes, and how far behind each consumer is. */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { describeStream, type StreamReport } from '../streams/lag.js';
import { openDurableStream, parseStreamUri } from '../streams/uri.js';
import { contextOf } from './context.js';
import { requireRun } from './data-folder.js';
import { formatJson, formatTable, type Row } from './output.js';
import { streamPlace } from './paths.js';

interface StreamsOptions {
  json?: boolean;
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
