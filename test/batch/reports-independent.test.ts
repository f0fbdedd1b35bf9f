/**
 * Every report against an independent computation (report-mirror.ts, plain JS over the same events)
 * on a generated data set with every attack profile: all traffic, people only and flagged only,
 * over the whole lake and over a date range, with the default and a chosen top_n. Compared exactly.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listReports, type RunReportOptions, runReport } from '../../src/batch/reports.js';
import type { ClickEvent } from '../../src/core/event.js';
import { LakeWriter } from '../../src/lake/writer.js';
import { readEvents } from '../../src/sources/reader.js';
import { storepulse } from '../helpers/cli.js';
import { mirrorReport } from './report-mirror.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'storepulse-reports-mirror-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const lakeDir = path.join(root, 'lake');
const events: ClickEvent[] = [];
let flagged: number[] = [];

const DAY = 86_400_000;
const START = Date.UTC(2019, 9, 1);

beforeAll(async () => {
  const csv = path.join(root, 'events.csv.gz');
  // About four days (9,000 a day), every attack at full strength: bots that are plain to see.
  const gen = storepulse([
    '-q',
    'generate',
    '--events',
    '36000',
    '--per-day',
    '9000',
    '--seed',
    '15',
    '--attacks',
    'all',
    '--attack-intensity',
    '1',
    '--out',
    csv,
  ]);
  if (gen.code !== 0) throw new Error(`generate failed: ${gen.stderr}`);
  for await (const batch of readEvents(csv)) events.push(...batch);
  const w = await LakeWriter.open({ lakeDir, flushRows: 10_000 });
  await w.write(events.map((event) => ({ event })));
  await w.close();
  // The attackers stand in for the alert store's flagged users, with one ordinary user besides.
  const labels = JSON.parse(readFileSync(`${csv}.labels.json`, 'utf8')) as {
    attacks: { user_ids: number[] }[];
  };
  flagged = [...labels.attacks.flatMap((a) => a.user_ids), events[0]!.user_id];
}, 120_000);

interface Case {
  name: string;
  opts: RunReportOptions;
  topN?: number;
}

const CASES: Case[] = [
  { name: 'all traffic, whole lake', opts: { traffic: 'all' } },
  { name: 'people only (the default), whole lake', opts: {} },
  { name: 'flagged only, whole lake', opts: { traffic: 'flagged' } },
  // From noon of the first day to the start of the third: cuts inside a partition and at a boundary.
  { name: 'people only, a date range', opts: { from: START + DAY / 2, to: START + 2 * DAY } },
  {
    name: 'all traffic, a date range, top 4',
    opts: { traffic: 'all', from: START + DAY, params: { top_n: 4 } },
    topN: 4,
  },
];

function expected(c: Case): ClickEvent[] {
  const bots = new Set(flagged);
  const traffic = c.opts.traffic ?? 'people';
  return events.filter(
    (e) =>
      (c.opts.from === undefined || e.event_time >= c.opts.from) &&
      (c.opts.to === undefined || e.event_time < c.opts.to) &&
      (traffic === 'all' || bots.has(e.user_id) === (traffic === 'flagged')),
  );
}

describe('every report equals an independent computation over the same events', () => {
  it('has a mirror for every report, and the data has what the reports need', () => {
    expect(listReports()).toHaveLength(9);
    // Bots are there to leave out, the range cuts something, some brand has enough views to judge.
    expect(flagged.length).toBeGreaterThan(10);
    expect(expected(CASES[1]!).length).toBeLessThan(events.length);
    expect(expected(CASES[3]!).length).toBeLessThan(expected(CASES[1]!).length);
    const thresholds = mirrorReport('brands_needing_marketing', events).thresholds![0]!;
    expect(thresholds.brands_considered).toBeGreaterThan(3);
  });

  for (const c of CASES) {
    for (const { name: report, defaults } of listReports()) {
      it(`${report}: ${c.name}`, async () => {
        // top_n only where the report takes it: elsewhere it is a usage error (tested in reports.test.ts).
        const params = 'top_n' in defaults ? c.opts.params : undefined;
        const opts = { ...c.opts, params, flaggedUsers: flagged, limit: 1_000_000 };
        const r = await runReport(report, lakeDir, opts);
        const want = mirrorReport(report, expected(c), c.topN);
        expect(r.tables.map((t) => t.name)).toEqual(Object.keys(want));
        for (const t of r.tables) {
          expect(t.rows, `${report}.${t.name}`).toEqual(want[t.name]);
          if (t.rows.length > 0) expect(t.columns).toEqual(Object.keys(want[t.name]![0]!));
        }
        expect(r.traffic).toBe(c.opts.traffic ?? 'people');
      });
    }
  }

  it('the bot switch matters: each traffic choice sees other users', async () => {
    const users = async (traffic: RunReportOptions['traffic']) => {
      const r = await runReport('frequent_visitors', lakeDir, {
        flaggedUsers: flagged,
        traffic,
        params: { top_n: 1e6 },
      });
      expect(r.flaggedUsers).toBe(new Set(flagged).size);
      return r.tables[0]!.rows.map((row) => flagged.includes(row.user_id as number));
    };
    expect(await users('people')).not.toContain(true);
    expect(await users('flagged')).not.toContain(false);
    const all = await users('all');
    expect(all).toContain(true);
    expect(all).toContain(false);
  });
});
