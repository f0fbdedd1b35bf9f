/** Shared by the parts of bench/detect.ts (and bench/journey.ts): arguments, the data set, formatting. */ import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sqlString } from '../src/lake/duckdb.js';

export interface Args {
  part: 'throughput' | 'latency' | 'memory' | 'store';
  events: number;
  runs: number;
  seed: number;
  dir: string;
  file?: string;
  perDay?: number;
  attackRepeats?: number;
  /** Latency: events per second sent by the simulator. */
  rate: number;
  /** Latency: streams.pollMs values to try. */
  poll: number[];
  /** Latency: streams.durability values to try. */
  durability: ('batch' | 'interval' | 'none')[];
  /** Latency: streams.checkpointSeconds (default: the config's). */
  checkpointSeconds?: number;
  /** Latency: turn the reference rule on beside the default rules. */
  reference: boolean;
  /** Latency: whether `process` copies events to the lake (a user's default: on). */
  lake: boolean;
  /** Memory: also run the processor over a bounded MemoryStream. */
  processor: boolean;
  /** Memory: sample every this many events. */
  every: number;
  /** Throughput child mode: run one phase and print its result as JSON. */
  phase?: string;
  keep: boolean;
}

export function parseArgs(argv: string[]): Args {
  const a: Args = {
    part: 'throughput',
    events: 0,
    runs: 3,
    seed: 46,
    dir: path.join(os.tmpdir(), 'storepulse-bench-detect'),
    rate: 20_000,
    poll: [50, 10, 5],
    durability: ['batch', 'interval'],
    reference: false,
    lake: true,
    processor: false,
    every: 1_000_000,
    keep: false,
  };
  const num = (v: string | undefined) => {
    const n = Number(v?.replace(/_/g, ''));
    if (!Number.isFinite(n)) throw new Error(`not a number: ${String(v)}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[i + 1];
    const flag = () => {
      i--;
      return true;
    };
    if (k === '--part') a.part = v as Args['part'];
    else if (k === '--events') a.events = num(v);
    else if (k === '--runs') a.runs = num(v);
    else if (k === '--seed') a.seed = num(v);
    else if (k === '--dir') a.dir = v!;
    else if (k === '--file') a.file = v!;
    else if (k === '--per-day') a.perDay = num(v);
    else if (k === '--attack-repeats') a.attackRepeats = num(v);
    else if (k === '--rate') a.rate = num(v);
    else if (k === '--poll') a.poll = v!.split(',').map(num);
    else if (k === '--durability') a.durability = v!.split(',') as Args['durability'];
    else if (k === '--lake') a.lake = v !== 'off';
    else if (k === '--checkpoint-seconds') a.checkpointSeconds = num(v);
    else if (k === '--every') a.every = num(v);
    else if (k === '--phase') a.phase = v!;
    else if (k === '--reference') a.reference = flag();
    else if (k === '--processor') a.processor = flag();
    else if (k === '--keep') a.keep = flag();
    else throw new Error(`unknown argument ${k}`);
    i++;
  }
  if (!['throughput', 'latency', 'memory', 'store'].includes(a.part))
    throw new Error(`unknown part ${a.part}`);
  if (a.events === 0)
    a.events = a.part === 'latency' ? 600_000 : a.part === 'memory' ? 10_000_000 : 2_000_000;
  return a;
}

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');

/** The data set of these args: generated with every attack profile once, then reused. */
export function dataset(a: Args): string {
  if (a.file) return a.file;
  mkdirSync(a.dir, { recursive: true });
  const tag = [
    a.events,
    `s${a.seed}`,
    a.perDay ? `d${a.perDay}` : '',
    a.attackRepeats ? `r${a.attackRepeats}` : '',
  ]
    .filter(Boolean)
    .join('-');
  const file = path.join(a.dir, `events-${tag}.csv`);
  if (existsSync(file)) return file;
  const tmp = `${file}.tmp.csv`;
  const extra = [
    ...(a.perDay ? ['--per-day', String(a.perDay)] : []),
    ...(a.attackRepeats ? ['--attack-repeats', String(a.attackRepeats)] : []),
  ];
  process.stderr.write(`generating ${fmt(a.events)} events into ${file}\n`);
  const r = spawnSync(
    process.execPath,
    [
      CLI,
      '-q',
      'generate',
      '--events',
      String(a.events),
      '--seed',
      String(a.seed),
      '--attacks',
      'all',
      ...extra,
    ].concat(['--out', tmp, '--labels', `${file}.labels.json`]),
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  if (r.status !== 0) throw new Error(`generate failed (exit ${r.status})`);
  renameSync(tmp, file);
  return file;
}

/** A generated CSV as DuckDB reads it in the benches: typed columns, the dataset's time format. */
export const readCsv = (file: string) =>
  `read_csv(${sqlString(file)}, header = true, delim = ',', quote = '"', escape = '"',
      timestampformat = '%Y-%m-%d %H:%M:%S UTC',
      columns = {'event_time': 'TIMESTAMP', 'event_type': 'VARCHAR', 'product_id': 'BIGINT',
        'category_id': 'VARCHAR', 'category_code': 'VARCHAR', 'brand': 'VARCHAR', 'price': 'DOUBLE',
        'user_id': 'BIGINT', 'user_session': 'VARCHAR'})`;

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Percentile by nearest rank. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export const MiB = 1024 * 1024;

/** Peak RSS of this process so far, MiB. */
export function peakRssMiB(): number {
  return (process.resourceUsage().maxRSS * 1024) / MiB;
}

export function machine(): string {
  const l = os.loadavg().map((x) => x.toFixed(2));
  return (
    `machine: ${os.cpus()[0]?.model ?? '?'} x${os.cpus().length}, ${fmt(os.totalmem() / 2 ** 30, 1)} GiB, ` +
    `Node ${process.version}; load average ${l.join(' ')}`
  );
}

/** A plain text table: the first row is the header; numbers right-aligned. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const right = (s: string) => /^[-\d.,~]+( ?%| ms| MiB)?$|^n\/a$/.test(s);
  return rows
    .map((r) =>
      r.map((s, c) => (right(s) && c > 0 ? s.padStart(widths[c]!) : s.padEnd(widths[c]!))).join('  '),
    )
    .join('\n');
}
