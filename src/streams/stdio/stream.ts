/**
 * NDJSON over a pipe: `storepulse simulate --to - | storepulse process --from -`. Each line is one
 * stream record body exactly as it would go to Kinesis. A pipe has one shard; the sequence number is
 * the line number.
 */
import type { Readable, Writable } from 'node:stream';
import type { PutEntry, PutResult, ShardBatch, StreamReader, StreamRecord, StreamWriter } from '../types.js';

const PIPE_SHARD = 'shardId-pipe';

export class PipeWriter implements StreamWriter {
  readonly name = 'stdout';
  private seq = 0;

  constructor(private readonly out: Writable = process.stdout) {}

  async putRecords(entries: readonly PutEntry[]): Promise<PutResult[]> {
    const results = entries.map(() => ({ shardId: PIPE_SHARD, sequenceNumber: String(++this.seq) }));
    const text = entries.map((e) => `${e.data}\n`).join('');
    if (!this.out.write(text)) {
      await new Promise<void>((resolve, reject) => {
        const onError = (err: Error) => reject(err);
        this.out.once('error', onError);
        this.out.once('drain', () => {
          this.out.off('error', onError);
          resolve();
        });
      });
    }
    return results;
  }

  async close(): Promise<void> {
    if (this.out === process.stdout) return;
    await new Promise<void>((resolve) => this.out.end(resolve));
  }
}

/** Longest line kept whole; a longer one is cut (and then fails to decode, landing in the dead letters). */
const MAX_LINE_CHARS = 1 << 20;

export class PipeReader implements StreamReader {
  readonly name = 'stdin';

  constructor(private readonly input: Readable = process.stdin) {}

  shardIds(): string[] {
    return [PIPE_SHARD];
  }

  /** One batch per chunk that arrives, so a slow producer is seen at once and a fast one in bulk. */
  async *batches(signal?: AbortSignal): AsyncIterable<ShardBatch> {
    this.input.setEncoding('utf8');
    let seq = 0;
    let rest = '';
    const toRecord = (line: string): StreamRecord => ({
      shardId: PIPE_SHARD,
      sequenceNumber: String(seq),
      partitionKey: '',
      data: line.endsWith('\r') ? line.slice(0, -1) : line,
      arrivalTime: Date.now(),
    });
    for await (const chunk of untilAborted(this.input, signal)) {
      const records: StreamRecord[] = [];
      let text = rest + chunk;
      let from = 0;
      let nl: number;
      while ((nl = text.indexOf('\n', from)) !== -1) {
        seq++;
        const line = text.slice(from, nl);
        from = nl + 1;
        if (line.trim() !== '') records.push(toRecord(line));
      }
      rest = text.slice(from);
      if (rest.length > MAX_LINE_CHARS) rest = rest.slice(0, MAX_LINE_CHARS);
      text = '';
      if (records.length > 0) yield { shardId: PIPE_SHARD, records };
    }
    if (signal?.aborted) return;
    if (rest.trim() !== '') {
      seq++;
      yield { shardId: PIPE_SHARD, records: [toRecord(rest)] };
    }
  }
}

/** The chunks of `input` until it ends or `signal` aborts; an abort stops the wait for the next chunk. */
async function* untilAborted(input: Readable, signal?: AbortSignal): AsyncGenerator<string> {
  const chunks = (input as AsyncIterable<string>)[Symbol.asyncIterator]();
  const aborted = new Promise<'aborted'>((resolve) => {
    if (signal?.aborted) resolve('aborted');
    signal?.addEventListener('abort', () => resolve('aborted'), { once: true });
  });
  try {
    while (true) {
      const next = await Promise.race([chunks.next(), aborted]);
      if (next === 'aborted' || next.done) return;
      yield next.value;
    }
  } finally {
    // Let go of the pipe so the process can exit even if the writer is still there.
    if (signal?.aborted) input.destroy();
  }
}
