/**
 * Crash safety: `simulate --to embedded://…` and `process --from embedded://…` run as separate
 * processes and are killed with SIGKILL at random points, several times, then restarted until both
 * finish. Afterwards:
 * - stream 1 holds every source event exactly once (a resumed replay sends nothing twice);
 * - the lake holds every stream-1 record exactly once, by shard and sequence number;
 * - the alert store holds exactly the alerts an independent DuckDB computation over the lake
 *   finds (users with more than 5 events in a 10 s tumbling window, with the same counts), and
 *   stream 2 carries every one of them;
 * - the live journey rollups are the same as those of one uninterrupted run over the same stream.
 * The random points come from a seed printed on failure (CRASH_SEED=… reruns one).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeRecord } from '../../src/core/codec.js';
import { encodeRecord } from '../../src/core/codec.js';
import { isRejection } from '../../src/core/row.js';
import { readEvents } from '../../src/sources/reader.js';
import { Rng } from '../../src/sources/synthetic/rng.js';
import { openEmbeddedStream } from '../../src/streams/embedded/stream.js';
import type { StreamRecord } from '../../src/streams/types.js';
import { SqliteAlertStore } from '../../src/stores/sqlite/alert-store.js';
import { CLI, generateCsv, storepulse } from '../helpers/cli.js';

const EVENTS = 40_000;
const ROUNDS = 6;
/**
 * Besides kills at random times, failpoints (src/core/failpoint.ts) kill each side, now and then,
 * exactly where a crash is hardest: between a put and the replay's checkpoint; between the lake's
 * flush and the consumer checkpoint; halfway through publishing a flush; after alerts went to
 * stream 2 but before they were stored.
 */
const SIM_FAILPOINTS = 'simulate.after-put=0.02';
const PROC_FAILPOINTS = 'process.after-lake-flush=0.1,lake.mid-publish=0.05,process.after-alert-stream=0.05';

let dir: string;
let csv: string;
/** The data folder of the test running. */
let dataDir: string;
let config: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'sp-crash-'));
  csv = path.join(dir, 'events.csv');
  config = path.join(dir, 'storepulse.config.json');
  // Frequent checkpoints, so that kills land between them as well as on them.
  // The reference rule runs beside the default rules: its alerts have an independent check below.
  // Hours keep every product (no top-K cut): the cut is taken per layer, people and flagged, and
  // which events count as flagged depends on batch boundaries, so near the cut two exact runs may
  // keep different tails; without it the all-traffic figures must match exactly.
  writeFileSync(
    config,
    JSON.stringify({
      detect: { reference: true },
      streams: { checkpointRecords: 3000, checkpointSeconds: 0.3 },
      journey: { topK: 10_000 },
    }),
  );
  generateCsv(csv, EVENTS, 5);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const simArgs = (rate = 8000) => ['simulate', csv, '--to', 'embedded://raw', '--rate', String(rate)];
const procArgs = ['process', '--from', 'embedded://raw', '--alerts-to', 'embedded://alerts'];

interface Run {
  child: ChildProcess;
  stderr: string;
  exited: Promise<number | null>;
}

function start(args: string[], failpoints = ''): Run {
  const child = spawn(process.execPath, [CLI, '--data-dir', dataDir, '--config', config, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, STOREPULSE_FAILPOINTS: failpoints },
  });
  const run: Run = {
    child,
    stderr: '',
    exited: new Promise((resolve) => child.on('exit', (code, signal) => resolve(signal ? null : code))),
  };
  child.stderr!.on('data', (d: Buffer) => (run.stderr += d.toString()));
  return run;
}

