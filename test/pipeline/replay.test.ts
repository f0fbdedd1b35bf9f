/**
 * The lake replay (src/streams/lake/stream.ts) over real Parquet files written by the lake writer:
 * exact events, day after day in event-time order with stable ties, range selection, clear errors,
 * bad rows to the dead letters, and the same alerts as the run that filled the lake.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeRecord } from '../../src/core/codec.js';
import { DEFAULT_CONFIG } from '../../src/core/config.js';
import type { ClickEvent } from '../../src/core/event.js';
import { StorepulseError } from '../../src/core/errors.js';
import { isRejection } from '../../src/core/row.js';
import type { LakeRecord } from '../../src/lake/schema.js';
import { LakeWriter } from '../../src/lake/writer.js';
import { runProcessor } from '../../src/pipeline/processor.js';
import { runSimulator } from '../../src/pipeline/simulator.js';
import { createMemoryDeadLetter } from '../../src/sources/deadletter.js';
import { SqliteAlertStore } from '../../src/stores/sqlite/alert-store.js';
import { LAKE_SHARD, LakeReader, type LakeReplayOptions } from '../../src/streams/lake/stream.js';
import { MemoryStream } from '../../src/streams/memory/stream.js';
import { parseSourceUri } from '../../src/streams/uri.js';
import { ev } from '../helpers/events.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'sp-replay-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const at = (iso: string) => Date.parse(iso);

/** Writes the records to a new lake, one file set per group (so a day spans several files). */
async function lakeOf(...groups: LakeRecord[][]): Promise<string> {
  const lakeDir = path.join(tempDir(), 'lake');
  const w = await LakeWriter.open({ lakeDir });
  for (const g of groups) {
    await w.write(g);
    await w.flush();
  }
  await w.close();
  return lakeDir;
}

/** Everything a replay hands out, decoded. */
async function replay(opts: Omit<LakeReplayOptions, 'tmpDir'>) {
  const reader = await LakeReader.open({ ...opts, tmpDir: tempDir() });
  const records = [];
  for await (const b of reader.batches()) {
    expect(b.shardId).toBe(LAKE_SHARD);
    records.push(...b.records);
  }
  const events = records.map((r) => decodeRecord(r.data) as ClickEvent);
  return { reader, records, events };
}

const BIG = '2053013555631882655'; // above 2^53: must come back as the same digits
const e = (iso: string, over: Partial<ClickEvent> = {}): ClickEvent => ({
  ...ev(541312140, 0),
  event_time: at(iso),
  category_id: BIG,
  ...over,
});

