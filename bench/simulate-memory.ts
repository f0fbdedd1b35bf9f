/**
 * Memory of a sustained paced replay: runs the real CLI, `storepulse simulate --rate R FILE`, into the
 * default embedded stream in a fresh data folder, samples the child's RSS (VmRSS) every few seconds,
 * and after a warm-up reports RSS at the start and the end of the measured stretch, its maximum, and
 * the growth in all and per minute. Then it stops the child with SIGINT, as a user would.
 *
 *   npm run build && node dist/bench/simulate-memory.js [--seconds 600] [--warmup 30] [--rate 20000]
 *                                                       [--every 5] [--file F] [--cli PATH] [--keep]
 *
 * The source is a CSV file made once with `storepulse generate --seed 1` (enough events for the whole
 * run, rounded up to a million) and reused from the OS temp folder: the file reader holds constant
 * memory, so what grows is the simulator's. `--cli` runs another build (e.g. a copy of older code).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sleep } from '../src/core/sleep.js';
import { CLI, fmt, machine, table } from './detect-common.js';

interface Args {
  seconds: number;
  warmup: number;
  rate: number;
  every: number;
  file?: string;
  cli: string;
  keep: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { seconds: 600, warmup: 30, rate: 20_000, every: 5, cli: CLI, keep: false };
  const num = (k: string, v: string | undefined): number => {
    const n = Number(v?.replace(/_/g, ''));
    if (!(n > 0)) throw new Error(`${k} takes a positive number, got ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    if (k === '--keep') {
      a.keep = true;
      continue;
    }
    const v = argv[++i];
    if (k === '--seconds') a.seconds = num(k, v);
    else if (k === '--warmup') a.warmup = num(k, v);
    else if (k === '--rate') a.rate = num(k, v);
    else if (k === '--every') a.every = num(k, v);
    else if (k === '--file') a.file = v;
    else if (k === '--cli') a.cli = path.resolve(v!);
    else throw new Error(`unknown argument ${k}`);
  }
  return a;
}

function dataset(a: Args): string {
  if (a.file) return a.file;
  const events = Math.ceil((a.rate * (a.warmup + a.seconds)) / 1e6) * 1e6;
  const dir = path.join(os.tmpdir(), 'storepulse-bench');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `simulate-${events}-seed1.csv`);
  if (existsSync(file)) return file;
  process.stderr.write(`generating ${fmt(events)} events into ${file}\n`);
  const tmp = `${file}.tmp`;
  const r = spawnSync(
    process.execPath,
    [CLI, '-q', 'generate', '--events', String(events), '--seed', '1', '--out', tmp],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  if (r.status !== 0) throw new Error(`generate failed (exit ${r.status})`);
  renameSync(tmp, file);
  return file;
}

/** VmRSS of a live process in MiB, or undefined once it is gone. */
function rssMiB(pid: number): number | undefined {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}

function slopePerMinute(xs: readonly { s: number; rss: number }[]): number {
  const n = xs.length;
  const ms = xs.reduce((t, x) => t + x.s, 0) / n;
  const mr = xs.reduce((t, x) => t + x.rss, 0) / n;
  const cov = xs.reduce((t, x) => t + (x.s - ms) * (x.rss - mr), 0);
  const v = xs.reduce((t, x) => t + (x.s - ms) ** 2, 0);
  return v === 0 ? 0 : (cov / v) * 60;
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const file = dataset(a);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'storepulse-bench-simulate-'));
  const args = [a.cli, '--data-dir', dataDir, 'simulate', '--rate', String(a.rate), file];
  process.stdout.write(`${machine()}\ncommand: node ${args.join(' ')}\n`);

  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let warnings = 0;
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => {
    // Keeps the tail for the closing summary and counts the warnings as they go by.
    stderr = (stderr + s).slice(-64 * 1024);
    warnings += s.split('MaxListenersExceededWarning').length - 1;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let gone = false;
  void exited.then(() => (gone = true));

  const t0 = performance.now();
  const samples: { s: number; rss: number }[] = [];
  const end = a.warmup + a.seconds;
  try {
    for (let next = 0; next <= end; next += a.every) {
      const wait = t0 + next * 1000 - performance.now();
      if (wait > 0) await sleep(wait);
      const rss = gone ? undefined : rssMiB(child.pid!);
      if (rss === undefined) throw new Error(`simulate ended after ${next} s:\n${stderr.slice(-2000)}`);
      samples.push({ s: (performance.now() - t0) / 1000, rss });
    }
  } finally {
    if (!gone) child.kill('SIGINT');
  }
  // A stop flushes the batch in hand; one that hangs is killed rather than waited for.
  const stopped = new AbortController();
  void sleep(60_000, stopped.signal).then(() => {
    if (!gone) child.kill('SIGKILL');
  });
  const code = await exited;
  stopped.abort();

  const measured = samples.filter((x) => x.s >= a.warmup);
  const first = measured[0]!;
  const last = measured[measured.length - 1]!;
  const max = Math.max(...measured.map((x) => x.rss));
  const minutes = (last.s - first.s) / 60;
  const growth = last.rss - first.rss;
  // Garbage collection makes single samples swing by tens of MiB: per-minute means and the
  // least-squares slope over every sample show a trend that the two end points may hide.
  const rows = [['minute', 'mean RSS', 'max RSS']];
  for (let m = 0; m * 60 < a.seconds; m++) {
    const inMinute = measured.filter((x) => x.s - first.s >= m * 60 && x.s - first.s < (m + 1) * 60);
    if (inMinute.length === 0) continue;
    const mean = inMinute.reduce((n, x) => n + x.rss, 0) / inMinute.length;
    rows.push([String(m + 1), `${fmt(mean)} MiB`, `${fmt(Math.max(...inMinute.map((x) => x.rss)))} MiB`]);
  }
  const sent = /sent (\d+) events in ([\d.]+)s/.exec(stderr);
  process.stdout.write(
    `${table(rows)}\n` +
      `RSS after ${fmt(a.warmup)} s warm-up ${fmt(first.rss)} MiB, at the end ${fmt(last.rss)} MiB, ` +
      `max ${fmt(max)} MiB; growth ${fmt(growth, 1)} MiB over ${fmt(minutes, 1)} min ` +
      `(${fmt(growth / minutes, 2)} MiB/min; least-squares slope ${fmt(slopePerMinute(measured), 2)} MiB/min)\n` +
      (sent
        ? `sent ${fmt(Number(sent[1]))} events in ${sent[2]} s (${fmt(Number(sent[1]) / Number(sent[2]))}/s); `
        : 'no "sent" line from simulate; ') +
      `exit ${code}; MaxListenersExceededWarning printed ${warnings} times\n`,
  );
  if (!a.keep) rmSync(dataDir, { recursive: true, force: true });
  else process.stdout.write(`data folder kept: ${dataDir}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
