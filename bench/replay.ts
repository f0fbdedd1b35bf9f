/**
 * Replay from the lake (`storepulse process --from lake://…`) against `storepulse process` over the
 * same events from the embedded stream, same (default) rules, both as a user runs them:
 *
 *   npm run build && node dist/bench/replay.js [--file /work/data/month.csv.gz] [--events 2000000]
 *     [--runs 2] [--dir /tmp/storepulse-bench-replay] [--keep]
 *
 * Once per data set: `simulate FILE --limit N` into a source data folder and `process` over it, which
 * writes the lake. Then per run, each in a fresh data folder (alert store, journey rollups, outbox):
 * - process: a copy of the source's embedded stream 1, `process --no-lake --alerts-to none`;
 * - replay: `process --from lake://?data-dir=SOURCE --alerts-to none`;
 * and plain DuckDB reading the same lake in the replay's order (each day sorted, chunks fetched),
 * the floor under the replay's read side. Wall time, events/s, peak RSS (`/usr/bin/time`), and
 * whether both runs stored the same alerts (ids).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDuckDB, sqlString } from '../src/lake/duckdb.js';
import { listLakeFiles } from '../src/lake/layout.js';
import { CLI, fmt, machine, median, table } from './detect-common.js';

interface Args {
  file: string;
  events: number;
  runs: number;
  dir: string;
  keep: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    file: '/work/data/month.csv.gz',
    events: 2_000_000,
    runs: 2,
    dir: path.join(os.tmpdir(), 'storepulse-bench-replay'),
    keep: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (k === '--keep') {
      a.keep = true;
      continue;
    }
    if (v === undefined) throw new Error(`${k} needs a value`);
    if (k === '--file') a.file = v;
    else if (k === '--events') a.events = Number(v.replace(/_/g, ''));
    else if (k === '--runs') a.runs = Number(v);
    else if (k === '--dir') a.dir = v;
    else throw new Error(`unknown argument ${k}`);
    i++;
  }
  return a;
}

interface Run {
  ms: number;
  /** User + system CPU of the child (DuckDB's threads included). */
  cpuMs: number;
  rssMiB: number;
  records: number;
  alerts: number;
  /** Events the detector counted late (behind the watermark) and did not apply. */
  late: number;
}

