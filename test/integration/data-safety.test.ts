/**
 * The data folder is safe against ordinary use (README, "Data safety"): typos, reruns, second
 * processes and read-only commands on the wrong folder lose nothing, double nothing and mix nothing,
 * and a run over nothing fails instead of reporting zeros. Through the built CLI, as a user runs it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  truncateSync,
} from 'node:fs';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lakeRowCount } from '../../src/lake/catalog.js';
import { CLI, generateCsv, storepulse } from '../helpers/cli.js';

const EVENTS = 20_000;
let dir: string;
let csv: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'sp-safety-'));
  csv = path.join(dir, 'events.csv');
  generateCsv(csv, EVENTS, 3);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const at = (dataDir: string, ...args: string[]) => storepulse(['-q', '--data-dir', dataDir, ...args]);

function alertCount(dataDir: string): number {
  const r = at(dataDir, 'alerts', '--json', '--limit', '1000000');
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as unknown[]).length;
}

interface Child {
  exited: Promise<{ code: number | null; stderr: string }>;
  child: ChildProcess;
}

function startCli(dataDir: string, args: string[]): Child {
  const child = spawn(process.execPath, [CLI, '-q', '--data-dir', dataDir, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return { child, exited: new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr }))) };
}

/** A pipeline folder: `csv` replayed into stream 1 and processed to the end. */
function pipelineFolder(name: string): string {
  const dataDir = path.join(dir, name);
  const sim = at(dataDir, 'simulate', csv);
  expect(sim.code, sim.stderr).toBe(0);
  const proc = at(dataDir, 'process');
  expect(proc.code, proc.stderr).toBe(0);
  return dataDir;
}

describe('demo checks before it deletes, and touches only what it made', () => {
  it('keeps the previous results when the dataset is mistyped, empty or not a dataset', async () => {
    const dataDir = path.join(dir, 'demo');
    expect(at(dataDir, 'demo', '--no-serve', '--dataset', csv).code).toBe(0);
    const lake = path.join(dataDir, 'lake');
    const rows = await lakeRowCount(lake);
    const alerts = alertCount(dataDir);
    expect(rows).toBe(EVENTS);
    expect(alerts).toBeGreaterThan(0);

    const empty = path.join(dir, 'empty.csv');
    writeFileSync(empty, '');
    const noise = path.join(dir, 'noise.csv');
    writeFileSync(noise, Buffer.from(Array.from({ length: 50_000 }, (_, i) => (i * 7919) % 251)));
    for (const [dataset, message] of [
      [path.join(dir, 'evnets.csv'), /dataset .*evnets\.csv not found/],
      [empty, /empty\.csv holds no rows/],
      [noise, /noise\.csv holds no valid row: \d+ rows rejected/],
    ] as const) {
      const r = at(dataDir, 'demo', '--no-serve', '--dataset', dataset);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(await lakeRowCount(lake)).toBe(rows);
      expect(alertCount(dataDir)).toBe(alerts);
    }

    // A good dataset replaces the previous demo's results instead of adding to them.
    expect(at(dataDir, 'demo', '--no-serve', '--dataset', csv).code).toBe(0);
    expect(await lakeRowCount(lake)).toBe(rows);
    expect(alertCount(dataDir)).toBe(alerts);

    // simulate and process do not write into the demo's folder, so its next run cannot wipe their work.
    for (const args of [['simulate', csv], ['process']]) {
      const r = at(dataDir, ...args);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/holds the results of storepulse demo.*--data-dir/);
    }
    expect(existsSync(path.join(dataDir, 'streams'))).toBe(false);
  });

  it('refuses a folder that simulate and process wrote, and leaves it as it was', async () => {
    const dataDir = pipelineFolder('pipeline-then-demo');
    const alerts = alertCount(dataDir);
    const r = at(dataDir, 'demo', '--no-serve', '--dataset', csv);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /holds lake, alerts\.sqlite, outbox\.sqlite, journey\.sqlite, streams from other commands/,
    );
    expect(await lakeRowCount(path.join(dataDir, 'lake'))).toBe(EVENTS);
    expect(alertCount(dataDir)).toBe(alerts);
  });
});

describe('the lake holds each stream record once', () => {
  it('whatever the number of processes and consumer names', async () => {
    const dataDir = path.join(dir, 'two-processes');
    expect(at(dataDir, 'simulate', csv).code).toBe(0);
    const runs = await Promise.all(
      [0, 1].map(() => startCli(dataDir, ['process', '--alerts-to', 'none']).exited),
    );
    // One holds the lake's writer lock; the other fails clearly, unless it started after the first ended.
    for (const r of runs) {
      if (r.code !== 0) expect(r.stderr).toMatch(/the lake at .* is locked by another writer.*--no-lake/);
    }
    expect(runs.some((r) => r.code === 0)).toBe(true);
    if (runs.some((r) => r.code !== 0)) {
      expect(at(dataDir, 'process', '--alerts-to', 'none').code).toBe(0);
    }
    const other = at(dataDir, 'process', '--consumer', 'other', '--alerts-to', 'none');
    expect(other.code, other.stderr).toBe(0);
    expect(await lakeRowCount(path.join(dataDir, 'lake'))).toBe(EVENTS);
  });
});

