import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Alert, alertId } from '../../src/core/alert.js';
import { SqliteAlertStore } from '../../src/stores/sqlite/alert-store.js';

function alert(user: number, windowStart: string, count: number): Alert {
  return {
    id: alertId('reference-user-rate', 'user', String(user), Date.parse(windowStart)),
    rule: 'reference-user-rate',
    severity: count > 10 ? 'high' : 'medium',
    key_type: 'user',
    key: String(user),
    user_id: user,
    window_start: windowStart,
    window_end: new Date(Date.parse(windowStart) + 10_000).toISOString(),
    count,
    score: count / 5,
    first_seen: windowStart,
    last_seen: windowStart,
    detected_event_time: windowStart,
    detected_at: '2026-11-27T00:00:00.000Z',
    evidence: { category_id: '2053013555631882655' },
  };
}

/** What only the SQLite store promises; the AlertStore contract itself is in conformance.test.ts. */
describe('SQLite alert store', () => {
  let dir: string;
  let store: SqliteAlertStore;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'sp-alerts-'));
    store = new SqliteAlertStore(path.join(dir, 'alerts.sqlite'), 'web-1');
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the reference DynamoDB item shape', async () => {
    await store.put([alert(541312140, '2019-10-01T00:00:10.000Z', 6)]);
    expect(store.referenceItems()).toEqual([
      {
        ddb_partition_key: 'userid#541312140#appserver#web-1',
        ddb_sort_key: Date.UTC(2019, 9, 1, 0, 0, 10) / 1000,
        num_actions_per_watermark: 6,
      },
    ]);
  });

  it('survives reopening', async () => {
    await store.put([alert(1, '2019-10-01T00:00:10.000Z', 7)]);
    await store.close();
    store = new SqliteAlertStore(path.join(dir, 'alerts.sqlite'));
    expect((await store.counts()).total).toBe(1);
  });
});
