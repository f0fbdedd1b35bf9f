import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../src/core/config.js';
import type { ClickEvent } from '../../src/core/event.js';
import { ConsoleNotifier } from '../../src/notify/console/notifier.js';
import { Outbox } from '../../src/notify/outbox.js';
import { runProcessor } from '../../src/pipeline/processor.js';
import { runSimulator } from '../../src/pipeline/simulator.js';
import { createMemoryDeadLetter } from '../../src/sources/deadletter.js';
import { SqliteAlertStore } from '../../src/stores/sqlite/alert-store.js';
import { MemoryStream } from '../../src/streams/memory/stream.js';
import { ev } from '../helpers/events.js';

async function* batches(events: ClickEvent[], size = 100): AsyncIterable<ClickEvent[]> {
  for (let i = 0; i < events.length; i += size) yield events.slice(i, i + size);
}

/** 10 minutes of traffic: 200 calm users, user 7 bursts 8 times at 12:00, user 8 bursts 20 times. */
function traffic(): ClickEvent[] {
  const out: ClickEvent[] = [];
  for (let s = 0; s < 600; s++) {
    for (let u = 0; u < 3; u++)
      out.push(
        ev(100 + ((s * 3 + u) % 200), s * 1000 + u, {
          category_id: String(2053013555631882000n + BigInt(s % 50)),
        }),
      );
    if (s === 120) for (let i = 0; i < 8; i++) out.push(ev(7, s * 1000 + 10 + i * 50));
    if (s === 300) for (let i = 0; i < 20; i++) out.push(ev(8, s * 1000 + 10 + i * 20));
  }
  return out;
}

/** The reference rule alone: these tests check its alerts exactly. */
const REFERENCE_ONLY = { ...DEFAULT_CONFIG.detect, reference: true, rules: [] };

