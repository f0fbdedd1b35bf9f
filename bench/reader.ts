/**
 * Reader benchmark: storepulse's readEvents against DuckDB read_csv over the same file, best of N,
 * each engine in its own child process so that peak RSS is its own.
 *
 *   npm run build && node dist/bench/reader.js [--data synthetic|local] [--rows 1000000] [--seed 46]
 *                                            [--dir DIR] [--file F] [--runs 3] [--gzip] [--threads N]
 *
 * `--threads` is ReadOptions.threads for ours (default: the reader's own choice, which for a plain
 * file of 32 MiB or more is this thread plus one parse worker).
 *
 * The data set is made once per (data, rows, seed) and reused from DIR (default: the OS temp folder).
 */
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { CSV_HEADER } from '../src/core/event.js';
import { readEvents } from '../src/sources/reader.js';

interface Args {
  /** `synthetic`: the project's generator (REES46-calibrated); `local`: this file's writer, ~3% quoted rows. */
  data: 'synthetic' | 'local';
  rows: number;
  seed: number;
  runs: number;
  dir: string;
  file?: string;
  gzip: boolean;
  threads?: number;
  engine?: 'ours' | 'duckdb';
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    data: 'synthetic',
    rows: 1_000_000,
    seed: 46,
    runs: 3,
    dir: path.join(os.tmpdir(), 'storepulse-bench'),
    gzip: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[i + 1];
    if (k === '--data') a.data = v === 'local' ? 'local' : 'synthetic';
    else if (k === '--rows') a.rows = Number(v!.replace(/_/g, ''));
    else if (k === '--seed') a.seed = Number(v);
    else if (k === '--runs') a.runs = Number(v);
    else if (k === '--dir') a.dir = v!;
    else if (k === '--file') a.file = v!;
    else if (k === '--engine') a.engine = v as Args['engine'];
    else if (k === '--threads') a.threads = Number(v);
    else if (k === '--gzip') {
      a.gzip = true;
      continue;
    } else throw new Error(`unknown argument ${k}`);
    i++;
  }
  return a;
}

// ---------------------------------------------------------------------------------------------
// Data sets: the project's synthetic generator, or a small local writer of REES46-shaped rows
// with some quoted fields (which the real files never have) to exercise the slow path.
type MakeDataset = (opts: { events: number; seed: number; out: string }) => Promise<unknown>;

async function datasetMaker(kind: Args['data']): Promise<MakeDataset> {
  if (kind === 'local') return writeLocalRows;
  const { generateToFile } = await import('../src/sources/synthetic/generator.js');
  return (opts) => generateToFile(opts);
}

