/**
 * Part 2 of bench/detect.ts: event-to-alert latency in live mode. `storepulse simulate --rate R` and
 * `storepulse process` run as two processes over the embedded log, as a user runs them; this process
 * tails stream 2 like an alert consumer (same pollMs) and takes, for every alert with a trigger,
 *   arrival = wall time it read the record − evidence.trigger.txn_timestamp (the crossing event's send time)
 *   detected = alert.detected_at − evidence.trigger.txn_timestamp (the processor's clock, before stream 2).
 * Global alerts (traffic-spike) have no trigger and are skipped.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { configSchema } from '../src/core/config.js';
import { StreamConsumer } from '../src/streams/consumer.js';
import { openDurableStream, type StreamPlace } from '../src/streams/uri.js';
import { type Args, CLI, dataset, fmt, machine, median, percentile, table } from './detect-common.js';

interface LatencyRun {
  poll: number;
  durability: string;
  alerts: number;
  measured: number;
  arrival: number[];
  detected: number[];
  simSent: number;
  simSeconds: number;
  load: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function exited(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
}

async function oneRun(a: Args, file: string, poll: number, durability: Args['durability'][number]) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'storepulse-bench-latency-'));
  const cfgFile = path.join(dir, 'bench.config.json');
  const cfg = {
    streams: { pollMs: poll, durability, checkpointSeconds: a.checkpointSeconds },
    detect: { reference: a.reference },
  };
  writeFileSync(cfgFile, JSON.stringify(cfg));
  const place: StreamPlace = {
    dataDir: dir,
    storePath: path.join(dir, 'alerts.sqlite'),
    streams: configSchema.parse(cfg).streams,
    shards: 4,
  };
  // Both streams exist before either side starts, so the tail and the processor can open them.
  for (const name of ['bench-raw', 'bench-alerts']) {
    await (await openDurableStream({ kind: 'embedded', name }, place, 'write')).release();
  }
  const common = [CLI, '--data-dir', dir, '--config', cfgFile];
  const proc = spawn(
    process.execPath,
    [
      ...common,
      '-q',
      'process',
      '--from',
      'embedded://bench-raw',
      '--alerts-to',
      'embedded://bench-alerts',
    ].concat(a.lake ? [] : ['--no-lake']),
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let procOut = '';
  // Its stderr is the console notifier's alert lines: keep only the tail, for errors.
  let procErr = '';
  proc.stdout!.on('data', (b: Buffer) => (procOut += b.toString()));
  proc.stderr!.on('data', (b: Buffer) => (procErr = (procErr + b.toString()).slice(-4000)));
  const procDone = exited(proc);

  const alerts = await openDurableStream({ kind: 'embedded', name: 'bench-alerts' }, place, 'read');
  const consumer = await StreamConsumer.open({ stream: alerts, consumer: 'bench-tail' });
  const arrival: number[] = [];
  const detected: number[] = [];
  let count = 0;
  const stop = new AbortController();
  const tail = (async () => {
    for await (const batch of consumer.batches(stop.signal)) {
      const now = Date.now();
      for (const r of batch.records) {
        count++;
        const alert = JSON.parse(r.data) as {
          detected_at: string;
          evidence?: { trigger?: { txn_timestamp?: string } };
        };
        const txn = alert.evidence?.trigger?.txn_timestamp;
        if (txn === undefined) continue;
        const sent = Date.parse(txn);
        arrival.push(now - sent);
        detected.push(Date.parse(alert.detected_at) - sent);
      }
    }
  })();

  // Let the processor start (node, the lake's DuckDB, the consumer) before events flow.
  await sleep(2000);
  const load = os.loadavg()[0]!;
  const sim = spawn(
    process.execPath,
    [...common, 'simulate', file, '--to', 'embedded://bench-raw', '--rate', String(a.rate)],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let simErr = '';
  sim.stderr!.on('data', (b: Buffer) => (simErr += b.toString()));
  const simCode = await exited(sim);
  if (simCode !== 0) throw new Error(`simulate failed (exit ${simCode}): ${simErr}`);
  const m = /sent (\d+) events in ([\d.]+)s/.exec(simErr);
  const procCode = await procDone;
  if (procCode !== 0) throw new Error(`process failed (exit ${procCode}): ${procErr}`);
  // The processor sealed stream 2 on its way out: the tail ends once drained.
  const guard = setTimeout(() => stop.abort(), 10_000);
  await tail;
  clearTimeout(guard);
  await alerts.close();
  const stats = JSON.parse(procOut) as { alerts: number };
  rmSync(dir, { recursive: true, force: true });
  return {
    poll,
    durability,
    alerts: stats.alerts,
    measured: arrival.length,
    arrival,
    detected,
    simSent: m ? Number(m[1]) : NaN,
    simSeconds: m ? Number(m[2]) : NaN,
    load,
    tailed: count,
  };
}

export async function latency(a: Args): Promise<void> {
  const file = dataset(a);
  const runs: LatencyRun[] = [];
  for (let i = 0; i < a.runs; i++) {
    for (const durability of a.durability) {
      for (const poll of a.poll) {
        const r = await oneRun(a, file, poll, durability);
        if (r.tailed !== r.alerts)
          throw new Error(`tail read ${r.tailed} alerts, processor fired ${r.alerts}`);
        const s = [...r.arrival].sort((x, y) => x - y);
        process.stderr.write(
          `run ${i + 1} ${durability} pollMs ${poll}: ${r.measured} alerts timed, p50 ${percentile(s, 50)} ms, ` +
            `p99 ${percentile(s, 99)} ms; simulate ${fmt(r.simSent / r.simSeconds)} ev/s\n`,
        );
        runs.push(r);
      }
    }
  }
  const rows = [
    [
      'durability',
      'pollMs',
      'run',
      'alerts',
      'timed',
      'p50 ms',
      'p95 ms',
      'p99 ms',
      'max ms',
      'detected p50',
      'detected p99',
      'sim ev/s',
      'load',
    ],
  ];
  const seen = new Map<string, number>();
  for (const r of runs) {
    const key = `${r.durability}/${r.poll}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
    const s = [...r.arrival].sort((x, y) => x - y);
    const d = [...r.detected].sort((x, y) => x - y);
    rows.push([
      r.durability,
      String(r.poll),
      String(seen.get(key)),
      fmt(r.alerts),
      fmt(r.measured),
      fmt(percentile(s, 50)),
      fmt(percentile(s, 95)),
      fmt(percentile(s, 99)),
      fmt(s[s.length - 1] ?? NaN),
      fmt(percentile(d, 50)),
      fmt(percentile(d, 99)),
      fmt(r.simSent / r.simSeconds),
      r.load.toFixed(2),
    ]);
  }
  const summary = [['durability', 'pollMs', 'runs', 'median p50', 'median p95', 'median p99', 'worst max']];
  for (const durability of a.durability) {
    for (const poll of a.poll) {
      const rs = runs.filter((r) => r.durability === durability && r.poll === poll);
      const p = (q: number) =>
        median(
          rs.map((r) =>
            percentile(
              [...r.arrival].sort((x, y) => x - y),
              q,
            ),
          ),
        );
      summary.push([
        durability,
        String(poll),
        String(rs.length),
        fmt(p(50)),
        fmt(p(95)),
        fmt(p(99)),
        fmt(Math.max(...rs.map((r) => Math.max(...r.arrival)))),
      ]);
    }
  }
  process.stdout.write(
    [
      `file: ${file} (${fmt(a.events)} events), simulate --rate ${fmt(a.rate)}, ` +
        `rules: default${a.reference ? ' + reference' : ''}, lake ${a.lake ? 'on' : 'off (--no-lake)'}, ` +
        `checkpointSeconds ${a.checkpointSeconds ?? 'default'}`,
      machine(),
      'latency = arrival on stream 2 (this tail) − evidence.trigger.txn_timestamp; detected = detected_at − the same',
      '',
      table(rows),
      '',
      table(summary),
      '',
    ].join('\n'),
  );
}
