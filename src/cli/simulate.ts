import type { Command } from 'commander';
import { StorepulseError } from '../core/errors.js';
import type { ClickEvent } from '../core/event.js';
import { inBatches } from '../pipeline/batches.js';
import { type Pace, type PartitionKeyField, runSimulator } from '../pipeline/simulator.js';
import { generateEvents, parseAttackList } from '../sources/synthetic/generator.js';
import { createDeadLetterFile, defaultDeadLetterPath } from '../sources/deadletter.js';
import { type ReadStats, readEvents } from '../sources/reader.js';
import { openStreamWriter } from '../streams/uri.js';
import { contextOf, intOption } from './context.js';
import { createProgress } from './progress.js';
import { stopSignal } from './signals.js';

interface SimulateOptions {
  to: string;
  generate?: number;
  seed: number;
  attacks?: string;
  speed?: string;
  rate?: number;
  max?: boolean;
  partitionKey?: string;
  limit?: number;
  maxLineBytes?: number;
}

const KEYS: PartitionKeyField[] = ['category_id', 'user_id', 'user_session', 'product_id'];

export function paceOf(opts: { speed?: string; rate?: number; max?: boolean }): Pace {
  const chosen = [opts.speed !== undefined, opts.rate !== undefined, Boolean(opts.max)].filter(
    Boolean,
  ).length;
  if (chosen > 1) throw new StorepulseError('USAGE', 'choose one of --speed, --rate and --max');
  if (opts.rate !== undefined) return { mode: 'rate', eventsPerSecond: opts.rate };
  if (opts.speed !== undefined) {
    const factor = Number(opts.speed);
    if (!(factor > 0) || !Number.isFinite(factor)) {
      throw new StorepulseError(
        'USAGE',
        `--speed takes a positive number, got ${JSON.stringify(opts.speed)}`,
      );
    }
    return { mode: 'speed', factor };
  }
  return { mode: 'max' };
}

export function register(program: Command): void {
  program
    .command('simulate')
    .description(
      'replay a dataset (or generated events) into stream 1, adding txn_timestamp, keyed by category_id',
    )
    .argument('[file]', 'dataset: .csv, .csv.gz, .zip or - for stdin')
    .option('--to <uri>', 'stream to write: - (NDJSON records on stdout)', '-')
    .option('--generate <n>', 'replay n generated events instead of a file', intOption('--generate'))
    .option('--seed <s>', 'generator seed', intOption('--seed', 0), 1)
    .option('--attacks <list>', 'generator attack profiles (comma list or all)')
    .option('--speed <x>', 'replay event time x times faster than real time')
    .option('--rate <n>', 'send n events per second', intOption('--rate'))
    .option('--max', 'send as fast as the stream takes them (default)')
    .option('--partition-key <field>', `partition key: ${KEYS.join(', ')} (default category_id)`)
    .option('--limit <n>', 'stop after n events', intOption('--limit'))
    .option('--max-line-bytes <n>', 'longest dataset line accepted', intOption('--max-line-bytes', 256))
    .action(async (file: string | undefined, opts: SimulateOptions, cmd: Command) => {
      const ctx = contextOf(cmd);
      const pace = paceOf(opts);
      const partitionKey = (opts.partitionKey ?? ctx.config.simulate.partitionKey) as PartitionKeyField;
      if (!KEYS.includes(partitionKey)) {
        throw new StorepulseError('USAGE', `--partition-key takes one of ${KEYS.join(', ')}`);
      }
      if ((file === undefined) === (opts.generate === undefined)) {
        throw new StorepulseError('USAGE', 'give a dataset file or --generate N (one of them)');
      }
      const stream = openStreamWriter(opts.to);
      const stop = stopSignal(ctx.log);
      const progress = createProgress({
        label: 'simulate',
        unit: 'events',
        total: opts.generate,
        quiet: ctx.quiet,
      });
      let source: AsyncIterable<ClickEvent[]>;
      let readStats: ReadStats | undefined;
      const deadLetter = file ? createDeadLetterFile(defaultDeadLetterPath(ctx.dataDir, file)) : null;
      if (file) {
        const reader = readEvents(file, {
          maxLineBytes: opts.maxLineBytes ?? ctx.config.maxLineBytes,
          deadLetter,
          signal: stop.signal,
        });
        readStats = reader.stats;
        source = reader;
      } else {
        source = inBatches(
          generateEvents({
            events: opts.generate!,
            seed: opts.seed,
            attacks: opts.attacks ? parseAttackList(opts.attacks) : [],
          }),
        );
      }
      try {
        const stats = await runSimulator({
          events: source,
          stream,
          partitionKey,
          pace,
          limit: opts.limit,
          signal: stop.signal,
          onProgress: (n) => progress.update(n),
        });
        await stream.close();
        progress.finish(readStats?.rejected ? `${readStats.rejected} rejected rows` : undefined);
        ctx.log(
          `sent ${stats.sent} events in ${stats.seconds.toFixed(1)}s to ${stream.name}` +
            (readStats
              ? `; ${readStats.rejected} rows rejected${readStats.deadLetterPath ? ` (${readStats.deadLetterPath})` : ''}`
              : ''),
        );
      } finally {
        await deadLetter?.close();
        stop.dispose();
      }
    });
}