/** Kills with SIGKILL after `ms` unless it ended first; a run that ended by itself must have succeeded. */
async function killAfter(run: Run, ms: number, what: string): Promise<void> {
  const timer = setTimeout(() => run.child.kill('SIGKILL'), ms);
  const code = await run.exited;
  clearTimeout(timer);
  if (code !== null) expect(code, `${what} failed:\n${run.stderr}`).toBe(0);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until stream 1 holds a checkpoint file starting with each prefix (while the runs are alive). */
async function checkpointed(prefixes: string[], runs: Run[]): Promise<void> {
  const dir = path.join(dataDir, 'streams', 'raw', 'checkpoints');
  const has = () => {
    const files = existsSync(dir) ? readdirSync(dir) : [];
    return prefixes.every((p) => files.some((f) => f.startsWith(p)));
  };
  while (!has()) {
    for (const r of runs) expect(r.child.exitCode ?? 0, r.stderr).toBe(0);
    await sleep(20);
  }
}

async function readAll(name: string): Promise<StreamRecord[]> {
  const stream = await openEmbeddedStream({ dir: path.join(dataDir, 'streams', name), name, mode: 'read' });
  try {
    const out: StreamRecord[] = [];
    for (const shard of await stream.listShards()) {
      for await (const read of stream.readShard(shard.shardId, { type: 'oldest' }, { untilCaughtUp: true })) {
        out.push(...read.records);
      }
    }
    return out;
  } finally {
    await stream.close();
  }
}

/** Everything a crash must not break, checked against the source file and DuckDB over the lake. */
async function verify(context: string): Promise<void> {
  // `storepulse streams` sees the whole of stream 1, read to the end by the processor.
  const listing = storepulse(['--data-dir', dataDir, 'streams', 'embedded://raw', '--json']);
  expect(listing.code, listing.stderr).toBe(0);
  const [raw] = JSON.parse(listing.stdout) as {
    records: number;
    consumers: { consumer: string; lagRecords: number }[];
  }[];
  expect(raw!.records, context).toBe(EVENTS);
  expect(raw!.consumers, context).toEqual([expect.objectContaining({ consumer: 'process', lagRecords: 0 })]);

  // Stream 1 holds every source event once (compared without the send time).
  const records = await readAll('raw');
  const inStream = records.map((r) => {
    const e = decodeRecord(r.data);
    if (isRejection(e)) throw new Error(`bad record in stream 1: ${r.data}`);
    return encodeRecord({ ...e, txn_timestamp: undefined });
  });
  const inSource: string[] = [];
  for await (const batch of readEvents(csv)) for (const e of batch) inSource.push(encodeRecord(e));
  expect(inStream.length, context).toBe(EVENTS);
  expect([...inStream].sort(), context).toEqual([...inSource].sort());

  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    const lake = `read_parquet('${path.join(dataDir, 'lake', 'events', '*', '*.parquet')}')`;
    // The lake holds each stream record once.
    const lakeKeys = (
      await conn.runAndReadAll(`SELECT stream_shard || '/' || stream_seq AS k FROM ${lake}`)
    ).getRowObjectsJS() as { k: string }[];
    expect(lakeKeys.length, context).toBe(records.length);
    expect(new Set(lakeKeys.map((r) => r.k)), context).toEqual(
      new Set(records.map((r) => `${r.shardId}/${r.sequenceNumber}`)),
    );

    // Alerts: exactly the windows over the threshold, with their counts.
    const expected = (
      await conn.runAndReadAll(
        `SELECT user_id::BIGINT AS user_id, epoch_ms(time_bucket(INTERVAL 10 SECOND, event_time))::BIGINT AS w,
           count(*)::INTEGER AS n
         FROM ${lake} GROUP BY ALL HAVING count(*) > 5`,
      )
    ).getRowObjectsJS() as { user_id: bigint; w: bigint; n: number }[];
    const store = new SqliteAlertStore(path.join(dataDir, 'alerts.sqlite'), 'storepulse');
    const all = await store.list({ limit: 1_000_000 });
    await store.close();
    const stored = all.filter((a) => a.rule === 'reference-user-rate');
    // The other rules fire too (the data set has attacks), each alert once.
    expect(all.length, context).toBeGreaterThan(stored.length);
    expect(new Set(all.map((a) => a.id)).size, context).toBe(all.length);
    const key = (u: number | bigint, w: number | bigint, n: number) => `${u}@${w}:${n}`;
    expect(expected.length, context).toBeGreaterThan(10);
    expect(new Set(stored.map((a) => key(a.user_id!, Date.parse(a.window_start), a.count))), context).toEqual(
      new Set(expected.map((r) => key(r.user_id, r.w, r.n))),
    );
    expect(new Set(stored.map((a) => a.id)).size).toBe(stored.length);

    // Stream 2 carries every stored alert (at least once: its readers keep one per id).
    const onStream2 = new Set(
      (await readAll('alerts')).map((r) => (JSON.parse(r.data) as { id: string }).id),
    );
    for (const a of all) expect(onStream2.has(a.id), `${context}: alert ${a.id} not on stream 2`).toBe(true);
  } finally {
    conn.closeSync();
  }
  await verifyJourney(context);
}

/**
 * The rollups after the crashes equal those of one run without a crash over a copy of stream 1 (all
 * traffic: which batch flagged a bot, and so how much of it counts as flagged, depends on batching).
 */
