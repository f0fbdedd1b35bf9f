import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chartTables,
  listReports,
  type ReportResult,
  runAllReports,
  runReport,
} from '../../src/batch/reports.js';
import type { ClickEvent, EventType } from '../../src/core/event.js';
import { LakeWriter } from '../../src/lake/writer.js';

const BIG = '2053013555631882655';
const root = mkdtempSync(path.join(os.tmpdir(), 'storepulse-reports-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Product {
  id: number;
  code: string | null;
  brand: string | null;
  price: number;
}
const P100: Product = { id: 100, code: 'electronics.smartphone', brand: 'samsung', price: 100 };
const P200: Product = { id: 200, code: null, brand: 'apple', price: 250.5 };
const P300: Product = { id: 300, code: 'computers.notebook', brand: 'acer', price: 99.99 };
const P400: Product = { id: 400, code: 'apparel.shoes', brand: 'nike', price: 10 };

function e(iso: string, type: EventType, user: number, session: string | null, p: Product): ClickEvent {
  return {
    event_time: Date.parse(iso),
    event_type: type,
    product_id: p.id,
    category_id: p.code ? `20530135556318826${p.id}` : BIG,
    category_code: p.code,
    brand: p.brand,
    price: p.price,
    user_id: user,
    user_session: session,
  };
}

/**
 * Two days (2019-10-01 is a Tuesday). u1 carts and buys in s1, carts again in s4 without buying;
 * u2 carts two products in s2 and never buys; u4 carts without a session and never buys;
 * u3 and u5 buy without carting.
 */
const SHOP: ClickEvent[] = [
  e('2019-10-01T10:00:00Z', 'view', 1, 's1', P100),
  e('2019-10-01T10:01:00Z', 'cart', 1, 's1', P100),
  e('2019-10-01T10:02:00Z', 'purchase', 1, 's1', P100),
  e('2019-10-01T10:05:00Z', 'view', 2, 's2', P200),
  e('2019-10-01T10:06:00Z', 'cart', 2, 's2', P200),
  e('2019-10-01T10:07:00Z', 'cart', 2, 's2', P300),
  e('2019-10-01T10:30:00Z', 'purchase', 5, 's7', P400),
  e('2019-10-01T11:00:00Z', 'view', 3, 's3', P100),
  e('2019-10-02T10:00:00Z', 'cart', 1, 's4', P300),
  e('2019-10-02T11:00:00Z', 'view', 2, 's5', P300),
  e('2019-10-02T11:30:00Z', 'cart', 4, null, P200),
  e('2019-10-02T11:45:00Z', 'purchase', 3, 's6', P300),
];

/** Brand views and purchases chosen so that only `alpha` is flagged (see the test). */
function brandEvents(): ClickEvent[] {
  const out: ClickEvent[] = [];
  const plan: [string | null, number, number, number][] = [
    ['alpha', 400, 7, 2],
    ['bravo', 300, 0, 15],
    ['charlie', 200, 0, 10],
    ['delta', 150, 0, 3],
    ['echo', 100, 0, 5],
    ['foxtrot', 50, 0, 0],
    [null, 500, 0, 50],
  ];
  let t = Date.parse('2019-10-05T00:00:00Z');
  let user = 1;
  for (const [brand, views, carts, purchases] of plan) {
    const p: Product = { id: 9, code: 'x.y', brand, price: 10.25 };
    const add = (type: EventType, n: number) => {
      for (let i = 0; i < n; i++)
        out.push(e(new Date((t += 1000)).toISOString(), type, user++, `b${user}`, p));
    };
    add('view', views);
    add('cart', carts);
    add('purchase', purchases);
  }
  return out;
}

async function lakeWith(name: string, events: ClickEvent[]): Promise<string> {
  const lakeDir = path.join(root, name, 'lake');
  const w = await LakeWriter.open({ lakeDir, flushRows: 1000 });
  await w.write(events.map((event) => ({ event })));
  await w.close();
  return lakeDir;
}

let shop: string;
let brands: string;
beforeAll(async () => {
  shop = await lakeWith('shop', SHOP);
  brands = await lakeWith('brands', brandEvents());
});

const table = (r: ReportResult, name: string) => r.tables.find((t) => t.name === name)!;

describe('reports', () => {
  it('lists the nine reports with the question each answers and what differs on Athena', () => {
    const reports = listReports();
    expect(reports.map((r) => r.name).sort()).toEqual([
      'brands_needing_marketing',
      'cart_abandonment',
      'conversion_funnel',
      'frequent_visitors',
      'revenue_by_category_brand',
      'sellers',
      'session_funnel',
      'top_categories',
      'unique_visitors',
    ]);
    for (const r of reports) {
      expect(r.title.length).toBeGreaterThan(10);
      expect(r.description).toMatch(/\?$/);
      expect(r.rule.length).toBeGreaterThan(10);
      expect(r.athena.length, r.name).toBeGreaterThan(10);
    }
    expect(reports.find((r) => r.name === 'sellers')!.defaults).toEqual({ top_n: 10 });
    expect(reports.find((r) => r.name === 'unique_visitors')!.defaults).toEqual({});
    expect(reports.find((r) => r.name === 'cart_abandonment')!.tables).toEqual(['summary', 'top_products']);
  });

  it('unique_visitors: visitors, sessions and events per day', async () => {
    const r = await runReport('unique_visitors', shop);
    expect(r.title).toBe('Unique visitors per day');
    expect(table(r, 'daily').rows).toEqual([
      { day: '2019-10-01', unique_visitors: 4, sessions: 4, events: 8, purchases: 2, events_per_visitor: 2 },
      { day: '2019-10-02', unique_visitors: 4, sessions: 3, events: 4, purchases: 1, events_per_visitor: 1 },
    ]);
  });

  it('cart_abandonment: counts, abandoned value and top products', async () => {
    const r = await runReport('cart_abandonment', shop);
    expect(table(r, 'summary').rows).toEqual([
      {
        users_with_cart: 3,
        users_abandoning: 2,
        user_abandonment_rate: 0.6667,
        sessions_with_cart: 3,
        sessions_abandoned: 2,
        session_abandonment_rate: 0.6667,
        abandoned_value: 450.48,
      },
    ]);
    expect(table(r, 'top_products').rows).toEqual([
      {
        product_id: 300,
        category: 'computers.notebook',
        brand: 'acer',
        abandoned_carts: 2,
        sessions: 2,
        users: 2,
        abandoned_value: 199.98,
      },
      {
        product_id: 200,
        category: BIG,
        brand: 'apple',
        abandoned_carts: 1,
        sessions: 1,
        users: 1,
        abandoned_value: 250.5,
      },
    ]);
  });

  it('top_categories: top 3 by events, plus top purchase categories, per hour and weekday', async () => {
    const r = await runReport('top_categories', shop);
    const pick = (t: string, keys: string[]) =>
      table(r, t).rows.map((row) => Object.fromEntries(keys.map((k) => [k, row[k]])));
    expect(pick('by_hour', ['hour_utc', 'category', 'events', 'purchases', 'share', 'events_rank'])).toEqual([
      {
        hour_utc: 10,
        category: 'electronics.smartphone',
        events: 3,
        purchases: 1,
        share: 0.375,
        events_rank: 1,
      },
      { hour_utc: 10, category: BIG, events: 2, purchases: 0, share: 0.25, events_rank: 2 },
      { hour_utc: 10, category: 'computers.notebook', events: 2, purchases: 0, share: 0.25, events_rank: 3 },
      // fourth by events, kept for being second by purchases
      { hour_utc: 10, category: 'apparel.shoes', events: 1, purchases: 1, share: 0.125, events_rank: 4 },
      { hour_utc: 11, category: 'computers.notebook', events: 2, purchases: 1, share: 0.5, events_rank: 1 },
      { hour_utc: 11, category: BIG, events: 1, purchases: 0, share: 0.25, events_rank: 2 },
      {
        hour_utc: 11,
        category: 'electronics.smartphone',
        events: 1,
        purchases: 0,
        share: 0.25,
        events_rank: 3,
      },
    ]);
    expect(pick('by_weekday', ['weekday', 'weekday_name', 'category', 'events', 'share'])).toEqual([
      { weekday: 2, weekday_name: 'Tuesday', category: 'electronics.smartphone', events: 4, share: 0.5 },
      { weekday: 2, weekday_name: 'Tuesday', category: BIG, events: 2, share: 0.25 },
      { weekday: 2, weekday_name: 'Tuesday', category: 'apparel.shoes', events: 1, share: 0.125 },
      { weekday: 3, weekday_name: 'Wednesday', category: 'computers.notebook', events: 3, share: 0.75 },
      { weekday: 3, weekday_name: 'Wednesday', category: BIG, events: 1, share: 0.25 },
    ]);
  });

  it('brands_needing_marketing: flags a top-quartile brand converting below the median, and no other', async () => {
    // eligible (>= 100 views): alpha 400, bravo 300, charlie 200, delta 150, echo 100 → 75th pct = 300;
    // conversions .005, .05, .05, .02, .05 → median .05. alpha: 400 >= 300 and .005 < .05.
    // bravo has the views but converts at the median; foxtrot (50 views) is below min_views.
    const r = await runReport('brands_needing_marketing', brands);
    expect(table(r, 'flagged').rows).toEqual([
      {
        brand: 'alpha',
        views: 400,
        carts: 7,
        purchases: 2,
        conversion: 0.005,
        revenue: 20.5,
        reason: 'views 400 in the top quartile (>= 300.0); view-to-purchase 0.5% below the brand median 5.0%',
      },
    ]);
    expect(table(r, 'thresholds').rows).toEqual([
      { brands: 6, brands_considered: 5, min_views: 100, views_cut: 300, median_conversion: 0.05 },
    ]);
  });

  it('runs all reports, and --limit cuts tables with a truncated flag', async () => {
    const all = await runAllReports(shop, { limit: 1 });
    expect(all.map((r) => r.name)).toEqual([
      'brands_needing_marketing',
      'cart_abandonment',
      'conversion_funnel',
      'frequent_visitors',
      'revenue_by_category_brand',
      'sellers',
      'session_funnel',
      'top_categories',
      'unique_visitors',
    ]);
    const products = table(
      all.find((r) => r.name === 'cart_abandonment')!,
      'top_products',
    );
    expect(products.rows.map((p) => p.product_id)).toEqual([300]);
    expect(products.truncated).toBe(true);
    expect(products.columns[0]).toBe('product_id');
    const summary = table(
      all.find((r) => r.name === 'cart_abandonment')!,
      'summary',
    );
    expect(summary.truncated).toBe(false);
    // no brand in the shop lake has 100 views: nothing flagged, and that is not an error
    expect(
      table(
        all.find((r) => r.name === 'brands_needing_marketing')!,
        'flagged',
      ).rows,
    ).toEqual([]);
  });

  it('spills into a folder of its own, made where none is (a lake written by another tool), removed after', async () => {
    // A lake as plain DuckDB writes it: events/ only, no _staging/ (a spill there failed before).
    const copy = path.join(root, 'copied', 'lake');
    cpSync(path.join(shop, 'events'), path.join(copy, 'events'), { recursive: true });
    const runs = await Promise.all([runReport('unique_visitors', copy), runReport('unique_visitors', copy)]);
    expect(runs[0]).toEqual(runs[1]);
    expect(readdirSync(path.join(copy, '_staging'))).toEqual([]);
  });

  it('names the known reports for an unknown one', async () => {
    await expect(runReport('nope', shop)).rejects.toMatchObject({
      code: 'USAGE',
      message: expect.stringContaining(
        'brands_needing_marketing, cart_abandonment, conversion_funnel, frequent_visitors',
      ),
    });
  });

  it('top_n: a named parameter bound by DuckDB, each file its default; refused where no report takes it', async () => {
    const hours = async (top?: number) => {
      const r = await runReport('top_categories', shop, top === undefined ? {} : { params: { top_n: top } });
      return { r, rows: table(r, 'by_hour').rows.filter((row) => row.hour_utc === 10) };
    };
    const byDefault = await hours();
    expect(byDefault.r.params).toEqual({ top_n: 3 });
    expect(byDefault.rows).toHaveLength(4); // three by events, one more by purchases
    expect((await hours(1)).rows.map((row) => row.category)).toEqual(['electronics.smartphone']);
    expect((await hours(2)).rows.map((row) => row.category)).toEqual([
      'electronics.smartphone',
      BIG,
      'apparel.shoes',
    ]);
    await expect(runReport('unique_visitors', shop, { params: { top_n: 5 } })).rejects.toMatchObject({
      code: 'USAGE',
      message: 'report unique_visitors takes no parameter top_n',
    });
    await expect(runAllReports(shop, { params: { top_m: 5 } })).rejects.toMatchObject({ code: 'USAGE' });
    await expect(runReport('sellers', shop, { params: { top_n: -1 } })).rejects.toMatchObject({
      code: 'USAGE',
    });
  });

  it('traffic: people (the default) leaves out the flagged users, flagged keeps them alone', async () => {
    const daily = async (opts: Parameters<typeof runReport>[2]) =>
      table(await runReport('unique_visitors', shop, opts), 'daily').rows.map((r) => [
        r.day,
        r.unique_visitors,
      ]);
    expect(await daily({})).toEqual([
      ['2019-10-01', 4],
      ['2019-10-02', 4],
    ]);
    expect(await daily({ flaggedUsers: [2, 3] })).toEqual([
      ['2019-10-01', 2],
      ['2019-10-02', 2],
    ]);
    expect(await daily({ flaggedUsers: [2, 3], traffic: 'all' })).toEqual(await daily({}));
    expect(await daily({ flaggedUsers: [2, 3, 3], traffic: 'flagged' })).toEqual([
      ['2019-10-01', 2],
      ['2019-10-02', 2],
    ]);
    // nobody flagged: no flagged traffic
    expect(await daily({ traffic: 'flagged' })).toEqual([]);
    const r = await runReport('unique_visitors', shop, { flaggedUsers: [2, 3, 3] });
    expect([r.traffic, r.flaggedUsers]).toEqual(['people', 2]);
  });

  it('chart-ready JSON: x and series per table, one series per value with by=, kpi without x', async () => {
    const charts = chartTables([
      await runReport('unique_visitors', shop),
      await runReport('top_categories', shop),
      await runReport('cart_abandonment', shop),
    ]);
    expect(charts.find((c) => c.table === 'daily')).toEqual({
      report: 'unique_visitors',
      table: 'daily',
      title: 'Unique visitors per day',
      kind: 'line',
      x: { name: 'day', values: ['2019-10-01', '2019-10-02'] },
      series: [
        { name: 'unique_visitors', values: [4, 4] },
        { name: 'sessions', values: [4, 3] },
      ],
      truncated: false,
    });
    const weekday = charts.find((c) => c.table === 'by_weekday')!;
    expect(weekday.x).toEqual({ name: 'weekday_name', values: ['Tuesday', 'Wednesday'] });
    expect(weekday.series).toEqual([
      { name: 'electronics.smartphone', values: [4, null] },
      { name: BIG, values: [2, 1] },
      { name: 'apparel.shoes', values: [1, null] },
      { name: 'computers.notebook', values: [null, 3] },
    ]);
    const summary = charts.find((c) => c.table === 'summary')!;
    expect([summary.kind, summary.x, summary.series[0]]).toEqual([
      'kpi',
      null,
      { name: 'users_with_cart', values: [3] },
    ]);
  });

  it('every @chart of every report names columns of its table', async () => {
    const all = await runAllReports(shop);
    for (const r of all) for (const t of r.tables) expect(t.chart, `${r.name}.${t.name}`).toBeDefined();
  });

  it('says to run demo or simulate first on an empty lake', async () => {
    const empty = path.join(root, 'empty', 'lake');
    await expect(runReport('unique_visitors', empty)).rejects.toMatchObject({
      code: 'STATE',
      message: expect.stringMatching(/no data yet.*storepulse demo.*storepulse simulate/),
    });
    mkdirSync(path.join(empty, 'events', 'event_date=2019-10-01'), { recursive: true });
    await expect(runAllReports(empty)).rejects.toMatchObject({ code: 'STATE' });
  });
});
