/**
 * Issue 16's live bug: catching up on a backlog of the embedded stream, a busy processor counted a
 * third of an in-order stream late. Two causes, both checked here over a real embedded stream and
 * StreamConsumer: the consumer served a backlogged first shard every turn, and the shard clock took
 * a shard whose batches came slowly (more than idleShardMs apart) for an idle one and moved the
 * watermark past its events. Wall time is a fake clock the reader wrapper moves, so nothing here
 * depends on the machine's speed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Alert } from '../../src/core/alert.js';
import { encodeRecord } from '../../src/core/codec.js';
import { DEFAULT_CONFIG } from '../../src/core/config.js';
import type { ClickEvent } from '../../src/core/event.js';
import { runProcessor } from '../../src/pipeline/processor.js';
import { runSimulator } from '../../src/pipeline/simulator.js';
import { StreamConsumer } from '../../src/streams/consumer.js';
import { openEmbeddedStream } from '../../src/streams/embedded/stream.js';
import type { ShardBatch, StreamReader } from '../../src/streams/types.js';
import { sleep } from '../../src/core/sleep.js';
import { ev } from '../helpers/events.js';

const REFERENCE_ONLY = { ...DEFAULT_CONFIG.detect, reference: true, rules: [] };
const IDLE = 2000;
const NAME = 'slow-shard';

/** 20 minutes in event-time order over 60 categories (all 4 shards); users 7 and 8 burst now and then. */
function traffic(): ClickEvent[] {
  const out: ClickEvent[] = [];
  for (let s = 0; s < 1200; s++) {
    for (let u = 0; u < 10; u++) {
      out.push(
        ev(100 + ((s * 10 + u) % 300), s * 1000 + u, {
          category_id: String(2053013555631882000n + BigInt((s + u) % 60)),
        }),
      );
    }
    if (s % 97 === 0) for (let i = 0; i < 8; i++) out.push(ev(7 + (s % 2), s * 1000 + 20 + i * 50));
  }
  return out;
}

async function* chunks(events: ClickEvent[], size = 500): AsyncIterable<ClickEvent[]> {
  for (let i = 0; i < events.length; i += size) yield events.slice(i, i + size);
}

/**
 * The consumer's batches, with the fake wall clock moved on by more than idleShardMs before each
 * batch of `slow`: its reads are slow, it still has records. (Without the consumer's caughtUp,
 * the clock's old rule, such a shard was taken for idle and its events counted late; how many
 * depends on the order reads come back, so only the fix is tested.)
 */
function slowShard(inner: StreamConsumer, slow: string, clock: { t: number }) {
  const reader: StreamReader = {
    name: inner.name,
    shardIds: () => inner.shardIds(),
    async *batches(signal?: AbortSignal): AsyncIterable<ShardBatch> {
      for await (const b of inner.batches(signal)) {
        clock.t += b.shardId === slow ? IDLE + 1 : 10;
        yield b;
      }
    },
    caughtUp: (id) => inner.caughtUp(id),
  };
  return reader;
}

function alertStore() {
  const alerts: Alert[] = [];
  return {
    alerts,
    put: async (a: Alert[]) => {
      alerts.push(...a);
      return a;
    },
  };
}

describe('a slow shard of a backlog', () => {
  let dir: string;
  const events = traffic();
  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sp-slow-shard-'));
    const stream = await openEmbeddedStream({
      dir,
      name: NAME,
      mode: 'write',
      shards: 4,
      durability: 'none',
    });
    await runSimulator({ events: chunks(events), stream });
    await stream.close(); // sealed: readers end once drained
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function run() {
    const stream = await openEmbeddedStream({ dir, name: NAME, mode: 'read' });
    try {
      const consumer = await StreamConsumer.open({ stream, consumer: 'test', batchLimit: 400 });
      const clock = { t: 0 };
      const shards = (await stream.listShards()).map((s) => s.shardId);
      const store = alertStore();
      const stats = await runProcessor({
        reader: slowShard(consumer, shards[1]!, clock),
        detect: REFERENCE_ONLY,
        store: store as never,
        now: () => clock.t,
        idleShardMs: IDLE,
      });
      return { stats, ids: store.alerts.map((a) => a.id).sort() };
    } finally {
      await stream.release();
    }
  }

  it('holds the watermark for it while it has records: nothing late, the alerts of an in-order run', async () => {
    const store = alertStore();
    const inOrder = await runProcessor({
      reader: {
        name: 'in-order',
        shardIds: () => ['one'],
        async *batches() {
          yield {
            shardId: 'one',
            records: events.map((e, i) => ({
              shardId: 'one',
              sequenceNumber: String(i + 1),
              partitionKey: 'k',
              data: encodeRecord(e),
              arrivalTime: 0,
            })),
          };
        },
      },
      detect: REFERENCE_ONLY,
      store: store as never,
    });
    expect(inOrder.newAlerts).toBeGreaterThan(5);

    const { stats, ids } = await run();
    expect(stats.events).toBe(events.length);
    expect(stats.detector.late).toBe(0);
    expect(ids).toEqual(store.alerts.map((a) => a.id).sort());
  });

  it('is served in turn with the other shards, not after a backlogged first shard', async () => {
    const stream = await openEmbeddedStream({ dir, name: NAME, mode: 'read' });
    try {
      const consumer = await StreamConsumer.open({ stream, consumer: 'turns', batchLimit: 100 });
      const order: string[] = [];
      for await (const b of consumer.batches()) {
        order.push(b.shardId);
        if (order.length === 8) break;
        // Processing time: every shard's next read is ready when the consumer picks again.
        await sleep(100);
      }
      expect(new Set(order).size).toBe(4);
    } finally {
      await stream.release();
    }
  });

  it('serves first, when asked, the ready shard that holds the watermark back', async () => {
    const stream = await openEmbeddedStream({ dir, name: NAME, mode: 'read' });
    try {
      const consumer = await StreamConsumer.open({ stream, consumer: 'ranked', batchLimit: 100 });
      const behind = (await stream.listShards())[2]!.shardId;
      consumer.rankShards((id) => (id === behind ? 0 : 1));
      const order: string[] = [];
      for await (const b of consumer.batches()) {
        order.push(b.shardId);
        if (order.length === 6) break;
        await sleep(100);
      }
      // The first read of every shard comes back at once; from then on the ranked one wins each turn.
      expect(order.slice(-3)).toEqual([behind, behind, behind]);
    } finally {
      await stream.release();
    }
  });
});