describe('simulate → stream → process', () => {
  let dir: string;
  let store: SqliteAlertStore;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'sp-pipe-'));
    store = new SqliteAlertStore(path.join(dir, 'alerts.sqlite'));
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('carries every event to the sink, stamps txn_timestamp, alerts the bursting users once', async () => {
    const events = traffic();
    const stream = new MemoryStream({ shards: 4, highWaterMark: 500 });
    const lake: { event: ClickEvent; shard?: string; seq?: string }[] = [];
    const notes: string[] = [];
    const notifier = new ConsoleNotifier({
      write: (s: string) => notes.push(s),
    } as unknown as NodeJS.WritableStream);
    const outbox = new Outbox({ file: path.join(dir, 'outbox.sqlite'), notifiers: [notifier] });
    outbox.start();
    const processing = runProcessor({
      reader: stream,
      detect: REFERENCE_ONLY,
      store,
      outbox,
      lake: { write: async (r) => void lake.push(...r), seal: async () => undefined },
    });
    const sim = await runSimulator({ events: batches(events), stream });
    await stream.close();
    const stats = await processing;
    await outbox.close({ drainMs: 5000 });

    expect(sim.sent).toBe(events.length);
    expect(Object.keys(sim.shards).length).toBe(4);
    expect(stats).toMatchObject({
      records: events.length,
      events: events.length,
      rejected: 0,
      newAlerts: 2,
      notified: 1,
    });
    expect(stats.detector.late).toBe(0);
    expect(lake).toHaveLength(events.length);
    expect(
      lake.every((r) => r.event.txn_timestamp !== undefined && r.seq && r.shard?.startsWith('shardId-')),
    ).toBe(true);
    expect(new Set(lake.map((r) => r.event.category_id)).has('2053013555631882049')).toBe(true);
    const alerts = await store.list();
    expect(alerts.map((a) => [a.user_id, a.count, a.severity]).sort()).toEqual([
      [7, 8, 'medium'],
      [8, 20, 'high'],
    ]);
    expect(notes.join('')).toMatch(/\[HIGH\] reference-user-rate: user 8 made 20 actions/);
  });

  it('replaying the same input adds no alert and notifies nobody', async () => {
    const notifier = new ConsoleNotifier({ write: () => true } as unknown as NodeJS.WritableStream);
    const outbox = new Outbox({ file: path.join(dir, 'outbox.sqlite'), notifiers: [notifier] });
    const run = async () => {
      const stream = new MemoryStream({ shards: 2 });
      const p = runProcessor({ reader: stream, detect: REFERENCE_ONLY, store, outbox });
      await runSimulator({ events: batches(traffic()), stream });
      await stream.close();
      return p;
    };
    expect(await run()).toMatchObject({ newAlerts: 2, notified: 1 });
    expect(await run()).toMatchObject({ alerts: 2, newAlerts: 0, notified: 0 });
    await outbox.close();
  });

  it('detects on events in time order even when each shard arrives in one long run', async () => {
    // User 7 bursts 30 times in 6 s over 10 categories (so over every shard), then browses on slowly
    // for an hour. Read shard by shard, the burst would be split across runs an hour long.
    const events: ClickEvent[] = [];
    const category = (i: number) => String(2053013555631882000n + BigInt(i % 10));
    for (let i = 0; i < 30; i++) events.push(ev(7, 60_000 + i * 200, { category_id: category(i) }));
    for (let s = 0; s < 3600; s += 30) events.push(ev(7, 70_000 + s * 1000, { category_id: category(s) }));
    for (let s = 0; s < 3700; s++)
      events.push(ev(100 + (s % 50), s * 1000 + 500, { category_id: category(s) }));
    events.sort((a, b) => a.event_time - b.event_time);
    const stream = new MemoryStream({ shards: 4 });
    await runSimulator({ events: batches(events, 5000), stream });
    await stream.close();
    const stats = await runProcessor({ reader: stream, detect: DEFAULT_CONFIG.detect, store });
    expect(stats.detector.late).toBe(0);
    const alerts = await store.list();
    expect(alerts.map((a) => [a.rule, a.user_id])).toContainEqual(['user-rate', 7]);
  });

  it('dead-letters records that do not decode and goes on', async () => {
    const stream = new MemoryStream({ shards: 1 });
    const deadLetter = createMemoryDeadLetter();
    const p = runProcessor({ reader: stream, detect: REFERENCE_ONLY, store, deadLetter });
    await stream.putRecords([
      { partitionKey: 'a', data: '{"event_time":"nope"}' },
      { partitionKey: 'a', data: 'garbage' },
    ]);
    await runSimulator({ events: batches([ev(1, 0)]), stream });
    await stream.close();
    expect(await p).toMatchObject({ records: 3, events: 1, rejected: 2 });
    expect(deadLetter.records.map((r) => [r.source, r.line, r.reason, r.raw])).toEqual([
      ['memory/shardId-000000000000', 1, 'bad_event_time', '{"event_time":"nope"}'],
      ['memory/shardId-000000000000', 2, 'field_count', 'garbage'],
    ]);
  });
});

describe('simulator pacing', () => {
  it('--rate spreads events over wall time', async () => {
    const stream = new MemoryStream({ shards: 1 });
    const drain = (async () => {
      for await (const _ of stream.batches());
    })();
    const events = Array.from({ length: 40 }, (_, i) => ev(1, i));
    const sim = await runSimulator({
      events: batches(events, 40),
      stream,
      pace: { mode: 'rate', eventsPerSecond: 200 },
    });
    await stream.close();
    await drain;
    // 40 events at 200/s is 195 ms for the last one to be due; allow the timer some slack either way.
    expect(sim.seconds).toBeGreaterThanOrEqual(0.15);
    expect(sim.sent).toBe(40);
  });

  it('--speed replays event time faster, and --max/limit stop early', async () => {
    const stream = new MemoryStream({ shards: 1 });
    const drain = (async () => {
      for await (const _ of stream.batches());
    })();
    const events = Array.from({ length: 5 }, (_, i) => ev(1, i * 1000)); // 4 s of event time
    const sim = await runSimulator({ events: batches(events), stream, pace: { mode: 'speed', factor: 20 } });
    expect(sim.seconds).toBeGreaterThanOrEqual(0.15);
    const limited = await runSimulator({ events: batches(events), stream, limit: 3 });
    expect(limited.sent).toBe(3);
    await stream.close();
    await drain;
  });
});
