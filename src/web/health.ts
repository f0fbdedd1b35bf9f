/**
 * Pipeline health for the dashboard: stream 1's consumer lag per shard, dead letters, late events,
 * the notification backlog and the journey writer's progress. Read from the data folder, so it works
 * beside a `storepulse process` in another process; the demo, whose stream lives in memory, gives its
 * own lag and late count (`InProcess`).
 */
import { open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { describeStream } from '../streams/lag.js';
import { openDurableStream, parseStreamUri, type StreamPlace } from '../streams/uri.js';
import type { DataSources } from './sources.js';

export interface StreamLag {
  source: string;
  shards: { shardId: string; lagRecords: number | null }[];
  /** When the consumer last checkpointed; null for an in-process stream. */
  checkpointAt: string | null;
}

export interface PipelineHealth {
  at: string;
  /** Null until stream 1 and its consumer's checkpoint exist. */
  lag: StreamLag | null;
  deadLetters: number;
  late: {
    /** Events behind the watermark, counted and not applied by detection; null when not known here. */
    detector: number | null;
    /** Events for a journey minute already final. */
    journey: number | null;
  };
  outbox: { pending: number; delivered: number; dead: number; oldestPendingAgeMs: number | null } | null;
  journey: { events: number; newest: string | null; updatedAt: string } | null;
}

/** What only the process that runs the pipeline knows. */
export interface InProcess {
  lag(): StreamLag;
  lateEvents(): number;
}

/** Stream 1 in the data folder and the consumer whose lag is shown. */
export interface StreamSource {
  uri: string;
  place: StreamPlace;
  consumer: string;
}

export class PipelineHealthReader {
  private readonly deadLetterLines = new Map<string, { size: number; lines: number }>();

  constructor(
    private readonly sources: DataSources,
    private readonly stream: StreamSource | InProcess,
  ) {}

  async read(now = Date.now()): Promise<PipelineHealth> {
    const journeyStatus = await this.sources.journey()?.status();
    const outbox = await this.sources.outbox()?.stats(now);
    const inProcess = 'lateEvents' in this.stream ? this.stream : undefined;
    return {
      at: new Date(now).toISOString(),
      lag: inProcess ? inProcess.lag() : await this.streamLag(this.stream as StreamSource),
      deadLetters: await this.countDeadLetters(),
      late: {
        detector: inProcess ? inProcess.lateEvents() : null,
        journey: journeyStatus?.stats.tooLate ?? null,
      },
      outbox: outbox
        ? {
            pending: outbox.pending,
            delivered: outbox.delivered,
            dead: outbox.dead,
            oldestPendingAgeMs: outbox.oldestPendingAgeMs,
          }
        : null,
      journey: journeyStatus
        ? {
            events: journeyStatus.stats.events,
            newest:
              journeyStatus.stats.newest === null ? null : new Date(journeyStatus.stats.newest).toISOString(),
            updatedAt: new Date(journeyStatus.updatedAt).toISOString(),
          }
        : null,
    };
  }

  private async streamLag(s: StreamSource): Promise<StreamLag | null> {
    const uri = parseStreamUri(s.uri, 'serve');
    if (uri.kind === 'pipe') return null;
    let stream;
    try {
      stream = await openDurableStream(uri, s.place, 'read');
    } catch {
      return null; // Not created yet: the next read tries again.
    }
    try {
      const c = (await describeStream(s.uri, stream)).consumers.find((x) => x.consumer === s.consumer);
      return c ? { source: s.uri, shards: c.shards, checkpointAt: c.updatedAt } : null;
    } finally {
      await stream.release();
    }
  }

  /** Dead-letter records (NDJSON lines) in the data folder, reading only what was appended since. */
  private async countDeadLetters(): Promise<number> {
    const dir = this.sources.deadLetterDir;
    const names = await readdir(dir).catch(() => [] as string[]);
    let total = 0;
    for (const name of names.filter((n) => n.endsWith('.ndjson'))) {
      const file = path.join(dir, name);
      const seen = this.deadLetterLines.get(file) ?? { size: 0, lines: 0 };
      const size = (await stat(file).catch(() => undefined))?.size ?? 0;
      if (size > seen.size) {
        const fd = await open(file, 'r');
        try {
          const buf = Buffer.alloc(64 * 1024);
          for (let at = seen.size; at < size;) {
            const { bytesRead } = await fd.read(buf, 0, Math.min(buf.length, size - at), at);
            if (bytesRead === 0) break;
            for (let i = 0; i < bytesRead; i++) if (buf[i] === 10) seen.lines++;
            at += bytesRead;
          }
        } finally {
          await fd.close();
        }
        seen.size = size;
        this.deadLetterLines.set(file, seen);
      }
      total += seen.lines;
    }
    return total;
  }
}