describe('lake replay', () => {
  it('gives back every event exactly, day after day in event-time order, ties by shard and sequence', async () => {
    const t = '2019-10-02T08:00:00.000Z';
    // Written out of order, over three days and two file sets; ties at `t` across shards and files.
    const first: LakeRecord[] = [
      { event: e('2019-10-03T00:00:00.000Z', { price: 0 }), shard: 'shardId-000000000000', seq: '7' },
      { event: e(t, { user_id: 3 }), shard: 'shardId-000000000001', seq: '10' },
      { event: e('2019-10-01T23:59:59.999Z', { price: 1234567.89, brand: null, category_code: null }) },
      { event: e(t, { user_id: 1 }), shard: 'shardId-000000000000', seq: '100' },
    ];
    const second: LakeRecord[] = [
      { event: e(t, { user_id: 2 }), shard: 'shardId-000000000001', seq: '9' },
      { event: e(t, { user_id: 4 }) }, // loaded from a file: no shard, after the stream's at the same instant
      {
        event: e('2019-10-02T07:59:59.123Z', {
          price: 0.1,
          event_type: 'cart',
          user_session: null,
          txn_timestamp: at('2026-11-28T03:00:00.456Z'),
        }),
        shard: 'shardId-000000000002',
        seq: '49590338271490256608559692538361571095921575989136588898',
      },
    ];
    const lakeDir = await lakeOf(first, second);
    const { reader, records, events } = await replay({ lakeDir });

    expect(reader.days).toEqual(['2019-10-01', '2019-10-02', '2019-10-03']);
    expect(reader.total).toBe(7);
    expect(records.map((r) => r.sequenceNumber)).toEqual(['1', '2', '3', '4', '5', '6', '7']);
    const byTime = [...first, ...second].map((r) => r.event);
    expect(events).toEqual([
      byTime[2], // 10-01
      byTime[6], // 10-02 07:59:59.123, with its txn_timestamp
      byTime[3], // t, shard 0
      byTime[4], // t, shard 1 seq 9 (before 10: sequence numbers compare as numbers)
      byTime[1], // t, shard 1 seq 10
      byTime[5], // t, no shard
      byTime[0], // 10-03
    ]);
    expect(events[1]!.txn_timestamp).toBe(at('2026-11-28T03:00:00.456Z'));
    expect(events[0]!.category_id).toBe(BIG);
    expect(events.map((x) => x.price)).toEqual([1234567.89, 0.1, 100.5, 100.5, 100.5, 100.5, 0]);

    // Two replays of the same lake are the same, record for record.
    expect((await replay({ lakeDir })).records.map((r) => r.data)).toEqual(records.map((r) => r.data));
  });

  it('orders each day by txn_timestamp when detection windows on it', async () => {
    const lakeDir = await lakeOf([
      { event: e('2019-10-01T10:00:00.000Z', { user_id: 1, txn_timestamp: at('2026-01-01T00:00:02Z') }) },
      { event: e('2019-10-01T10:00:01.000Z', { user_id: 2, txn_timestamp: at('2026-01-01T00:00:01Z') }) },
    ]);
    const { events } = await replay({ lakeDir, timeField: 'txn_timestamp' });
    expect(events.map((x) => x.user_id)).toEqual([2, 1]);
  });

  it('replays the days of a range only, and says what the lake holds when the range has none', async () => {
    const lakeDir = await lakeOf(
      ['2019-09-30', '2019-10-01', '2019-10-02', '2019-10-31', '2019-11-01'].map((d) => ({
        event: e(`${d}T12:00:00.000Z`),
      })),
    );
    const days = async (from?: string, to?: string) => (await replay({ lakeDir, from, to })).reader.days;
    expect(await days('2019-10-01', '2019-10-31')).toEqual(['2019-10-01', '2019-10-02', '2019-10-31']);
    expect(await days('2019-10-02')).toEqual(['2019-10-02', '2019-10-31', '2019-11-01']);
    expect(await days(undefined, '2019-10-01')).toEqual(['2019-09-30', '2019-10-01']);
    const { events } = await replay({ lakeDir, from: '2019-10-02', to: '2019-10-02' });
    expect(events.map((x) => new Date(x.event_time).toISOString())).toEqual(['2019-10-02T12:00:00.000Z']);

    const none = LakeReader.open({ lakeDir, from: '2019-10-03', to: '2019-10-30', tmpDir: tempDir() });
    await expect(none).rejects.toThrow(
      /no events from 2019-10-03 to 2019-10-30: it holds 2019-09-30..2019-11-01/,
    );
  });

  it('refuses an empty lake with a clear error', async () => {
    const lakeDir = path.join(tempDir(), 'lake');
    const err = await LakeReader.open({ lakeDir, tmpDir: tempDir() }).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(StorepulseError);
    expect((err as StorepulseError).code).toBe('STATE');
    expect((err as Error).message).toMatch(/lake at .* has no data yet/);
  });

  it('sends a row that breaks the data contract to the dead letters and goes on', async () => {
    // A price above DECIMAL(12,2) is stored as NULL: the row is no valid event any more.
    const lakeDir = await lakeOf([
      { event: e('2019-10-01T10:00:00.000Z', { user_id: 1 }) },
      { event: e('2019-10-01T10:00:01.000Z', { user_id: 2, price: 2e10 }) },
      { event: e('2019-10-01T10:00:02.000Z', { user_id: 3 }) },
    ]);
    const deadLetter = createMemoryDeadLetter();
    const reader = await LakeReader.open({ lakeDir, tmpDir: tempDir() });
    const store = new SqliteAlertStore(path.join(tempDir(), 'alerts.sqlite'));
    const stats = await runProcessor({ reader, detect: DEFAULT_CONFIG.detect, store, deadLetter });
    await store.close();
    expect(stats).toMatchObject({ records: 3, events: 2, rejected: 1 });
    expect(deadLetter.records).toHaveLength(1);
    expect(deadLetter.records[0]).toMatchObject({
      source: `lake/${LAKE_SHARD}`,
      line: 2,
      reason: 'bad_price',
    });
    const raw = JSON.parse(deadLetter.records[0]!.raw) as Record<string, unknown>;
    expect(isRejection(decodeRecord(deadLetter.records[0]!.raw))).toBe(true);
    expect(raw).toMatchObject({ user_id: 2, price: null, category_id: BIG });
  });

  it('fires the same alerts as the run that wrote the lake from the stream', async () => {
    // 20 minutes of traffic on 40 categories (every shard), with bursts the default rules catch.
    const events: ClickEvent[] = [];
    const category = (i: number) => String(2053013555631882000n + BigInt(i % 40));
    for (let s = 0; s < 1200; s++) {
      for (let u = 0; u < 4; u++)
        events.push(ev(100 + ((s * 4 + u) % 300), s * 1000 + u * 200, { category_id: category(s + u) }));
      if (s % 200 === 50) {
        for (let i = 0; i < 40; i++)
          events.push(
            ev(7 + s, s * 1000 + 10 + i * 20, {
              category_id: category(i),
              event_type: i % 2 ? 'cart' : 'view',
            }),
          );
      }
    }
    events.sort((a, b) => a.event_time - b.event_time);
    const dir = tempDir();
    const lakeDir = path.join(dir, 'lake');
    const live = new SqliteAlertStore(path.join(dir, 'live.sqlite'));
    const replayed = new SqliteAlertStore(path.join(dir, 'replay.sqlite'));
    try {
      // Read in small batches, as by a consumer that keeps up: the watermark moves on as events come.
      const stream = new MemoryStream({ shards: 4, maxBatch: 4, highWaterMark: 1000 });
      const lake = await LakeWriter.open({ lakeDir });
      const processing = runProcessor({ reader: stream, detect: DEFAULT_CONFIG.detect, store: live, lake });
      await runSimulator({
        events: (async function* () {
          for (let i = 0; i < events.length; i += 500) yield events.slice(i, i + 500);
        })(),
        stream,
      });
      await stream.close();
      const first = await processing;
      await lake.close();

      const reader = await LakeReader.open({ lakeDir, tmpDir: dir });
      const again = await runProcessor({ reader, detect: DEFAULT_CONFIG.detect, store: replayed });
      expect(first.detector.late).toBe(0);
      expect(again).toMatchObject({ records: events.length, events: events.length, lakeRows: 0 });
      expect(again.detector.late).toBe(0);
      const key = (a: { id: string; rule: string; key: string; count: number; window_start: string }) =>
        `${a.id} ${a.rule} ${a.key} ${a.count} ${a.window_start}`;
      const was = (await live.list()).map(key).sort();
      expect(was.length).toBeGreaterThan(5);
      expect((await replayed.list()).map(key).sort()).toEqual(was);
    } finally {
      await live.close();
      await replayed.close();
    }
  });
});

