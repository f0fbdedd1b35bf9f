/**
 * Distinct-count benchmark: storepulse's HyperLogLog (src/core/sketches/hll.ts) against DuckDB's
 * approx_count_distinct and exact count(DISTINCT ...) over the same ids, in the same run, best of N.
 *
 *   npm run build && node dist/bench/sketches.js [--runs 3] [--only numbers-1M,numbers-10M,uuids-1M]
 *
 * Ids (all distinct, the same on both sides):
 * - user-id-like numbers: 512,000,000 + (i·48271 mod 2^27), a scrambled order of distinct integers
 *   like REES46's user_id;
 * - session-id-like strings: md5('session-' || i) in UUID form (8-4-4-4-12 hex), like user_session.
 *
 * Ours: one JavaScript thread adding ids from an array already in memory, then count(). DuckDB: the
 * same ids in an in-memory table (made before timing), its default threads (all cores).
 */
import { createHash } from 'node:crypto';
import os from 'node:os';
import { HLL_RELATIVE_BOUND, HyperLogLog } from '../src/core/sketches/hll.js';
import { type DuckDB, openDuckDB } from '../src/lake/duckdb.js';

interface Workload {
  name: string;
  n: number;
  kind: 'number' | 'uuid';
}

const WORKLOADS: Workload[] = [
  { name: 'numbers-1M', n: 1_000_000, kind: 'number' },
  { name: 'numbers-10M', n: 10_000_000, kind: 'number' },
  { name: 'uuids-1M', n: 1_000_000, kind: 'uuid' },
];

function parseArgs(argv: string[]): { runs: number; only?: string[] } {
  const a: { runs: number; only?: string[] } = { runs: 3 };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i];
    const v = argv[i + 1];
    if (k === '--runs') a.runs = Number(v);
    else if (k === '--only') a.only = v!.split(',');
    else throw new Error(`unknown argument ${k}`);
  }
  return a;
}

const numberId = (i: number) => 512_000_000 + ((i * 48271) % 134_217_728);
const numbersSql = (n: number) => `SELECT 512000000 + (i * 48271) % 134217728 AS id FROM range(${n}) r(i)`;

function uuidOf(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
const uuidsSql = (n: number) =>
  `SELECT substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-' || substr(h, 13, 4) || '-' || substr(h, 17, 4) ||
    '-' || substr(h, 21) AS id FROM (SELECT md5('session-' || i) AS h FROM range(${n}) r(i))`;

interface Timed {
  ms: number;
  count: number;
}

function best(runs: Timed[]): Timed {
  return runs.reduce((a, b) => (b.ms < a.ms ? b : a));
}

function runOurs(w: Workload, numbers: Float64Array, strings: string[], viaString = false): Timed {
  const h = new HyperLogLog();
  const t0 = performance.now();
  if (w.kind === 'uuid') for (let i = 0; i < strings.length; i++) h.addString(strings[i]!);
  else if (viaString) for (let i = 0; i < numbers.length; i++) h.addString(String(numbers[i]!));
  else for (let i = 0; i < numbers.length; i++) h.addNumber(numbers[i]!);
  const count = h.count();
  return { ms: performance.now() - t0, count };
}

async function runDuckdb(db: DuckDB, sql: string): Promise<Timed> {
  const t0 = performance.now();
  const reader = await db.connection.runAndReadAll(sql);
  const ms = performance.now() - t0;
  return { ms, count: Number(reader.getRowsJS()[0]![0]) };
}

function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

const pct = (count: number, exact: number) =>
  `${count >= exact ? '+' : ''}${fmt(((count - exact) / exact) * 100, 3)}%`;

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const db = await openDuckDB();
  const threads = (await db.connection.runAndReadAll(`SELECT current_setting('threads')`)).getRowsJS()[0]![0];
  const out: string[] = [
    `machine: ${os.cpus()[0]?.model ?? '?'} x${os.cpus().length}, ${fmt(os.totalmem() / 2 ** 30, 1)} GiB, ` +
      `Node ${process.version}; DuckDB threads ${String(threads)}; best of ${a.runs}`,
    `HLL: p = 14, 16 KiB dense, documented bound ±${fmt(HLL_RELATIVE_BOUND * 100, 2)}% (3 SE)`,
  ];
  try {
    for (const w of WORKLOADS) {
      if (a.only && !a.only.includes(w.name)) continue;
      process.stderr.write(`${w.name}: making ids\n`);
      const numbers = new Float64Array(w.kind === 'number' ? w.n : 0);
      for (let i = 0; i < numbers.length; i++) numbers[i] = numberId(i);
      const strings =
        w.kind === 'uuid'
          ? Array.from({ length: w.n }, (_, i) =>
              uuidOf(createHash('md5').update(`session-${i}`).digest('hex')),
            )
          : [];
      const select = w.kind === 'number' ? numbersSql(w.n) : uuidsSql(w.n);
      await db.connection.run(`CREATE OR REPLACE TABLE ids AS ${select}`);
      // The same ids on both sides: compare a checksum of the first ones.
      const first = (await db.connection.runAndReadAll(`SELECT id FROM ids LIMIT 3`))
        .getRowsJS()
        .map((r) => String(r[0]));
      const ours3 = w.kind === 'number' ? [...numbers.slice(0, 3)].map(String) : strings.slice(0, 3);
      if (first.join() !== ours3.join()) throw new Error(`ids differ: ${first.join()} vs ${ours3.join()}`);

      const o: Timed[] = [];
      const viaString: Timed[] = [];
      const approx: Timed[] = [];
      const exact: Timed[] = [];
      for (let r = 0; r < a.runs; r++) {
        o.push(runOurs(w, numbers, strings));
        if (w.kind === 'number' && w.n <= 1_000_000) viaString.push(runOurs(w, numbers, strings, true));
        approx.push(await runDuckdb(db, 'SELECT approx_count_distinct(id) FROM ids'));
        exact.push(await runDuckdb(db, 'SELECT count(DISTINCT id) FROM ids'));
      }
      const ours = best(o);
      const ap = best(approx);
      const ex = best(exact);
      if (ex.count !== w.n) throw new Error(`${w.name}: ${ex.count} distinct ids, expected ${w.n}`);
      const rate = (t: Timed) => (w.n / t.ms) * 1000;
      const line = (name: string, t: Timed) =>
        `  ${name.padEnd(34)} ${fmt(t.ms, 1).padStart(9)} ms ${fmt(rate(t)).padStart(13)} ids/s  ` +
        `count ${fmt(t.count).padStart(10)}  error ${pct(t.count, w.n).padStart(8)}`;
      out.push(
        `${w.name}: ${fmt(w.n)} distinct ${w.kind === 'number' ? 'user-id-like numbers' : 'session-id-like UUIDs'}`,
        line(`storepulse HLL add${w.kind === 'number' ? 'Number' : 'String'} + count`, ours),
        ...(viaString.length > 0 ? [line('storepulse HLL addString(String(n))', best(viaString))] : []),
        line('duckdb approx_count_distinct', ap),
        line('duckdb count(DISTINCT)', ex),
        `  ratio ours/duckdb approx (throughput): ${(ap.ms / ours.ms).toFixed(2)}; ` +
          `ours/duckdb exact: ${(ex.ms / ours.ms).toFixed(2)}`,
      );
    }
  } finally {
    db.close();
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