function mulberry32(seed: number): () => number {
  let t = seed >>> 0;
  return () => {
    t = (t + 0x6d2b79f5) >>> 0;
    let r = Math.imul(t ^ (t >>> 15), 1 | t);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

const CODES = [
  'electronics.smartphone',
  'electronics.clocks',
  'computers.notebook',
  'electronics.video.tv',
  'electronics.audio.headphone',
  'appliances.kitchen.refrigerators',
  'appliances.kitchen.washer',
  'appliances.environment.vacuum',
  'apparel.shoes',
  'auto.accessories.player',
  'furniture.living_room.sofa',
  'construction.tools.drill',
];
const BRANDS = [
  'samsung',
  'apple',
  'xiaomi',
  'huawei',
  'lucente',
  'lg',
  'bosch',
  'oppo',
  'sony',
  'acer',
  'shiseido',
];

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** REES46-shaped rows with skewed ids, ~32% empty category_code, ~14% empty brand, ~3% quoted fields. */
async function writeLocalRows(opts: { events: number; seed: number; out: string }): Promise<void> {
  const rnd = mulberry32(opts.seed);
  const hex = (n: number) => {
    let s = '';
    for (let i = 0; i < n; i++) s += ((rnd() * 16) | 0).toString(16);
    return s;
  };
  const categories = Array.from({ length: 650 }, (_, i) =>
    (2053013552226107603n + BigInt(i) * 9187329n).toString(),
  );
  const sessions = Array.from(
    { length: 20000 },
    () => `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`,
  );
  const tmp = `${opts.out}.tmp`;
  const fd = openSync(tmp, 'w');
  let buf = `${CSV_HEADER}\n`;
  let t = Date.UTC(2019, 9, 1);
  for (let i = 0; i < opts.events; i++) {
    t += (rnd() * 1600) | 0;
    const d = new Date(t);
    const time = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(
      d.getUTCHours(),
    )}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`;
    const r = rnd();
    const type = r < 0.94 ? 'view' : r < 0.985 ? 'cart' : r < 0.999 ? 'purchase' : 'remove_from_cart';
    const product = 1000000 + Math.floor(190000 * rnd() ** 3);
    const category = categories[product % categories.length]!;
    let code = rnd() < 0.32 ? '' : CODES[product % CODES.length]!;
    let brand = rnd() < 0.14 ? '' : BRANDS[(product >> 3) % BRANDS.length]!;
    const q = rnd();
    if (q < 0.01) brand = `"${brand}, inc"`;
    else if (q < 0.02) code = `"${code}"`;
    else if (q < 0.03) brand = `"${brand} ""pro"""`;
    const price = (Math.exp(rnd() * 5 + 2) + (product % 100) / 100).toFixed(2);
    const user = 512000000 + Math.floor(3000000 * rnd() ** 2);
    const session = rnd() < 0.0005 ? '' : sessions[user % sessions.length]!;
    buf += `${time},${type},${product},${category},${code},${brand},${price},${user},${session}\n`;
    if (buf.length > 1 << 20) {
      writeSync(fd, buf);
      buf = '';
    }
  }
  writeSync(fd, buf);
  closeSync(fd);
  renameSync(tmp, opts.out);
}

// ---------------------------------------------------------------------------------------------
// Engines: each returns the row count and a checksum, so no work can be skipped.

interface RunResult {
  rows: number;
  checksum: string;
  ms: number;
}

async function runOurs(file: string, threads?: number): Promise<RunResult> {
  const t0 = performance.now();
  let rows = 0;
  let sum = 0;
  const it = readEvents(file, { deadLetter: null, threads });
  for await (const batch of it) {
    for (const e of batch) {
      rows++;
      sum =
        (sum +
          (e.product_id ^ e.user_id) +
          Math.round(e.price * 100) +
          ((e.event_time / 1000) | 0) +
          e.event_type.length +
          e.category_id.length +
          (e.category_code?.length ?? 0) +
          (e.brand?.length ?? 0) +
          (e.user_session?.length ?? 0)) |
        0;
    }
  }
  if (it.stats.rejected > 0)
    throw new Error(`unexpected rejects: ${JSON.stringify(it.stats.rejectedByReason)}`);
  return { rows, checksum: String(sum), ms: performance.now() - t0 };
}

async function runDuckdb(file: string, _threads?: number): Promise<RunResult> {
  const inst = await DuckDBInstance.create(':memory:');
  const con = await inst.connect();
  const t0 = performance.now();
  const sql = `
    SELECT count(*) AS n, min(event_time) AS t0, max(event_time) AS t1, sum(length(event_type)) AS a,
      sum(product_id) AS b, sum(length(category_id)) AS c, sum(length(category_code)) AS d,
      sum(length(brand)) AS e, sum(price) AS f, sum(user_id) AS g, sum(length(user_session)) AS h
    FROM read_csv('${file.replace(/'/g, "''")}', header = true, delim = ',', quote = '"', escape = '"',
      timestampformat = '%Y-%m-%d %H:%M:%S UTC',
      columns = {'event_time': 'TIMESTAMP', 'event_type': 'VARCHAR', 'product_id': 'BIGINT',
        'category_id': 'VARCHAR', 'category_code': 'VARCHAR', 'brand': 'VARCHAR', 'price': 'DOUBLE',
        'user_id': 'BIGINT', 'user_session': 'VARCHAR'})`;
  const reader = await con.runAndReadAll(sql);
  const row = reader.getRowsJS()[0]!;
  const ms = performance.now() - t0;
  con.closeSync();
  inst.closeSync();
  return { rows: Number(row[0]), checksum: row.slice(1).map(String).join('/'), ms };
}

async function child(a: Args): Promise<void> {
  const run = a.engine === 'duckdb' ? runDuckdb : runOurs;
  let best: RunResult | undefined;
  for (let i = 0; i < a.runs; i++) {
    const r = await run(a.file!, a.threads);
    if (!best || r.ms < best.ms) best = r;
  }
  const maxRssMiB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(`${JSON.stringify({ ...best, maxRssMiB })}\n`);
}

// ---------------------------------------------------------------------------------------------

function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  if (a.engine) return child(a);
  let file = a.file;
  if (!file) {
    file = path.join(a.dir, `${a.data === 'local' ? 'rees46-shaped' : 'synthetic'}-${a.rows}-${a.seed}.csv`);
    if (!existsSync(file)) {
      mkdirSync(a.dir, { recursive: true });
      process.stderr.write(`writing ${fmt(a.rows)} rows to ${file}\n`);
      await (
        await datasetMaker(a.data)
      )({ events: a.rows, seed: a.seed, out: file });
    }
  }
  if (a.gzip && !file.endsWith('.gz')) {
    const gz = `${file}.gz`;
    if (!existsSync(gz)) {
      process.stderr.write(`compressing to ${gz}\n`);
      writeFileSync(gz, gzipSync(readFileSync(file), { level: 6 }));
    }
    file = gz;
  }
  const bytes = statSync(file).size;
  const self = fileURLToPath(import.meta.url);
  // Engines alternate run by run, so that load from elsewhere on the machine hits both alike.
  const results: Partial<Record<'ours' | 'duckdb', RunResult & { maxRssMiB: number }>> = {};
  for (let i = 0; i < a.runs; i++) {
    for (const engine of ['ours', 'duckdb'] as const) {
      const threads = engine === 'ours' && a.threads !== undefined ? ['--threads', String(a.threads)] : [];
      const r = spawnSync(
        process.execPath,
        [self, '--engine', engine, '--file', file, '--runs', '1', ...threads],
        {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      if (r.status !== 0) throw new Error(`${engine} run failed (exit ${r.status})`);
      const got = JSON.parse(r.stdout.trim().split('\n').pop()!) as RunResult & { maxRssMiB: number };
      process.stderr.write(`run ${i + 1} ${engine}: ${fmt(got.ms)} ms\n`);
      const prev = results[engine];
      if (!prev || got.ms < prev.ms)
        results[engine] = { ...got, maxRssMiB: Math.max(got.maxRssMiB, prev?.maxRssMiB ?? 0) };
      else prev.maxRssMiB = Math.max(prev.maxRssMiB, got.maxRssMiB);
    }
  }
  const ours = results.ours!;
  const duck = results.duckdb!;
  if (ours.rows !== duck.rows) throw new Error(`row counts differ: ours ${ours.rows}, duckdb ${duck.rows}`);
  const line = (name: string, r: RunResult & { maxRssMiB: number }) =>
    `${name.padEnd(22)} ${fmt(r.ms).padStart(8)} ms  ${fmt((r.rows / r.ms) * 1000).padStart(11)} rows/s  ` +
    `${fmt(bytes / 1048576 / (r.ms / 1000), 1).padStart(7)} MiB/s  peak RSS ${fmt(r.maxRssMiB)} MiB`;
  process.stdout.write(
    [
      `file: ${file} (${fmt(bytes / 1048576, 1)} MiB, ${fmt(ours.rows)} rows), best of ${a.runs}`,
      `machine: ${os.cpus()[0]?.model ?? '?'} x${os.cpus().length}, ${fmt(os.totalmem() / 2 ** 30, 1)} GiB, ` +
        `Node ${process.version}`,
      line(`storepulse readEvents${a.threads !== undefined ? ` (threads ${a.threads})` : ''}`, ours),
      line('duckdb read_csv', duck),
      `ratio ours/duckdb (throughput): ${(duck.ms / ours.ms).toFixed(2)}  (target >= 0.5)`,
      '',
    ].join('\n'),
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
