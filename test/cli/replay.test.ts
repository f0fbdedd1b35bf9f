/**
 * `storepulse process --from lake://…` through the built CLI: a lake written by a real
 * simulate → process run, replayed into another data folder (the same alerts, same ids) and into
 * its own (nothing new); range selection; strict URIs; an empty lake.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProcessorStats } from '../../src/pipeline/processor.js';
import { generateCsv, storepulse } from '../helpers/cli.js';

let dir: string;
let live: string;
const EVENTS = 40_000;

type Figures = ProcessorStats & { replay: { lake: string; from: string; to: string; days: number } | null };

function ok(args: string[]): string {
  const r = storepulse(args);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

/** Id, rule, key, count and window of every stored alert of a data folder, sorted. */
function alertsOf(dataDir: string): string[] {
  const list = JSON.parse(ok(['--data-dir', dataDir, 'alerts', '--json'])) as Record<string, unknown>[];
  return list.map((a) => [a.id, a.rule, a.key, a.count, a.window_start].join(' ')).sort();
}

function replay(dataDir: string, from: string, ...more: string[]): Figures {
  return JSON.parse(
    ok(['-q', '--data-dir', dataDir, 'process', '--from', from, '--alerts-to', 'none', '--json', ...more]),
  ) as Figures;
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'sp-replay-cli-'));
  live = path.join(dir, 'live');
  const csv = path.join(dir, 'events.csv');
  generateCsv(csv, EVENTS, 11);
  ok(['-q', '--data-dir', live, 'simulate', csv]);
  ok(['-q', '--data-dir', live, 'process']);
}, 180_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('storepulse process --from lake://', () => {
  it("replays another data folder's lake into a trial folder: the same alerts, same ids", () => {
    const trial = path.join(dir, 'trial');
    const r = storepulse([
      '--data-dir',
      trial,
      'process',
      '--from',
      `lake://?data-dir=${live}`,
      '--alerts-to',
      'none',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /replaying 40,000 events of 1 day\(s\).*not copied to the lake again \(--no-lake\)/,
    );
    expect(r.stderr).toMatch(/replay +\[#+\] 100\.0% +40,000 \/ 40,000/);
    expect(r.stdout).toMatch(/replayed from the lake +.*live\/lake 2019-10-01\.\.2019-10-01/);
    expect(r.stdout).toMatch(/events to the lake +\(replay: held already\)/);
    const was = alertsOf(live);
    expect(was.length).toBeGreaterThan(10);
    expect(alertsOf(trial)).toEqual(was);
    // Nothing was copied to the trial folder's lake.
    expect(existsSync(path.join(trial, 'lake', 'events'))).toBe(false);
  });

  it('adds nothing when replayed into the folder it came from', () => {
    const before = alertsOf(live);
    const f = replay(live, 'lake://2019-10-01');
    expect(f).toMatchObject({
      records: EVENTS,
      events: EVENTS,
      rejected: 0,
      newAlerts: 0,
      notified: 0,
      lakeRows: 0,
    });
    expect(f.alerts).toBe(before.length);
    expect(f.replay).toMatchObject({ from: '2019-10-01', to: '2019-10-01', days: 1 });
    expect(alertsOf(live)).toEqual(before);
  });

  it('replays only the days of the range, and names what the lake holds when none match', () => {
    const trial = path.join(dir, 'range');
    expect(replay(trial, `lake://2019-10?data-dir=${live}`).records).toBe(EVENTS);
    const r = storepulse(['--data-dir', trial, 'process', '--from', `lake://2019-11-01..?data-dir=${live}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /has no events from 2019-11-01 to its last day: it holds 2019-10-01\.\.2019-10-01/,
    );
  });

  it('refuses bad URIs and stream-only flags, naming the accepted forms', () => {
    const forms = /lake:\/\/ \(all days\), lake:\/\/DAY, lake:\/\/MONTH, lake:\/\/FROM\.\.TO/;
    for (const [uri, why] of [
      ['lake://2019-02-30', /2019-02-30 is not a date/],
      ['lakes://x', /unknown scheme lakes/],
    ] as const) {
      const r = storepulse(['--data-dir', path.join(dir, 'bad'), 'process', '--from', uri]);
      expect(r.code, uri).toBe(2);
      expect(r.stderr, uri).toMatch(why);
      expect(r.stderr, uri).toMatch(forms);
    }
    const flag = storepulse([
      '--data-dir',
      path.join(dir, 'bad'),
      'process',
      '--from',
      'lake://',
      '--consumer',
      'x',
    ]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/--consumer is for streams: a replay of the lake has no checkpoints/);
    const missing = storepulse([
      '--data-dir',
      path.join(dir, 'bad'),
      'process',
      '--from',
      'lake://?data-dir=/nonexistent-sp',
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no data folder at \/nonexistent-sp/);
  });

  it('refuses an empty lake with a clear error', () => {
    const r = storepulse(['--data-dir', path.join(dir, 'empty'), 'process', '--from', 'lake://']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the lake at .*empty\/lake has no data yet/);
  });
});
