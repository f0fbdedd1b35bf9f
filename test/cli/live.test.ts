/**
 * `storepulse live` through the built CLI: one view, JSON for scripts, the redrawn view until Ctrl-C
 * (waiting for a store that does not exist yet), and clear refusals.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JourneyFigures } from '../../src/core/journey/query.js';
import { CLI, storepulse } from '../helpers/cli.js';

let dir: string;
let dataDir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'sp-live-'));
  dataDir = path.join(dir, 'data');
  const run = storepulse([
    '-q',
    '--data-dir',
    dataDir,
    'demo',
    '--no-serve',
    '--events',
    '30000',
    '--seed',
    '5',
  ]);
  expect(run.code, run.stderr).toBe(0);
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `live` without --once until its stdout holds `until`, then sends SIGINT. */
function watch(folder: string, until: RegExp): Promise<{ code: number | null; stdout: string }> {
  const child = spawn(process.execPath, [CLI, '--data-dir', folder, 'live', '--interval', '1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (until.test(stdout)) child.kill('SIGINT');
    });
    child.on('close', (code) => resolve({ code, stdout }));
  });
}

describe('storepulse live', () => {
  it('prints one view of the last hour with --once', () => {
    const r = storepulse(['--data-dir', dataDir, 'live', '--once']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^storepulse live · .* \(minutes, final\) · all traffic/);
    for (const heading of ['revenue', 'sessions ended', '→ carted', 'abandoned', 'top categories (views)'])
      expect(r.stdout).toContain(heading);
    expect(r.stdout).toMatch(/events per minute: [▁▂▃▄▅▆▇█]+/);
  });

  it('gives the figures as JSON for scripts, for each kind of traffic', () => {
    const json = (...args: string[]) => {
      const r = storepulse(['--data-dir', dataDir, 'live', '--once', '--json', '--last', '100000', ...args]);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as JourneyFigures;
    };
    const all = json();
    const people = json('--traffic', 'people');
    expect(all.range.grain).toBe('hour');
    expect(all.totals.events).toBe(30_000 - all.status!.tooLate);
    expect(people.totals.events).toBe(all.totals.events - all.flagged.events);
    expect(all.top.categories.views.length).toBeGreaterThan(0);
    expect(all.funnel.viewed).toBeGreaterThanOrEqual(all.funnel.carted);
    const minutes = json('--grain', 'minute', '--top', '2');
    expect(minutes.range.grain).toBe('minute');
    expect(minutes.top.brands.revenue.length).toBeLessThanOrEqual(2);
    expect(minutes.totals.events).toBe(all.totals.events);
  });

  it('redraws until Ctrl-C, and waits for a store that is not there yet', async () => {
    const live = await watch(dataDir, /events per minute/);
    expect(live.code).toBe(130);
    expect(live.stdout).toContain('storepulse live');
    const empty = path.join(dir, 'empty');
    mkdirSync(empty);
    const waiting = await watch(empty, /waiting for storepulse process/);
    expect(waiting.code).toBe(130);
    expect(existsSync(path.join(empty, 'journey.sqlite'))).toBe(false);
  }, 30_000);

  it('refuses bad flags and a folder without rollups, creating nothing', () => {
    for (const [args, message] of [
      [['--traffic', 'bots'], /--traffic takes all, people, flagged/],
      [['--grain', 'day'], /--grain takes minute or hour/],
      [['--from', 'yesterday'], /--from takes a time with a zone/],
      [['--json'], /--json goes with --once/],
    ] as const) {
      const r = storepulse(['--data-dir', dataDir, 'live', ...args]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    const missing = path.join(dir, 'missing');
    const r = storepulse(['--data-dir', missing, 'live', '--once']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/there is no data folder/);
    expect(existsSync(missing)).toBe(false);
  });
});
