/**
 * The scale curve (issue 16): the whole pipeline, `storepulse demo --no-serve --dataset FILE` on the
 * embedded defaults in a fresh data folder, at growing sizes, each in a child process of its own so
 * that its peak RSS is its own. Per size: wall time, events/s, peak RSS, and the same events through
 * DuckDB alone in another child (CSV → date-partitioned Parquet, then the reference rule's windowed
 * counts over it: the batch equivalent of the pipeline's lake copy and detection), with the ratio.
 * Growth shows at a glance in the table; `--svg` draws it (time and peak RSS against events).
 *
 *   npm run build && node dist/bench/scale.js [--sizes 1M,10M,42M] [--seed 46] [--dir DIR]
 *        [--dataset 42M=/path/month.csv.gz] [--no-duckdb] [--svg docs/img/scale.svg] [--cli PATH]
 *
 * Data: `storepulse generate --attacks all --seed S` into --dir (default the OS temp folder), made
 * once per size and reused; `--dataset N=FILE` uses a given file for a size instead (repeatable).
 * Peak RSS is the child's own maxRSS (getrusage, read at its exit); wall time is noisy on a shared
 * machine, RSS is not.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLI, fmt, machine, readCsv, table } from './detect-common.js';
import { scaleSvg } from './scale-svg.js';

interface Args {
  sizes: number[];
  seed: number;
  dir: string;
  datasets: Map<number, string>;
  duckdb: boolean;
  svg?: string;
  cli: string;
  /** Internal: run the DuckDB side for this file in this process. */
  duckChild?: string;
}

/** `1M`, `500k`, `42000000`. */
function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(s.replace(/_/g, ''));
  if (!m) throw new Error(`not a size: ${s} (e.g. 1M, 500k, 2000000)`);
  const n = Number(m[1]) * (m[2]?.toLowerCase() === 'm' ? 1e6 : m[2]?.toLowerCase() === 'k' ? 1e3 : 1);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`not a size: ${s}`);
  return n;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    sizes: [1e6, 10e6, 42e6],
    seed: 46,
    dir: path.join(os.tmpdir(), 'storepulse-bench', 'scale'),
    datasets: new Map(),
    duckdb: true,
    cli: CLI,
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    if (k === '--no-duckdb') {
      a.duckdb = false;
      continue;
    }
    const v = argv[++i];
    if (v === undefined) throw new Error(`${k} takes a value`);
    if (k === '--sizes') a.sizes = v.split(',').map(parseSize);
    else if (k === '--seed') a.seed = Number(v);
    else if (k === '--dir') a.dir = path.resolve(v);
    else if (k === '--dataset') {
      const [n, file] = v.split('=');
      if (!n || !file) throw new Error('--dataset takes SIZE=FILE');
      a.datasets.set(parseSize(n), path.resolve(file));
    } else if (k === '--svg') a.svg = path.resolve(v);
    else if (k === '--cli') a.cli = path.resolve(v);
    else if (k === '--duck-child') a.duckChild = v;
    else throw new Error(`unknown argument ${k}`);
  }
  return a;
}