describe('no silent success on nothing', () => {
  it('read-only commands refuse a folder that holds no run, and create nothing', () => {
    const typo = path.join(dir, 'dta');
    const empty = path.join(dir, 'empty-folder');
    mkdirSync(empty);
    const labels = `${csv}.labels.json`;
    for (const args of [
      ['alerts'],
      ['report'],
      ['notifications'],
      ['streams'],
      ['evaluate', '--labels', labels],
    ]) {
      const missing = at(typo, ...args);
      expect(missing.code, args.join(' ')).toBe(1);
      expect(missing.stderr).toMatch(
        /there is no data folder .*dta: nothing has run there; check --data-dir/,
      );
      const nothing = at(empty, ...args);
      expect(nothing.code, args.join(' ')).toBe(1);
      expect(nothing.stderr).toMatch(/holds no storepulse run/);
    }
    expect(existsSync(typo)).toBe(false);
  });

  it('a dataset with no valid row fails simulate and inspect', () => {
    const noise = path.join(dir, 'bad-rows.csv');
    const header = readFileSync(csv, 'utf8').split('\n', 1)[0]!;
    writeFileSync(noise, `${header}\n2019-10-01 10:00:00 UTC,click,1,2,,,1.00,5,s\n1,2,3\n`);
    const sim = at(path.join(dir, 'noise-run'), 'simulate', noise);
    expect(sim.code).toBe(1);
    expect(sim.stderr).toMatch(/bad-rows\.csv holds no valid row: 2 rows rejected/);
    const inspect = at(path.join(dir, 'noise-run'), 'inspect', noise);
    expect(inspect.code).toBe(1);
    expect(inspect.stdout).toMatch(/valid\s+0/);
  });

  it('a replay is resumed by the file content, not its path', () => {
    const dataDir = path.join(dir, 'replays');
    const file = path.join(dir, 'replayed.csv');
    const sent = (r: { stderr: string }) => Number(/sent (\d+) events/.exec(r.stderr)?.[1] ?? NaN);
    const sim = (f: string) => storepulse(['--data-dir', dataDir, 'simulate', f]);
    generateCsv(file, 2000, 1);
    expect(sent(sim(file))).toBe(2000);
    // Regenerated at the same path: a new source, replayed in full.
    generateCsv(file, 3000, 2);
    const second = sim(file);
    expect(second.stderr).toMatch(/holds other data than when it was replayed before/);
    expect(sent(second)).toBe(3000);
    // The same file again, or a copy under another name: nothing is sent twice.
    const copy = path.join(dir, 'copy.csv');
    copyFileSync(file, copy);
    for (const f of [file, copy]) expect(sim(f).stderr).toMatch(/already holds all 3000 events/);
  });
});

describe('simulate and process as two processes', () => {
  it('process waits for the stream that simulate creates, whichever starts first', async () => {
    const dataDir = path.join(dir, 'process-first');
    const proc = startCli(dataDir, ['process']);
    // Only a wait: the stream must not exist yet when process starts, whatever the machine's speed.
    await new Promise((r) => setTimeout(r, 300));
    const sim = startCli(dataDir, ['simulate', csv]);
    expect((await sim.exited).code).toBe(0);
    const p = await proc.exited;
    expect(p.code, p.stderr).toBe(0);
    expect(await lakeRowCount(path.join(dataDir, 'lake'))).toBe(EVENTS);
  });

  it('process gives up waiting after --wait-for-stream seconds', () => {
    const r = at(path.join(dir, 'no-writer'), 'process', '--wait-for-stream', '1');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/does not exist.*waited 1 s for storepulse simulate/);
  });

  it('a replay that fails ends its stream, so process ends instead of waiting for it', async () => {
    const dataDir = path.join(dir, 'failed-replay');
    const gz = path.join(dir, 'cut.csv.gz');
    generateCsv(gz, EVENTS, 4);
    truncateSync(gz, Math.floor(readFileSync(gz).length / 2));
    const proc = startCli(dataDir, ['process']);
    const sim = at(dataDir, 'simulate', gz);
    expect(sim.code).toBe(1);
    const p = await proc.exited;
    expect(p.code, p.stderr).toBe(0);
  }, 60_000);
});
