/**
 * Report benchmark (src/batch/reports.ts, docs/reports.md): the whole report suite (every sql/ file)
 *
 *   - on the lake, through storepulse (runReport per report: what `storepulse report NAME` does,
 *     DuckDB started, the lake listed, the `events` view made; and runAllReports for the suite);
 *   - on the same Parquet with plain DuckDB: one instance, a view over the files' glob, the same
 *     SQL prepared and bound by @duckdb/node-api, nothing of ours in between (target: ours / plain
 *     <= 1.2);
 *   - on the raw .csv.gz with the same SQL (a view over read_csv; target: csv / lake >= 10);
 *   - with flagged bot traffic left out (`people`, the default), ours and plain DuckDB with the same
 *     anti-join, the attackers of the generator's labels file standing in for the alert store.
 *
 *   npm run build && node dist/bench/reports.js [--csv /work/data/month.csv.gz] [--lake DIR]
 *     [--runs 2] [--csv-runs 1] [--labels FILE] [--pairs]
 *
 * `--pairs`: only the lake-against-CSV question, report by report in turn (ours on the lake, then
 * the same SQL on the .csv.gz), so that both sides of each ratio run under the same machine load;
 * prints the suite's totals and their ratio (target >= 10).
 *
 * Without --lake, a lake is built in a temp folder with plain DuckDB COPY from the CSV into the
 * lake's layout (events/event_date=YYYY-MM-DD/*.parquet, src/lake/schema.ts) and removed at the end.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { listReports, runAllReports, runReport } from '../src/batch/reports.js';
import { parseReportFile } from '../src/batch/sqlfile.js';
import { sqlString } from '../src/lake/duckdb.js';
import { EVENT_COLUMNS } from '../src/lake/schema.js';
import { fmt, machine, median, table } from './detect-common.js';

interface Opts {
  csv: string;
  lake?: string;
  runs: number;
  csvRuns: number;
  labels?: string;
  pairs: boolean;
}

function options(argv: string[]): Opts {
  const o: Opts = { csv: '/work/data/month.csv.gz', runs: 2, csvRuns: 1, pairs: false };
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]!];
    if (k === '--pairs') {
      o.pairs = true;
      i--;
    } else if (k === '--csv') o.csv = v;
    else if (k === '--lake') o.lake = v;
    else if (k === '--runs') o.runs = Number(v);
    else if (k === '--csv-runs') o.csvRuns = Number(v);
    else if (k === '--labels') o.labels = v;
    else throw new Error(`unknown argument ${k}`);
  }
  return o;
}

/** The CSV's columns (the data contract) with the lake's types. */
const CSV_FIELDS = EVENT_COLUMNS.slice(0, 9);
const csvSource = (csv: string) =>
  `read_csv(${sqlString(csv)}, header = true, timestampformat = '%Y-%m-%d %H:%M:%S UTC', columns = {${CSV_FIELDS.map(
    (c) => `${sqlString(c.name)}: ${sqlString(c.type)}`,
  ).join(', ')}})`;