async function verifyJourney(context: string): Promise<void> {
  const fresh = `${dataDir}-uninterrupted`;
  cpSync(path.join(dataDir, 'streams', 'raw'), path.join(fresh, 'streams', 'raw'), { recursive: true });
  const run = storepulse([
    '-q',
    '--data-dir',
    fresh,
    '--config',
    config,
    'process',
    '--from',
    'embedded://raw',
    '--consumer',
    'uninterrupted',
    '--alerts-to',
    'none',
    '--no-lake',
  ]);
  expect(run.code, run.stderr).toBe(0);
  const figures = (folder: string, grain: string) => {
    const r = storepulse([
      '--data-dir',
      folder,
      'live',
      '--once',
      '--json',
      '--grain',
      grain,
      '--top',
      '1000',
      '--from',
      '2000-01-01T00:00:00Z',
      '--to',
      '2100-01-01T00:00:00Z',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const { status, flagged, ...rest } = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(status, context).toMatchObject({ tooLate: 0, sessionsTooLate: 0 });
    expect(flagged, context).toBeDefined();
    return rest;
  };
  for (const grain of ['minute', 'hour']) {
    const crashed = figures(dataDir, grain);
    expect((crashed.totals as { events: number }).events, context).toBe(EVENTS);
    expect(crashed, `${context}: journey by ${grain}`).toEqual(figures(fresh, grain));
  }
}

describe('kill -9 of the simulator and the processor', () => {
  it('loses nothing and lands nothing twice', async () => {
    dataDir = path.join(dir, 'random-kills');
    const seed = Number(process.env.CRASH_SEED ?? Date.now() % 1_000_000);
    const rng = new Rng(seed);
    const random = () => rng.next();
    const context = `CRASH_SEED=${seed}`;

    const logs: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // Started together: the processor waits for the simulator to create stream 1.
      // The first round replays slowly (20 s) and kills each side once both have checkpointed,
      // however slow the machine: the restarts below must resume from those checkpoints.
      const sim = start(
        simArgs(round === 0 ? 2000 : 8000),
        round > 0 && random() < 0.5 ? SIM_FAILPOINTS : '',
      );
      const proc = start(procArgs, round === 0 ? '' : PROC_FAILPOINTS);
      if (round === 0) {
        await checkpointed(['simulate', 'process.json'], [sim, proc]);
        sim.child.kill('SIGKILL');
        proc.child.kill('SIGKILL');
        await Promise.all([sim.exited, proc.exited]);
      } else {
        await Promise.all([
          killAfter(sim, 200 + random() * 1500, `simulate (round ${round}, ${context})`),
          killAfter(proc, 1000 + random() * 3000, `process (round ${round}, ${context})`),
        ]);
      }
      logs.push(sim.stderr, proc.stderr);
    }
    // Then both run to the end: the replay completes and seals stream 1, the processor drains it.
    const sim = start(simArgs());
    expect(await sim.exited, `${context}\n${sim.stderr}`).toBe(0);
    const proc = start(procArgs);
    expect(await proc.exited, `${context}\n${proc.stderr}`).toBe(0);
    logs.push(sim.stderr, proc.stderr);
    // The kills hit both sides mid-run: restarts resumed (a simulator killed before its first
    // checkpoint resumes after 0 events, matching what it had put).
    const all = logs.join('\n');
    expect(all, context).toMatch(/resuming after \d+ events delivered/);
    expect(all, context).toMatch(/resuming embedded:\/\/raw from checkpoint/);

    await verify(context);
  }, 240_000);

  it('stops gracefully on SIGTERM and resumes where it stopped', async () => {
    dataDir = path.join(dir, 'sigterm');
    const proc = start(procArgs);
    const sim = start(simArgs(2000));
    // Stopped mid-run once both have checkpointed (whatever the machine's speed), so both resume.
    await checkpointed(['simulate', 'process.json'], [sim, proc]);
    sim.child.kill('SIGTERM');
    proc.child.kill('SIGTERM');
    // A graceful stop is a clean exit: the replay checkpoints, the processor flushes and checkpoints.
    expect(await sim.exited, sim.stderr).toBe(0);
    expect(await proc.exited, proc.stderr).toBe(0);
    for (const args of [simArgs(), procArgs]) {
      const run = start(args);
      expect(await run.exited, run.stderr).toBe(0);
      expect(run.stderr).toMatch(/resuming/);
    }
    await verify('sigterm');
  }, 120_000);

  // Each failpoint fires for certain the first time it is reached; the restart must repair it.
  for (const [side, point] of [
    ['simulate', 'simulate.after-put'],
    ['process', 'process.after-lake-flush'],
    ['process', 'lake.mid-publish'],
    ['process', 'process.after-alert-stream'],
  ] as const) {
    it(`recovers from a crash at ${point}`, async () => {
      dataDir = path.join(dir, point);
      const crashing = start(side === 'simulate' ? simArgs() : procArgs, `${point}=1`);
      if (side === 'process') {
        // Stream 1 is complete before the processor starts.
        expect(await start(simArgs()).exited).toBe(0);
      }
      const crashed = await crashing.exited;
      expect(crashed, `${point} was not reached:\n${crashing.stderr}`).toBeNull();
      for (const args of [simArgs(), procArgs]) {
        const run = start(args);
        expect(await run.exited, run.stderr).toBe(0);
      }
      await verify(point);
    }, 120_000);
  }
});