describe('lake URIs', () => {
  const parse = (uri: string) => parseSourceUri(uri, '--from');

  it('takes every day, a day, a month and ranges with open ends, and another data folder', () => {
    expect(parse('lake://')).toEqual({ kind: 'lake' });
    expect(parse('lake://2019-10-01')).toEqual({ kind: 'lake', from: '2019-10-01', to: '2019-10-01' });
    expect(parse('lake://2020-02')).toEqual({ kind: 'lake', from: '2020-02-01', to: '2020-02-29' });
    expect(parse('lake://2019-10..2019-11-15')).toEqual({
      kind: 'lake',
      from: '2019-10-01',
      to: '2019-11-15',
    });
    expect(parse('lake://2019-12..')).toEqual({ kind: 'lake', from: '2019-12-01' });
    expect(parse('lake://..2019-12')).toEqual({ kind: 'lake', to: '2019-12-31' });
    expect(parse('lake://2019-10?data-dir=../live%20data')).toEqual({
      kind: 'lake',
      from: '2019-10-01',
      to: '2019-10-31',
      dataDir: '../live data',
    });
    expect(parse('embedded://s1')).toEqual({ kind: 'embedded', name: 's1' });
  });

  it('refuses anything else as a usage error that names the accepted forms', () => {
    for (const [uri, why] of [
      ['lake://2019-13', /2019-13 is not a date/],
      ['lake://2019-02-29', /2019-02-29 is not a date/],
      ['lake://0019-01-01', /0019-01-01 is not a date/],
      ['lake://2019-10-05..2019-10-01', /2019-10-05 is after 2019-10-01/],
      ['lake://yesterday', /"yesterday" is neither a day \(YYYY-MM-DD\) nor a month/],
      ['lake://2019-1-1', /neither a day/],
      ['lake://..', /bad range/],
      ['lake://2019-10-01..2019-10-02..2019-10-03', /bad range/],
      ['lake://?dir=x', /unknown parameter dir/],
      ['lake://?data-dir=', /give data-dir once, with a folder/],
      ['lake://?data-dir=a&data-dir=b', /give data-dir once/],
      ['lake:2019-10-01', /not a lake URI/],
    ] as const) {
      const err = (() => {
        try {
          parse(uri);
        } catch (x) {
          return x;
        }
      })();
      expect(err, uri).toBeInstanceOf(StorepulseError);
      expect((err as StorepulseError).code, uri).toBe('USAGE');
      expect((err as Error).message, uri).toMatch(why);
      expect((err as Error).message, uri).toMatch(/use lake:\/\/ \(all days\), lake:\/\/DAY, lake:\/\/MONTH/);
    }
    // A stream URI that is wrong names the lake's forms too, since --from takes both.
    expect(() => parse('lakes://x')).toThrow(/unknown scheme lakes; use '-'.*or lake:\/\/ \(all days\)/);
  });
});