async function plainDb() {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  await connection.run(`SET TimeZone = 'UTC'`);
  return {
    connection,
    close() {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

async function buildLake(csv: string, lakeDir: string): Promise<number> {
  const t = performance.now();
  const db = await plainDb();
  const rest = EVENT_COLUMNS.slice(9).map((c) => `CAST(NULL AS ${c.type}) AS ${c.name}`);
  await db.connection.run(`SET preserve_insertion_order = false`);
  await db.connection.run(
    `COPY (SELECT *, ${rest.join(', ')}, CAST(event_time AS DATE) AS event_date FROM ${csvSource(csv)})
     TO ${sqlString(path.join(lakeDir, 'events'))} (FORMAT parquet, PARTITION_BY (event_date), COMPRESSION snappy)`,
  );
  db.close();
  return performance.now() - t;
}

const reports = listReports().map((r) => ({
  ...r,
  ...parseReportFile(r.name, readFileSync(r.file, 'utf8')),
}));

/** Every report's SQL (or `only` these) through plain DuckDB over `events` as `view` defines it: ms per report. */
async function plainSuite(
  view: string,
  setup?: (c: Awaited<ReturnType<typeof plainDb>>) => Promise<void>,
  log?: (line: string) => void,
  only = reports,
) {
  const db = await plainDb();
  await setup?.(db);
  await db.connection.run(`CREATE VIEW events AS ${view}`);
  const ms: Record<string, number> = {};
  for (const r of only) {
    const t = performance.now();
    for (const q of r.queries) {
      const prepared = await db.connection.prepare(q.sql);
      for (let i = 1; i <= prepared.parameterCount; i++)
        prepared.bindBigInt(i, BigInt(r.defaults[prepared.parameterName(i)]!));
      await prepared.runAndReadAll();
    }
    ms[r.name] = performance.now() - t;
    log?.(`  ${r.name}: ${s(ms[r.name]!)} s`);
  }
  db.close();
  return ms;
}

const csvView = (csv: string) => `SELECT *, CAST(event_time AS DATE) AS event_date FROM ${csvSource(csv)}`;

/** `--pairs`: each report on the lake (ours, all traffic) and then on the .csv.gz, in turn. */
async function pairs(csv: string, lakeDir: string): Promise<void> {
  const rows = [['report', 'lake (ours) s', 'csv.gz s', 'csv/lake']];
  let lakeMs = 0;
  let csvMs = 0;
  for (const r of reports) {
    const t = performance.now();
    await runReport(r.name, lakeDir, { traffic: 'all', flaggedUsers: [] });
    const lake = performance.now() - t;
    const onCsv = (await plainSuite(csvView(csv), undefined, undefined, [r]))[r.name]!;
    console.log(`  ${r.name}: lake ${s(lake)} s, csv.gz ${s(onCsv)} s`);
    rows.push([r.name, s(lake), s(onCsv), fmt(onCsv / lake, 1)]);
    lakeMs += lake;
    csvMs += onCsv;
  }
  rows.push(['SUITE', s(lakeMs), s(csvMs), fmt(csvMs / lakeMs, 1)]);
  console.log(table(rows));
}

async function oursSuite(lakeDir: string, flaggedUsers: number[], traffic: 'all' | 'people') {
  const ms: Record<string, number> = {};
  for (const r of reports) {
    const t = performance.now();
    await runReport(r.name, lakeDir, { traffic, flaggedUsers });
    ms[r.name] = performance.now() - t;
  }
  const t = performance.now();
  await runAllReports(lakeDir, { traffic, flaggedUsers });
  return { ms, suite: performance.now() - t };
}

const sum = (ms: Record<string, number>) => Object.values(ms).reduce((a, b) => a + b, 0);
const s = (ms: number) => fmt(ms / 1000, 2);

async function main(): Promise<void> {
  const o = options(process.argv.slice(2));
  console.log(machine());
  console.log(`node dist/bench/reports.js ${process.argv.slice(2).join(' ')}`);
  const tmp = o.lake ? undefined : mkdtempSync(path.join(os.tmpdir(), 'storepulse-bench-reports-'));
  const lakeDir = o.lake ?? path.join(tmp!, 'lake');
  try {
    if (tmp) console.log(`lake built with plain DuckDB COPY in ${s(await buildLake(o.csv, lakeDir))} s`);
    const parts = readdirSync(path.join(lakeDir, 'events')).filter((d) => d.startsWith('event_date='));
    console.log(`lake: ${lakeDir}, ${parts.length} partitions`);
    const labels = JSON.parse(readFileSync(o.labels ?? `${o.csv}.labels.json`, 'utf8')) as {
      attacks: { user_ids: number[] }[];
    };
    const flagged = [...new Set(labels.attacks.flatMap((a) => a.user_ids))];
    console.log(`flagged users (the labels' attackers): ${fmt(flagged.length)}`);
    if (o.pairs) return await pairs(o.csv, lakeDir);

    const glob = sqlString(path.join(lakeDir, 'events', '*', '*.parquet'));
    const parquet = `SELECT * FROM read_parquet(${glob}, hive_partitioning = true)`;
    const antiJoin =
      `SELECT e.* FROM read_parquet(${glob}, hive_partitioning = true) e ` +
      `WHERE NOT EXISTS (SELECT 1 FROM flagged_users f WHERE f.user_id = e.user_id)`;
    const withFlagged = async (db: Awaited<ReturnType<typeof plainDb>>) => {
      await db.connection.run('CREATE TABLE flagged_users (user_id BIGINT PRIMARY KEY)');
      await db.connection.run(`INSERT INTO flagged_users SELECT unnest([${flagged.join(',')}]::BIGINT[])`);
    };

    type Run = { ours: Record<string, number>; suite: number; plain: Record<string, number> };
    const all: Run[] = [];
    const people: Run[] = [];
    for (let i = 0; i < o.runs; i++) {
      // Alternated, so that neither side always runs on a warmer cache.
      const plainAll = await plainSuite(parquet);
      const oursAll = await oursSuite(lakeDir, flagged, 'all');
      const oursPeople = await oursSuite(lakeDir, flagged, 'people');
      const plainPeople = await plainSuite(antiJoin, withFlagged);
      all.push({ ours: oursAll.ms, suite: oursAll.suite, plain: plainAll });
      people.push({ ours: oursPeople.ms, suite: oursPeople.suite, plain: plainPeople });
      console.log(
        `run ${i + 1}: all traffic ours ${s(sum(oursAll.ms))} s (suite ${s(oursAll.suite)} s), plain ${s(sum(plainAll))} s; ` +
          `people ours ${s(sum(oursPeople.ms))} s (suite ${s(oursPeople.suite)} s), plain ${s(sum(plainPeople))} s`,
      );
    }
    const csv: Record<string, number>[] = [];
    for (let i = 0; i < o.csvRuns; i++) {
      csv.push(await plainSuite(csvView(o.csv), undefined, (line) => console.log(line)));
      console.log(`csv run ${i + 1}: ${s(sum(csv[i]!))} s`);
    }

    const med = (runs: Record<string, number>[], name: string) => median(runs.map((r) => r[name]!));
    const rows = [
      [
        'report',
        'lake (ours) s',
        'plain DuckDB s',
        'ours/plain',
        'people (ours) s',
        'people plain s',
        'csv.gz s',
        'csv/lake',
      ],
    ];
    for (const r of [...reports.map((x) => x.name), 'TOTAL']) {
      const pick = (runs: Record<string, number>[]) => (r === 'TOTAL' ? median(runs.map(sum)) : med(runs, r));
      const ours = pick(all.map((x) => x.ours));
      const plain = pick(all.map((x) => x.plain));
      const c = csv.length > 0 ? pick(csv) : NaN;
      rows.push([
        r,
        s(ours),
        s(plain),
        fmt(ours / plain, 2),
        s(pick(people.map((x) => x.ours))),
        s(pick(people.map((x) => x.plain))),
        csv.length > 0 ? s(c) : 'n/a',
        csv.length > 0 ? fmt(c / ours, 1) : 'n/a',
      ]);
    }
    console.log(table(rows));
    console.log(
      `suite in one DuckDB (runAllReports), median: all ${s(median(all.map((x) => x.suite)))} s, ` +
        `people ${s(median(people.map((x) => x.suite)))} s`,
    );
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
