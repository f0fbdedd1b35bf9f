/**
 * What every command owes a user at its edges, through the built CLI: one-line errors (no stack
 * trace) for a wrong data folder or a file that is not an alert store, 130 after Ctrl-C, a quiet
 * end on a closed pipe, complete exports, a quiet -q, and help that names the global options.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteAlertStore } from '../../src/stores/sqlite/alert-store.js';
import { CLI, generateCsv, storepulse } from '../helpers/cli.js';
import { testAlert } from '../helpers/alerts.js';

let dir: string;
let csv: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'sp-main-'));
  csv = path.join(dir, 'events.csv');
  generateCsv(csv, 30_000, 9);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const noStack = (stderr: string) => expect(stderr).not.toMatch(/unexpected failure|\n\s+at /);

describe('storepulse at its edges', () => {
  it('says in one line that a data folder below a file cannot be used', () => {
    const file = path.join(dir, 'a-file');
    writeFileSync(file, 'x');
    for (const args of [['alerts'], ['simulate', csv], ['process'], ['report'], ['inspect', csv]]) {
      const r = storepulse(['--data-dir', path.join(file, 'data'), ...args]);
      expect(r.code, args[0]).toBe(2);
      expect(r.stderr).toMatch(/a-file is a file, not a folder \(check --data-dir/);
      noStack(r.stderr);
    }
  });

  it('says in one line that a file is not an alert store', () => {
    const bogus = path.join(dir, 'bogus.sqlite');
    writeFileSync(bogus, 'not a database at all, just some text '.repeat(200));
    const r = storepulse(['-q', 'evaluate', '--labels', `${csv}.labels.json`, '--alerts', bogus]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bogus\.sqlite is not a storepulse alert store: file is not a database/);
    noStack(r.stderr);
  });

  it('exports every alert with --json, and says when the table shows only the newest', async () => {
    const dataDir = path.join(dir, 'many-alerts');
    mkdirSync(dataDir, { recursive: true });
    const store = new SqliteAlertStore(path.join(dataDir, 'alerts.sqlite'));
    await store.put(Array.from({ length: 75 }, (_, i) => testAlert(i)));
    await store.close();
    const json = storepulse(['--data-dir', dataDir, 'alerts', '--json']);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toHaveLength(75);
    const table = storepulse(['--data-dir', dataDir, 'alerts']);
    expect(table.stdout.trim().split('\n')).toHaveLength(2 + 50);
    expect(table.stderr).toMatch(
      /75 alerts .*showing 50 \(newest first; --limit N for more, --json for all\)/,
    );
  });

  it('ends 130 after Ctrl-C, having stopped cleanly (0 for the dashboard, which runs until stopped)', async () => {
    // 400,000 events: the demo takes several seconds on any machine, so the signal lands mid-run.
    const big = path.join(dir, 'big.csv');
    generateCsv(big, 400_000, 2);
    for (const [name, args] of [
      ['demo', ['demo', '--no-serve', '--dataset', big]],
      ['demo-serving', ['demo', '--dataset', big, '--port', '0']],
      ['simulate', ['simulate', big, '--rate', '1000']],
      ['simulate-max', ['simulate', big]],
    ] as const) {
      const dataDir = path.join(dir, `interrupted-${name}`);
      const child = spawn(process.execPath, [CLI, '--data-dir', dataDir, ...args], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
      // Both have checked their input and started once they made their lake or stream.
      const stream = path.join(dataDir, 'streams', 'ecommerce-raw-user-activity-stream-1');
      const made = name.startsWith('demo') ? path.join(dataDir, 'lake') : stream;
      while (!existsSync(made) && child.exitCode === null) await new Promise((r) => setTimeout(r, 20));
      child.kill('SIGINT');
      expect(await exited, stderr).toBe(name === 'demo-serving' ? 0 : 130);
      expect(stderr).toMatch(/SIGINT: finishing the batch in hand/);
      noStack(stderr);
      // A stopped replay is not an ended one: the stream stays open for the next run to go on.
      if (!name.startsWith('demo')) expect(existsSync(path.join(stream, 'sealed')), name).toBe(false);
    }
  }, 60_000);

  it('ends quietly when the pipe it writes to closes', async () => {
    const child = spawn(process.execPath, [CLI, '-q', 'simulate', csv, '--to', '-'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    // As `| head -1`: read a line, then close the pipe.
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.stdout.destroy();
    expect(await exited).toBe(0);
    expect(stderr).toBe('');
  });

  it('-q keeps notifications off stderr too', () => {
    const sim = storepulse(['-q', 'simulate', csv, '--to', '-']);
    const run = (quiet: boolean) =>
      storepulse(
        [...(quiet ? ['-q'] : []), '--data-dir', path.join(dir, `quiet-${quiet}`), 'process', '--from', '-'],
        {
          input: sim.stdout,
        },
      );
    expect(run(false).stderr).toMatch(/\[HIGH\]/);
    expect(run(true).stderr).toBe('');
  });

  it('shows the global options in every command help', () => {
    for (const command of ['demo', 'process', 'alerts']) {
      const help = storepulse([command, '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(/Global Options:[\s\S]*--data-dir[\s\S]*--config[\s\S]*--quiet/);
    }
  });
});
