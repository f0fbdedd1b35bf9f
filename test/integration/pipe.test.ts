/** `storepulse simulate | storepulse process` as two processes joined by a pipe, and a graceful stop. */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, generateCsv, storepulse } from '../helpers/cli.js';

let dir: string;
let csv: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'sp-pipe-'));
  csv = path.join(dir, 'events.csv.gz');
  generateCsv(csv, 20_000, 3);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('simulate --to - | process --from -', () => {
  it('carries every event as a reference-shaped JSON record and processes them in another process', () => {
    const sim = storepulse(['-q', 'simulate', csv, '--to', '-']);
    expect(sim.code, sim.stderr).toBe(0);
    const lines = sim.stdout.trim().split('\n');
    expect(lines).toHaveLength(20_000);
    const first = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(Object.keys(first).join(',')).toBe(
      'event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session,txn_timestamp',
    );
    expect(first.category_id).toMatch(/^\d{19}$/);

    const dataDir = path.join(dir, 'data');
    const proc = storepulse(['-q', '--data-dir', dataDir, 'process', '--from', '-', '--json'], {
      input: `${sim.stdout}not a record\n`,
    });
    expect(proc.code, proc.stderr).toBe(0);
    const stats = JSON.parse(proc.stdout) as {
      records: number;
      events: number;
      rejected: number;
      newAlerts: number;
      lake: { rows: number };
      deadLetter: string | null;
    };
    expect(stats).toMatchObject({ records: 20_001, events: 20_000, rejected: 1, lake: { rows: 20_000 } });
    expect(stats.newAlerts).toBeGreaterThan(0);
    expect(stats.deadLetter).toMatch(/deadletter/);

    const alerts = storepulse(['--data-dir', dataDir, 'alerts', '--reference', '--json', '--limit', '1']);
    const [item] = JSON.parse(alerts.stdout) as Record<string, unknown>[];
    expect(item!.ddb_partition_key).toMatch(/^userid#\d+#appserver#storepulse$/);

    // The same records again: nothing new is stored or notified.
    const again = storepulse(['-q', '--data-dir', dataDir, 'process', '--from', '-', '--no-lake'], {
      input: sim.stdout,
    });
    // Without --json, a table like the other commands'.
    expect(again.stdout).toMatch(/new to the store\s+0\n/);
    expect(again.stdout).toMatch(/notifications queued\s+0\n/);
    expect(again.stdout).toMatch(/events to the lake\s+\(--no-lake\)/);
  });

  it('stops gracefully on SIGTERM, flushing what it has', async () => {
    const dataDir = path.join(dir, 'data-stop');
    const sim = storepulse(['-q', 'simulate', csv, '--to', '-', '--limit', '500']);
    const child = spawn(
      process.execPath,
      [CLI, '-q', '--data-dir', dataDir, 'process', '--from', '-', '--json'],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stdin.write(sim.stdout); // stdin stays open: the process would wait for more forever
    // The alert store opens right after the signal handlers are in place; then give it time to read.
    for (let i = 0; i < 100 && !existsSync(path.join(dataDir, 'alerts.sqlite')); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 1000));
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(code).toBe(0);
    // However far it got (that depends on the machine), every event it took is in the lake.
    const stats = JSON.parse(out) as { events: number; lake: { rows: number } };
    expect(stats.events).toBeLessThanOrEqual(500);
    expect(stats.lake.rows).toBe(stats.events);
  });
});