/** Runs the CLI under /usr/bin/time; its JSON figures, wall and CPU time, peak RSS. */
function cli(args: string[]): Run {
  const rssFile = path.join(os.tmpdir(), `storepulse-bench-replay-rss-${process.pid}`);
  const t0 = performance.now();
  const r = spawnSync(
    '/usr/bin/time',
    ['-f', '%M %U %S', '-o', rssFile, process.execPath, CLI, '-q', ...args],
    {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`storepulse ${args.join(' ')} failed (exit ${r.status})`);
  const [rss, user, sys] = readFileSync(rssFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  rmSync(rssFile, { force: true });
  const out = (r.stdout.trim() === '' ? {} : JSON.parse(r.stdout)) as {
    records?: number;
    alerts?: number;
    detector?: { late: number };
  };
  return {
    ms,
    cpuMs: (user! + sys!) * 1000,
    rssMiB: rss! / 1024,
    records: out.records ?? 0,
    alerts: out.alerts ?? 0,
    late: out.detector?.late ?? 0,
  };
}

function alertIds(dataDir: string): string[] {
  const r = spawnSync(process.execPath, [CLI, '--data-dir', dataDir, 'alerts', '--json'], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`alerts failed: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { id: string }[]).map((a) => a.id).sort();
}

/** The source data folder: stream 1 filled by simulate, and the lake written by process. */
function source(a: Args): string {
  const dir = path.join(a.dir, `source-${a.events}`);
  const done = path.join(dir, 'bench-ready');
  if (existsSync(done)) return dir;
  rmSync(dir, { recursive: true, force: true });
  process.stderr.write(`simulate ${fmt(a.events)} events of ${a.file} into ${dir}\n`);
  cli(['--data-dir', dir, 'simulate', a.file, '--limit', String(a.events)]);
  const first = cli(['--data-dir', dir, 'process', '--alerts-to', 'none', '--json']);
  process.stderr.write(`process with the lake copy: ${fmt(first.ms)} ms, ${fmt(first.alerts)} alerts\n`);
  writeFileSync(done, JSON.stringify(first));
  return dir;
}

/** Plain DuckDB: each day of the lake sorted as the replay sorts it, every chunk fetched. */
async function duckdbOrderedRead(lakeDir: string): Promise<{ ms: number; rows: number }> {
  const files = await listLakeFiles(lakeDir);
  const days = [...new Set(files.map((f) => f.partition))];
  const db = await openDuckDB({ memory_limit: '1GB' });
  const t0 = performance.now();
  let rows = 0;
  try {
    for (const day of days) {
      const list = files.filter((f) => f.partition === day).map((f) => sqlString(f.path));
      const result = await db.connection.stream(
        `SELECT * FROM read_parquet([${list.join(', ')}], filename = true, file_row_number = true)
         ORDER BY event_time, stream_shard, length(stream_seq), stream_seq, filename, file_row_number`,
      );
      for (let c = await result.fetchChunk(); c && c.rowCount > 0; c = await result.fetchChunk()) {
        c.getColumns();
        rows += c.rowCount;
      }
    }
  } finally {
    db.close();
  }
  return { ms: performance.now() - t0, rows };
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  mkdirSync(a.dir, { recursive: true });
  const src = source(a);
  const process1: Run[] = [];
  const replay: Run[] = [];
  const duck: number[] = [];
  let sameAlerts = true;
  const load: string[] = [];
  for (let i = 1; i <= a.runs; i++) {
    load.push(os.loadavg()[0]!.toFixed(2));
    const p = path.join(a.dir, `run-process`);
    const r = path.join(a.dir, `run-replay`);
    rmSync(p, { recursive: true, force: true });
    rmSync(r, { recursive: true, force: true });
    cpSync(path.join(src, 'streams'), path.join(p, 'streams'), { recursive: true });
    // The copy carries the source run's checkpoint: a consumer of its own reads from the start.
    process1.push(
      cli([
        '--data-dir',
        p,
        'process',
        '--consumer',
        `bench-${i}`,
        '--no-lake',
        '--alerts-to',
        'none',
        '--json',
      ]),
    );
    replay.push(
      cli(['--data-dir', r, 'process', '--from', `lake://?data-dir=${src}`, '--alerts-to', 'none', '--json']),
    );
    const d = await duckdbOrderedRead(path.join(src, 'lake'));
    duck.push(d.ms);
    const [x, y] = [alertIds(p), alertIds(r)];
    const differ = x.filter((id) => !y.includes(id)).length + y.filter((id) => !x.includes(id)).length;
    if (differ > 0) sameAlerts = false;
    const [pr, rr] = [process1.at(-1)!, replay.at(-1)!];
    process.stderr.write(
      `run ${i}: process ${fmt(pr.ms)} ms (${fmt(pr.cpuMs)} ms CPU, ${fmt(pr.late)} late), replay ` +
        `${fmt(rr.ms)} ms (${fmt(rr.cpuMs)} ms CPU, ${fmt(rr.late)} late), DuckDB ordered read ` +
        `${fmt(d.ms)} ms; alerts ${x.length} / ${y.length}, ${differ} ids differ\n`,
    );
  }
  if (!a.keep) {
    rmSync(path.join(a.dir, 'run-process'), { recursive: true, force: true });
    rmSync(path.join(a.dir, 'run-replay'), { recursive: true, force: true });
  }
  const events = replay[0]!.records;
  const rate = (ms: number) => (events / ms) * 1000;
  const med = (rs: Run[]) => median(rs.map((x) => x.ms));
  const cpu = (rs: Run[]) => median(rs.map((x) => x.cpuMs));
  const row = (name: string, rs: Run[]) => [
    name,
    fmt(med(rs)),
    fmt(rate(med(rs))),
    fmt(cpu(rs)),
    fmt(rate(cpu(rs))),
    fmt(Math.max(...rs.map((x) => x.rssMiB))),
    rs.map((x) => fmt(x.alerts)).join('/'),
    rs.map((x) => fmt(x.late)).join('/'),
  ];
  const na = ['n/a', 'n/a', 'n/a', 'n/a', 'n/a'];
  const rows = [
    ['phase', 'median ms', 'events/s', 'CPU ms', 'events/CPU s', 'peak RSS MiB', 'alerts', 'late'],
    row('process (embedded stream, --no-lake)', process1),
    row('replay (lake://)', replay),
    ['plain DuckDB, lake in replay order', fmt(median(duck)), fmt(rate(median(duck))), ...na],
  ];
  process.stdout.write(
    `replay from the lake vs process from the embedded stream: ${fmt(events)} events of ${a.file}, ` +
      `${a.runs} runs (median)\n${machine()}; load at each run start ${load.join(', ')}\n\n${table(rows)}\n\n` +
      `replay / process: ${(med(process1) / med(replay)).toFixed(2)}x wall, ` +
      `${(cpu(process1) / cpu(replay)).toFixed(2)}x CPU; same alert ids in every run: ${sameAlerts ? 'yes' : 'no'}\n`,
  );
}

await main();
