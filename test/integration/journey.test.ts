/**
 * The live journey rollups agree with the batch reports on the same events: the demo replays
 * generated data (every attack profile), then `storepulse live --once --json` over the whole range is
 * checked against the SQL reports over the lake: exactly for counts and sums, within the HyperLogLog's
 * stated bound for distinct users and sessions, within the stated top-K bound for products.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ReportResult, runReport } from '../../src/batch/reports.js';
import type { JourneyFigures } from '../../src/core/journey/query.js';
import { generateCsv, storepulse } from '../helpers/cli.js';

let dir: string;
let dataDir: string;
let lake: string;

const rowsOf = (r: ReportResult, table: string) => r.tables.find((t) => t.name === table)!.rows;

function live(...args: string[]): JourneyFigures {
  const r = storepulse(['--data-dir', dataDir, 'live', '--once', '--json', ...args]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as JourneyFigures;
}

/** Whole range, hour grain, every key in the top lists. */
const whole = (...extra: string[]) =>
  live(
    '--from',
    '2000-01-01T00:00:00Z',
    '--to',
    '2100-01-01T00:00:00Z',
    '--grain',
    'hour',
    '--top',
    '100000',
    ...extra,
  );

function expectDistinct(estimate: number, exact: number, f: JourneyFigures): void {
  if (exact <= f.accuracy.distinctExactUpTo) expect(estimate).toBe(exact);
  else expect(Math.abs(estimate - exact)).toBeLessThanOrEqual(Math.ceil(f.accuracy.distinctError * exact));
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'sp-journey-'));
  dataDir = path.join(dir, 'data');
  lake = path.join(dataDir, 'lake');
  const csv = path.join(dir, 'events.csv');
  generateCsv(csv, 120_000, 21);
  const run = storepulse(['-q', '--data-dir', dataDir, 'demo', '--no-serve', '--dataset', csv]);
  expect(run.code, run.stderr).toBe(0);
}, 240_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('live journey rollups against the batch reports', () => {
  it('events, purchases, visitors and sessions per day equal unique_visitors', async () => {
    const days = rowsOf(await runReport('unique_visitors', lake), 'daily') as {
      day: string;
      unique_visitors: number;
      sessions: number;
      events: number;
      purchases: number;
    }[];
    expect(days.length).toBeGreaterThan(0);
    for (const d of days) {
      const from = `${d.day}T00:00:00Z`;
      const to = new Date(Date.parse(from) + 86_400_000).toISOString();
      const f = live('--from', from, '--to', to, '--grain', 'hour', '--top', '1');
      expect(f.range.final).toBe(true);
      expect(f.totals.events).toBe(d.events);
      expect(f.totals.purchase).toBe(d.purchases);
      expectDistinct(f.totals.users, d.unique_visitors, f);
      expectDistinct(f.totals.sessions, d.sessions, f);
    }
  });

  it('per brand views, carts, purchases and revenue equal brands_needing_marketing', async () => {
    const f = whole();
    const r = await runReport('brands_needing_marketing', lake, { limit: 100_000 });
    const flagged = rowsOf(r, 'flagged') as {
      brand: string;
      views: number;
      carts: number;
      purchases: number;
      revenue: number;
    }[];
    expect(flagged.length).toBeGreaterThan(0);
    const live = new Map(f.top.brands.views.map((b) => [b.key, b]));
    for (const b of flagged) {
      expect(live.get(b.brand), b.brand).toMatchObject({
        views: b.views,
        carts: b.carts,
        purchases: b.purchases,
        revenue: b.revenue,
      });
    }
    const [t] = rowsOf(r, 'thresholds') as { brands: number }[];
    // Brands with any event: every one of them has views in generated data.
    expect(f.top.brands.views.length).toBe(t!.brands);
  });

  it('per category events and purchases by hour of day equal top_categories', async () => {
    const r = await runReport('top_categories', lake, { limit: 100_000 });
    const rows = rowsOf(r, 'by_hour') as {
      hour_utc: number;
      category: string;
      events: number;
      purchases: number;
    }[];
    const byHour = new Map<number, typeof rows>();
    for (const row of rows) byHour.set(row.hour_utc, [...(byHour.get(row.hour_utc) ?? []), row]);
    // One day at each hour of day is enough to read the hour buckets back; the range covers them all.
    const f = whole();
    expect(f.series.length).toBeGreaterThan(0);
    for (const [hour, expected] of [...byHour].slice(0, 4)) {
      const days = f.series.filter((s) => new Date(s.start).getUTCHours() === hour).map((s) => s.start);
      const sum = new Map<string, { events: number; purchases: number }>();
      for (const start of days) {
        const to = new Date(Date.parse(start) + 3_600_000).toISOString();
        const h = live('--from', start, '--to', to, '--grain', 'hour', '--top', '100000');
        for (const c of h.top.categories.views) {
          const s = sum.get(c.key) ?? { events: 0, purchases: 0 };
          sum.set(c.key, { events: s.events + c.events, purchases: s.purchases + c.purchases });
        }
      }
      for (const e of expected)
        expect(sum.get(e.category), `${hour} ${e.category}`).toEqual({
          events: e.events,
          purchases: e.purchases,
        });
    }
  });

  it('the session funnel and cart abandonment equal session_funnel; totals and revenue are exact', async () => {
    const f = whole();
    const [b] = rowsOf(await runReport('session_funnel', lake), 'funnel') as {
      sessions: number;
      viewed: number;
      carted: number;
      purchased: number;
      with_purchase: number;
      sessions_with_cart: number;
      sessions_abandoned: number;
      abandoned_value: number;
    }[];
    expect(b!.sessions).toBeGreaterThan(1000);
    expect(f.funnel).toMatchObject({
      sessions: b!.sessions,
      viewed: b!.viewed,
      carted: b!.carted,
      purchased: b!.purchased,
      withPurchase: b!.with_purchase,
    });
    expect(f.abandonment).toMatchObject({
      sessionsWithCart: b!.sessions_with_cart,
      abandoned: b!.sessions_abandoned,
      value: b!.abandoned_value,
    });
    const [daily] = rowsOf(await runReport('unique_visitors', lake), 'daily') as { events: number }[];
    expect(f.totals.events).toBeGreaterThanOrEqual(daily!.events);
    expect(f.status!.tooLate).toBe(0);
    expect(f.status!.sessionsTooLate).toBe(0);
  });

  it('top products are within the stated bound; people + flagged = all; bots are counted apart', async () => {
    const all = whole();
    const people = whole('--traffic', 'people');
    const flagged = whole('--traffic', 'flagged');
    expect(people.totals.events + flagged.totals.events).toBe(all.totals.events);
    expect(people.funnel.sessions + flagged.funnel.sessions).toBe(all.funnel.sessions);
    // Generated attacks are there, and flagged: cart-stuffing bots abandon carts.
    expect(flagged.totals.events).toBeGreaterThan(0);
    expect(all.flagged.share).toBeGreaterThan(0);
    expect(flagged.abandonment.abandoned).toBeGreaterThan(0);
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    const rows = (
      await conn.runAndReadAll(`SELECT product_id::VARCHAR AS key, count(*)::INTEGER AS views
        FROM read_parquet('${lake}/events/*/*.parquet') WHERE event_type = 'view' GROUP BY 1`)
    ).getRowObjectsJS() as { key: string; views: number }[];
    conn.closeSync();
    db.closeSync();
    const exact = new Map(rows.map((r) => [r.key, r.views]));
    for (const grain of ['minute', 'hour']) {
      const top = live(
        '--from',
        '2000-01-01T00:00:00Z',
        '--to',
        '2100-01-01T00:00:00Z',
        '--grain',
        grain,
        '--top',
        '5',
      );
      const bound = top.accuracy.productsMaxError.views;
      expect(top.top.products.views).toHaveLength(5);
      for (const p of top.top.products.views) {
        expect(p.views).toBeLessThanOrEqual(exact.get(p.key)!);
        expect(exact.get(p.key)! - p.views).toBeLessThanOrEqual(bound);
      }
      // The true top product is listed.
      const best = Math.max(...exact.values());
      expect(exact.get(top.top.products.views[0]!.key)! + bound).toBeGreaterThanOrEqual(best);
    }
  });
});