function datasetFor(a: Args, events: number): string {
  const given = a.datasets.get(events);
  if (given) return given;
  mkdirSync(a.dir, { recursive: true });
  const file = path.join(a.dir, `scale-${events}-seed${a.seed}.csv.gz`);
  if (existsSync(file)) return file;
  process.stderr.write(`generating ${fmt(events)} events into ${file}\n`);
  const tmp = `${file}.tmp.csv.gz`;
  const r = spawnSync(
    process.execPath,
    [
      a.cli,
      '-q',
      'generate',
      '--events',
      String(events),
      '--attacks',
      'all',
      '--seed',
      String(a.seed),
    ].concat(['--out', tmp]),
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  if (r.status !== 0) throw new Error(`generate failed (exit ${r.status})`);
  renameSync(tmp, file);
  return file;
}

interface Run {
  seconds: number;
  peakMiB: number;
}

/**
 * Runs `node args` and returns its wall time and peak RSS: a preloaded module writes the child's
 * own maxRSS (getrusage) to a file as it exits.
 */
async function measured(args: string[], label: string): Promise<Run> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'storepulse-scale-rss-'));
  const out = path.join(tmp, 'maxrss');
  const hook =
    `import { writeFileSync } from 'node:fs';` +
    `process.on('exit', () => writeFileSync(${JSON.stringify(out)}, String(process.resourceUsage().maxRSS)));`;
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    ['--import', `data:text/javascript,${encodeURIComponent(hook)}`, ...args],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => (stderr = (stderr + s).slice(-16 * 1024)));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const seconds = (performance.now() - t0) / 1000;
  try {
    if (code !== 0) throw new Error(`${label} exited with ${code}:\n${stderr}`);
    return { seconds, peakMiB: Number(readFileSync(out, 'utf8')) / 1024 };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The pipeline: `storepulse demo` as a user runs it, without the dashboard, in a fresh data folder. */
async function pipeline(a: Args, file: string): Promise<Run> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'storepulse-bench-scale-'));
  try {
    return await measured(
      [a.cli, '--data-dir', dataDir, '-q', 'demo', '--no-serve', '--dataset', file],
      `demo ${file}`,
    );
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function duckdb(a: Args, file: string): Promise<Run> {
  const self = path.join(path.dirname(new URL(import.meta.url).pathname), 'scale.js');
  return measured([self, '--duck-child', file], `duckdb ${file}`);
}

/**
 * The DuckDB side, in its own process: the CSV to Parquet partitioned by date (the lake copy), then
 * the reference rule (count > 5 per user per 10 s window) over the Parquet files.
 */
async function duckChild(file: string): Promise<void> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const { sqlString } = await import('../src/lake/duckdb.js');
  const out = mkdtempSync(path.join(os.tmpdir(), 'storepulse-scale-duck-'));
  const inst = await DuckDBInstance.create(':memory:', { preserve_insertion_order: 'false' });
  const con = await inst.connect();
  try {
    await con.run(
      `COPY (SELECT *, CAST(event_time AS DATE) AS event_date FROM ${readCsv(file)})
       TO ${sqlString(out)} (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (event_date))`,
    );
    await con.runAndReadAll(
      `SELECT user_id, time_bucket(INTERVAL 10 SECOND, event_time) w, count(*) c
       FROM read_parquet(${sqlString(`${out}/**/*.parquet`)}, hive_partitioning = true)
       GROUP BY ALL HAVING count(*) > 5`,
    );
  } finally {
    con.closeSync();
    inst.closeSync();
    rmSync(out, { recursive: true, force: true });
  }
}

export interface ScaleRow {
  events: number;
  seconds: number;
  peakMiB: number;
  duck?: Run;
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  if (a.duckChild) return duckChild(a.duckChild);
  process.stdout.write(`${machine()}\ncommand: node ${process.argv.slice(1).join(' ')}\n`);
  const rows: ScaleRow[] = [];
  for (const events of a.sizes) {
    const file = datasetFor(a, events);
    process.stderr.write(`${fmt(events)} events: demo on ${file}\n`);
    const run = await pipeline(a, file);
    const row: ScaleRow = { events, ...run };
    if (a.duckdb) {
      process.stderr.write(`${fmt(events)} events: DuckDB alone\n`);
      row.duck = await duckdb(a, file);
    }
    rows.push(row);
    // Each size as it finishes: the biggest takes many minutes, and an interrupted run keeps these.
    process.stderr.write(
      `${fmt(events)} events: ${fmt(run.seconds, 1)} s, ${fmt(events / run.seconds)} events/s, ` +
        `peak RSS ${fmt(run.peakMiB)} MiB` +
        (row.duck
          ? `; DuckDB alone ${fmt(row.duck.seconds, 1)} s, peak RSS ${fmt(row.duck.peakMiB)} MiB\n`
          : '\n'),
    );
  }
  const first = rows[0]!;
  const header = ['events', 'wall s', 'events/s', 'peak RSS MiB', 'RSS vs first'];
  if (a.duckdb) header.push('DuckDB s', 'DuckDB RSS MiB', 'ratio (DuckDB s / ours)');
  const body = rows.map((r) => {
    const cells = [
      fmt(r.events),
      fmt(r.seconds, 1),
      fmt(r.events / r.seconds),
      fmt(r.peakMiB),
      `${fmt((r.peakMiB / first.peakMiB) * 100)} %`,
    ];
    if (r.duck) cells.push(fmt(r.duck.seconds, 1), fmt(r.duck.peakMiB), fmt(r.duck.seconds / r.seconds, 2));
    return cells;
  });
  process.stdout.write(`\n${table([header, ...body])}\n\n`);
  // The same as a markdown table, for bench/RESULTS.md.
  const md = [header, header.map(() => '---'), ...body].map((r) => `| ${r.join(' | ')} |`).join('\n');
  process.stdout.write(`${md}\n`);
  if (a.svg) {
    mkdirSync(path.dirname(a.svg), { recursive: true });
    writeFileSync(a.svg, scaleSvg(rows));
    process.stdout.write(`\nchart: ${a.svg}\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
