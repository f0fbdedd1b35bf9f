import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { StorepulseError } from '../core/errors.js';
import type { ClickEvent } from '../core/event.js';
import { inBatches } from '../pipeline/batches.js';
import { readResumeTail, type ResumeTail } from '../pipeline/resume.js';
import { PARTITION_KEY_FIELDS, SIMULATE_DEFAULTS } from '../pipeline/options.js';
import { type Pace, type PartitionKeyField, runSimulator } from '../pipeline/simulator.js';
import { generateEvents, parseAttackList } from '../sources/synthetic/generator.js';
import { createDeadLetterFile, defaultDeadLetterPath } from '../sources/deadletter.js';
import { readEvents } from '../sources/reader.js';
import type { ReadStats } from '../sources/types.js';
import type { DurableStream, StreamWriter } from '../streams/types.js';
import { openStreamWriter, parseStreamUri } from '../streams/uri.js';
import { fileIdentity } from '../sources/identity.js';
import { noValidRowError } from '../sources/probe.js';
import { contextOf, intOption } from './context.js';
import { refuseDemoFolder } from './data-folder.js';
import { DEFAULT_STREAM_1, streamPlace } from './paths.js';
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
  fromStart?: boolean;
}

/**
 * What a resumable replay saves in the stream's checkpoints, under `simulate:<source>`: a file by
 * its content (sources/identity.ts), generated events by their options. Stdin is not resumable.
 */
interface SimulateCheckpoint {
  delivered: number;
  done: boolean;
  /** Shards that were empty when the replay began. */
  emptyAtStart: string[];
  /** The file's path when the replay began, for messages. */
  path?: string;
}

/** The checkpoint name of a replay's source; empty for stdin. */
async function replayName(file: string | undefined, opts: SimulateOptions): Promise<string> {
  if (file === '-') return '';
  if (file === undefined)
    return `simulate:generate:${opts.generate}:seed=${opts.seed}:attacks=${opts.attacks ?? ''}`;
  return `simulate:file:${await fileIdentity(file)}`;
}

/** Says so when the file at this path was replayed before with other content: it is a new source. */
async function noteReplacedFile(
  durable: DurableStream,
  name: string,
  file: string,
  log: (m: string) => void,
) {
  const at = path.resolve(file);
  for (const other of await durable.checkpoints.consumers()) {
    if (other === name || !other.startsWith('simulate:file:')) continue;
    const state = (await durable.checkpoints.load(other))?.state;
    if (state && (JSON.parse(state) as SimulateCheckpoint).path === at) {
      log(`${file} holds other data than when it was replayed before: replaying it as a new source`);
      return;
    }
  }
}

const CHECKPOINT_EVERY_MS = 1000;

function isDurable(w: StreamWriter): w is DurableStream {
  return 'checkpoints' in w;
}

const KEYS: readonly string[] = PARTITION_KEY_FIELDS;

