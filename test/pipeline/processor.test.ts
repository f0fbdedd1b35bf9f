/**
 * runProcessor's wiring of its units over a scripted reader (batch boundaries chosen by the test);
 * the units are tested on their own beside this file, the whole pipeline in simulator-processor.
 */
import { describe, expect, it } from 'vitest';
import type { Alert } from '../../src/core/alert.js';
import { encodeRecord } from '../../src/core/codec.js';
import { DEFAULT_CONFIG } from '../../src/core/config.js';
import type { LakeRecord } from '../../src/lake/schema.js';
import { runProcessor } from '../../src/pipeline/processor.js';
import type { AlertStore } from '../../src/stores/types.js';
import type { ShardBatch, StreamReader } from '../../src/streams/types.js';
import { ev } from '../helpers/events.js';

const A = 'shardId-000000000000';
const REFERENCE_ONLY = { ...DEFAULT_CONFIG.detect, reference: true, rules: [] };

function reader(batches: ShardBatch[]): StreamReader {
  return {
    name: 'scripted',
    shardIds: () => [...new Set(batches.map((b) => b.shardId))],
    async *batches() {
      yield* batches;
    },
  };
}

/** A batch of shard A; a number is a valid event at that ms with that sequence number, a string is garbage. */
function batch(...items: (number | string)[]): ShardBatch {
  return {
    shardId: A,
    records: items.map((item, i) => ({
      shardId: A,
      sequenceNumber: typeof item === 'number' ? String(item) : `${item}${i}`,
      partitionKey: 'k',
      data: typeof item === 'number' ? encodeRecord(ev(1, item)) : item,
      arrivalTime: 0,
    })),
  };
}

function memoryStore(): AlertStore & { alerts: Alert[] } {
  const alerts: Alert[] = [];
  return {
    alerts,
    put: async (a) => {
      const fresh = a.filter((x) => !alerts.some((y) => y.id === x.id));
      alerts.push(...fresh);
      return fresh;
    },
    list: async () => alerts.map((a) => ({ ...a, acknowledged_at: null })),
    counts: async () => ({}) as never,
    alertedUsers: async () => [],
    acknowledge: async () => 0,
    mute: async () => undefined,
    mutes: async () => [],
    close: async () => undefined,
  };
}

function lakeLog() {
  const log: string[] = [];
  return {
    log,
    write: async (records: LakeRecord[]) => void log.push(`write ${records.map((r) => r.seq).join(',')}`),
    seal: async () => void log.push('seal'),
  };
}

describe('runProcessor', () => {
  it('does not land again what the lake holds, even past a batch of records that do not decode', async () => {
    const lake = lakeLog();
    const stats = await runProcessor({
      reader: reader([batch('garbage'), batch(2, 3), batch(4)]),
      detect: REFERENCE_ONLY,
      store: memoryStore(),
      lake,
      lakeHas: { [A]: '3' },
    });
    expect(lake.log).toEqual(['write 4']);
    expect(stats).toMatchObject({ records: 4, events: 3, rejected: 1, lakeRows: 1, lakeSkipped: 2 });
  });

  it('checkpoints after the lake sealed, with the state a restart resumes from', async () => {
    const lake = lakeLog();
    const saved: { state: string; positions: Record<string, string> }[] = [];
    let position = '';
    const batches = [batch(1000), batch(2000), batch(3000)];
    const tracked: StreamReader = {
      ...reader(batches),
      async *batches() {
        for (const b of batches) {
          position = b.records.at(-1)!.sequenceNumber;
          yield b;
        }
      },
    };
    const stats = await runProcessor({
      reader: tracked,
      detect: REFERENCE_ONLY,
      store: memoryStore(),
      lake,
      checkpoint: {
        to: {
          restoredState: undefined,
          handedOut: () => ({ [A]: position }),
          commit: async (state, positions) => {
            lake.log.push(`commit ${positions[A]}`);
            saved.push({ state, positions });
          },
        },
        everyRecords: 2,
      },
    });
    // Due after the second batch, and once more at the end of the input.
    expect(stats.checkpoints).toBe(2);
    // Detection goes on while a checkpoint is saved: the next write may come before its commit.
    expect(lake.log.filter((l) => l !== 'write 3000')).toEqual([
      'write 1000',
      'write 2000',
      'seal',
      'commit 2000',
      'seal',
      'commit 3000',
    ]);
    expect(lake.log.indexOf('write 3000')).toBeLessThan(lake.log.lastIndexOf('seal'));
    const last = JSON.parse(saved.at(-1)!.state) as { newest: Record<string, number>; pending: unknown[] };
    expect(last.newest).toEqual({ [A]: ev(1, 3000).event_time });
    expect(last.pending).toEqual([]);
  });

  it('releases a backlog of hundreds of thousands of events held for a silent shard at once', async () => {
    // Shard A's events wait for shard B, which speaks only after them: then all go to detection.
    const B = 'shardId-000000000001';
    const held = 300_000;
    const big: ShardBatch = {
      shardId: A,
      records: Array.from({ length: held }, (_, i) => ({
        shardId: A,
        sequenceNumber: String(i + 1),
        partitionKey: 'k',
        data: encodeRecord(ev(i % 5000, i)),
        arrivalTime: 0,
      })),
    };
    const late: ShardBatch = {
      shardId: B,
      records: [
        {
          shardId: B,
          sequenceNumber: '1',
          partitionKey: 'k',
          data: encodeRecord(ev(1, held + 60_000)),
          arrivalTime: 0,
        },
      ],
    };
    const stats = await runProcessor({
      reader: reader([big, late]),
      detect: REFERENCE_ONLY,
      store: memoryStore(),
    });
    expect(stats.events).toBe(held + 1);
    expect(stats.detector.events).toBe(held + 1);
  });
});