function paceOf(opts: { speed?: string; rate?: number; max?: boolean }): Pace {
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
    .option(
      '--to <uri>',
      'stream to write: embedded://NAME, kinesis://NAME?region=…&endpoint=…, or - (NDJSON on stdout)',
      DEFAULT_STREAM_1,
    )
    .option('--generate <n>', 'replay n generated events instead of a file', intOption('--generate'))
    .option('--seed <s>', 'generator seed', intOption('--seed', 0), 1)
    .option('--attacks <list>', 'generator attack profiles (comma list or all)')
    .option('--speed <x>', 'replay event time x times faster than real time')
    .option('--rate <n>', 'send n events per second', intOption('--rate'))
    .option('--max', 'send as fast as the stream takes them (default)')
    .option(
      '--partition-key <field>',
      `partition key: ${KEYS.join(', ')} (default ${SIMULATE_DEFAULTS.partitionKey})`,
    )
    .option('--limit <n>', 'stop after n events', intOption('--limit'))
    .option('--max-line-bytes <n>', 'longest dataset line accepted', intOption('--max-line-bytes', 256))
    .option('--from-start', 'replay from the first event even if an earlier run delivered some')
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
      if (parseStreamUri(opts.to, '--to').kind === 'embedded') refuseDemoFolder(ctx, 'simulate');
      if (file !== undefined && file !== '-' && !existsSync(file)) {
        throw new StorepulseError('INPUT', `dataset ${file} not found`);
      }
      const checkpointName = await replayName(file, opts);
      // Before the stream exists: a Ctrl-C from then on is a graceful stop.
      const stop = stopSignal(ctx.log);
      const stream = await openStreamWriter(opts.to, streamPlace(ctx));
      // A durable stream remembers how far a replay of this source got, so a restart resumes there.
      const durable = isDurable(stream) && checkpointName ? stream : undefined;
      const resumed = durable && !opts.fromStart ? await durable.checkpoints.load(checkpointName) : undefined;
      if (durable && file && !resumed) await noteReplacedFile(durable, checkpointName, file, ctx.log);
      const previous = resumed?.state ? (JSON.parse(resumed.state) as SimulateCheckpoint) : undefined;
      if (previous?.done) {
        ctx.log(
          `${opts.to} already holds all ${previous.delivered} events of this source; ` +
            'use --from-start to replay it again',
        );
        await stream.close();
        stop.dispose();
        return;
      }
      const positions: Record<string, string> = { ...resumed?.positions };
      const emptyAtStart = previous?.emptyAtStart ?? [];
      const save = async (delivered: number, done: boolean) => {
        const state: SimulateCheckpoint = {
          delivered,
          done,
          emptyAtStart,
          ...(file ? { path: path.resolve(file) } : {}),
        };
        await durable!.checkpoints.save(checkpointName, {
          positions,
          state: JSON.stringify(state),
          updatedAt: Date.now(),
        });
        savedAt = Date.now();
      };
      let savedAt = 0;
      let tail: ResumeTail | undefined;
      if (durable && previous) {
        tail = await readResumeTail(durable, positions, emptyAtStart, partitionKey);
        ctx.log(
          `resuming after ${previous.delivered} events delivered; ` +
            `${tail.found} records put after that are matched, not sent again`,
        );
      } else if (durable) {
        // Where each shard ends before this replay: a restart reads back what it put after that.
        for (const s of await durable.stats()) {
          if (s.newestSequenceNumber !== undefined) positions[s.shardId] = s.newestSequenceNumber;
          else if (s.records === 0) emptyAtStart.push(s.shardId);
        }
        await save(0, false);
        savedAt = 0;
      }
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
          // The pipeline keeps both cores busy (the processor, DuckDB's lake writes): a parse worker
          // only competes with them (demo, 2M events: 46 s with it, 36 s without).
          threads: 1,
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
      let failed = false;
      try {
        const stats = await runSimulator({
          events: source,
          stream,
          partitionKey,
          pace,
          limit: opts.limit,
          skip: previous?.delivered,
          alreadySent: tail?.alreadySent,
          signal: stop.signal,
          onProgress: (n) => progress.update(n),
          onAcked: async (delivered, results) => {
            if (!durable) return;
            for (const r of results) positions[r.shardId] = r.sequenceNumber;
            if (Date.now() - savedAt >= CHECKPOINT_EVERY_MS) await save(delivered, false);
          },
        });
        const stopped = stop.signal.aborted;
        const exhausted = !stopped && (opts.limit === undefined || stats.sent < opts.limit);
        if (durable) await save((previous?.delivered ?? 0) + stats.passedOver + stats.sent, exhausted);
        progress.finish(readStats?.rejected ? `${readStats.rejected} rejected rows` : undefined);
        ctx.log(
          `sent ${stats.sent} events in ${stats.seconds.toFixed(1)}s to ${stream.name}` +
            (readStats
              ? `; ${readStats.rejected} rows rejected${readStats.deadLetterPath ? ` (${readStats.deadLetterPath})` : ''}`
              : ''),
        );
        if (exhausted && readStats && readStats.valid === 0) throw noValidRowError(readStats);
      } catch (err) {
        // The abort a stop causes in the reader is the stop, not a failure.
        failed = !(stop.signal.aborted && (err as Error)?.name === 'AbortError');
        throw err;
      } finally {
        // The end of a replay seals the embedded log, and so does a failure: its readers end once
        // drained instead of waiting for a writer that is gone (a rerun resumes and opens it again).
        // A stop (Ctrl-C) does not: the replay goes on when it is started again.
        const stopped = stop.signal.aborted && !failed;
        await (stopped && isDurable(stream) ? stream.release() : stream.close()).catch((err: unknown) => {
          if (!failed) throw err;
        });
        await deadLetter?.close();
        stop.dispose();
      }
    });
}
