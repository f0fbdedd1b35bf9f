/**
 * Dashboard benchmark (src/web/, docs/dashboard.md), three parts as a user runs them:
 *
 *   npm run build && node dist/bench/dashboard.js [--part weight|latency|throughput|all]
 *     [--events N] [--rate 20000] [--runs 3]
 *
 * - weight: what the first visit loads (HTML, JS, CSS, uPlot, favicon), compressed as served and
 *   unpacked, measured in chromium (CDP Network events). Target <= 500 KB compressed.
 * - latency: `storepulse serve`, `storepulse process` and `storepulse simulate --rate 20000` as
 *   three processes over one data folder, the Alerts page open in chromium. Each alert's latency is
 *   the wall time its row appeared in the page (a MutationObserver) minus its `detected_at`; the
 *   same for the SSE message alone (read by this process), to split server from browser. Target
 *   p99 <= 250 ms.
 * - throughput: `storepulse process` over a stream that `simulate --max` filled beforehand, without
 *   a dashboard; with `storepulse serve` on the same folder and two SSE readers in this process
 *   asking what the Live and Alerts pages ask (the server's cost); and with chromium showing those
 *   pages (the browser's cost too, on the same 2 cores). Runs rotate; medians. Target >= 0.95.
 *
 * Chromium: Debian's, /usr/bin/chromium (node scripts/ensure-chromium.mjs installs it).
 * Data: bench/detect-common.ts `dataset` (storepulse generate --attacks all, made once and reused).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { type Browser, chromium } from 'playwright-core';
import { CLI, dataset, fmt, machine, median, parseArgs, percentile, table } from './detect-common.js';

const CHROMIUM = process.env.STOREPULSE_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

interface Opts {
  part: 'weight' | 'latency' | 'throughput' | 'all';
  events?: number;
  rate: number;
  runs: number;
}

function options(argv: string[]): Opts {
  const o: Opts = { part: 'all', rate: 20_000, runs: 3 };
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]!];
    if (k === '--part') o.part = v as Opts['part'];
    else if (k === '--events') o.events = Number(v.replace(/_/g, ''));
    else if (k === '--rate') o.rate = Number(v);
    else if (k === '--runs') o.runs = Number(v);
    else throw new Error(`unknown argument ${k}`);
  }
  return o;
}

const children = new Set<ChildProcess>();
let browser: Browser | undefined;

function start(args: string[]): ChildProcess {
  const child = spawn(process.execPath, [CLI, '-q', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  child.on('close', () => children.delete(child));
  return child;
}

const ended = (child: ChildProcess) =>
  new Promise<number | null>((resolve) =>
    child.exitCode !== null ? resolve(child.exitCode) : child.on('close', resolve),
  );

/** `storepulse serve --port 0` over `dataDir`: its address once it listens. */
async function serve(dataDir: string): Promise<{ url: string; child: ChildProcess }> {
  const child = start(['--data-dir', dataDir, 'serve', '--port', '0']);
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /dashboard: (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on('close', (code) => reject(new Error(`serve exited ${code}`)));
  });
  return { url, child };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode === null) child.kill('SIGINT');
  await ended(child);
}

const launch = async () =>
  (browser ??= await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 }));

async function weight(): Promise<string[][]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sp-bench-dash-'));
  const { url, child } = await serve(dir);
  try {
    const page = await (await launch()).newPage();
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    const byId = new Map<string, { url: string; encoded: number; body: number }>();
    cdp.on('Network.responseReceived', (e) =>
      byId.set(e.requestId, { url: e.response.url, encoded: 0, body: 0 }),
    );
    cdp.on('Network.dataReceived', (e) => {
      const r = byId.get(e.requestId);
      if (r) r.body += e.dataLength;
    });
    cdp.on('Network.loadingFinished', (e) => {
      const r = byId.get(e.requestId);
      if (r) r.encoded = e.encodedDataLength;
    });
    await page.goto(url, { waitUntil: 'networkidle' }).catch(() => undefined); // SSE never idles
    await page.waitForTimeout(1500);
    await page.close();
    const files = [...byId.values()].filter((r) => !r.url.includes('/api/'));
    const rows = files.map((r) => [new URL(r.url).pathname, fmt(r.encoded / 1024, 1), fmt(r.body / 1024, 1)]);
    const sum = (f: (r: (typeof files)[number]) => number) => files.reduce((a, r) => a + f(r), 0);
    rows.push(['total', fmt(sum((r) => r.encoded) / 1024, 1), fmt(sum((r) => r.body) / 1024, 1)]);
    process.stdout.write(`\npage weight, first visit (KB; target total <= 500 compressed)\n`);
    process.stdout.write(table([['file', 'as served (gzip)', 'unpacked'], ...rows]));
    return [['page weight, compressed', `${fmt(sum((r) => r.encoded) / 1024, 1)} KB`, '<= 500 KB']];
  } finally {
    await stop(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Reads the SSE stream, noting when each alert id arrived. */
function sseArrivals(url: string, signal: AbortSignal, topics = 'alerts'): Map<string, number> {
  const seen = new Map<string, number>();
  void (async () => {
    const res = await fetch(new URL(`api/stream?topics=${topics}`, url), { signal });
    const reader = res.body!.getReader();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      const now = Date.now();
      buf += Buffer.from(value).toString();
      let end;
      while ((end = buf.indexOf('\n\n')) >= 0) {
        const msg = buf.slice(0, end);
        buf = buf.slice(end + 2);
        if (!msg.startsWith('event: alerts')) continue;
        const data = JSON.parse(msg.slice(msg.indexOf('data: ') + 6)) as { id: string }[];
        for (const a of data) if (!seen.has(a.id)) seen.set(a.id, now);
      }
    }
  })().catch(() => undefined);
  return seen;
}

function latencyRow(what: string, detected: Map<string, number>, seen: Map<string, number>): string[] {
  const ms = [...detected]
    .filter(([id]) => seen.has(id))
    .map(([id, at]) => seen.get(id)! - at)
    .sort((a, b) => a - b);
  return [
    what,
    fmt(ms.length),
    fmt(detected.size - ms.length),
    fmt(percentile(ms, 50)),
    fmt(percentile(ms, 99)),
    fmt(ms[ms.length - 1] ?? NaN),
    fmt(ms.filter((x) => x > 250).length),
  ];
}

async function latency(o: Opts): Promise<string[][]> {
  const file = dataset(parseArgs(['--events', String(o.events ?? 3_000_000)]));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sp-bench-dash-'));
  try {
    const { url, child: server } = await serve(dir);
    const page = await (await launch()).newPage();
    // Before the page's own scripts: note when each alert row enters the table.
    await page.addInitScript(`
      globalThis.__seen = {};
      new MutationObserver((records) => {
        const now = performance.timeOrigin + performance.now();
        for (const r of records)
          for (const n of r.addedNodes) {
            const id = n.dataset && n.dataset.id;
            if (id && !(id in globalThis.__seen)) globalThis.__seen[id] = now;
          }
      }).observe(document, { childList: true, subtree: true });
    `);
    await page.goto(`${url}#alerts`);
    const abort = new AbortController();
    const sse = sseArrivals(url, abort.signal);
    const processor = start(['--data-dir', dir, 'process', '--idle-exit', '3']);
    const sim = start(['--data-dir', dir, 'simulate', file, '--rate', String(o.rate)]);
    process.stderr.write(`latency: replaying ${file} at ${fmt(o.rate)} events/s\n`);
    const t0 = Date.now();
    if ((await ended(sim)) !== 0) throw new Error('simulate failed');
    if ((await ended(processor)) !== 0) throw new Error('process failed');
    const seconds = (Date.now() - t0) / 1000;
    await page.waitForTimeout(1000);
    const seen = new Map(
      Object.entries((await page.evaluate('globalThis.__seen')) as Record<string, number>),
    );
    abort.abort();
    await page.close();
    await stop(server);
    const db = new Database(path.join(dir, 'alerts.sqlite'), { readonly: true });
    const detected = new Map(
      (db.prepare('SELECT id, detected_at FROM alerts').all() as { id: string; detected_at: string }[]).map(
        (r) => [r.id, Date.parse(r.detected_at)],
      ),
    );
    db.close();
    process.stdout.write(
      `\nserver push latency, ms from detected_at (${fmt(seconds)} s at ${fmt(o.rate)} events/s; target p99 <= 250)\n`,
    );
    const rows = [
      latencyRow('row in the browser', detected, new Map([...seen].map(([k, v]) => [k, Math.round(v)]))),
      latencyRow('SSE message', detected, sse),
    ];
    process.stdout.write(
      table([['measured at', 'alerts', 'not seen', 'p50', 'p99', 'max', 'over 250 ms'], ...rows]),
    );
    return rows.map((r) => [
      `push latency p50/p99/max (${r[0]})`,
      `${r[3]} / ${r[4]} / ${r[5]} ms`,
      'p99 <= 250 ms',
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A data folder whose stream 1 holds the file (filled once by simulate --max, then copied per run). */
function filled(file: string): string {
  const dir = `${file}.dashboard-stream`;
  if (existsSync(path.join(dir, 'ready'))) return dir;
  rmSync(dir, { recursive: true, force: true });
  process.stderr.write(`throughput: replaying ${file} into ${dir}\n`);
  const r = spawnSync(process.execPath, [CLI, '-q', '--data-dir', dir, 'simulate', file, '--max'], {
    stdio: 'inherit',
  });
  if (r.status !== 0) throw new Error('simulate failed');
  writeFileSync(path.join(dir, 'ready'), '');
  return dir;
}

/** without: no dashboard; server: serve with two SSE readers in this process (no browser); browser: serve with chromium on Live and Alerts. */
type Phase = 'without' | 'server' | 'browser';

async function processRun(template: string, phase: Phase): Promise<number> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sp-bench-dash-run-'));
  cpSync(template, dir, { recursive: true });
  let server: ChildProcess | undefined;
  const pages = [];
  const readers = new AbortController();
  try {
    if (phase !== 'without') {
      const s = await serve(dir);
      server = s.child;
      if (phase === 'server')
        // What the two pages ask for: the Live page's topics and the Alerts page's.
        for (const topics of ['journey,health,alerts', 'alerts']) sseArrivals(s.url, readers.signal, topics);
      else
        for (const hash of ['#live', '#alerts']) {
          const page = await (await launch()).newPage();
          await page.goto(`${s.url}${hash}`);
          pages.push(page);
        }
    }
    const t0 = performance.now();
    const p = start(['--data-dir', dir, 'process', '--idle-exit', '1', '--json']);
    let out = '';
    p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    if ((await ended(p)) !== 0) throw new Error('process failed');
    const ms = performance.now() - t0;
    return (JSON.parse(out) as { records: number }).records / (ms / 1000);
  } finally {
    readers.abort();
    for (const page of pages) await page.close();
    if (server) await stop(server);
    rmSync(dir, { recursive: true, force: true });
  }
}

const PHASES: Record<Phase, string> = {
  without: 'without',
  server: 'serve + 2 SSE readers (no browser)',
  browser: 'serve + chromium, Live and Alerts pages',
};

async function throughput(o: Opts): Promise<string[][]> {
  const template = filled(dataset(parseArgs(['--events', String(o.events ?? 2_000_000)])));
  const runs: Record<Phase, number[]> = { without: [], server: [], browser: [] };
  const order = Object.keys(PHASES) as Phase[];
  for (let i = 0; i < o.runs; i++)
    for (const phase of i % 2 === 0 ? order : [...order].reverse()) {
      const rate = await processRun(template, phase);
      runs[phase].push(rate);
      process.stderr.write(`throughput run ${i + 1} ${phase}: ${fmt(rate)} events/s\n`);
    }
  const ratio = (p: Phase) => median(runs[p]) / median(runs.without);
  process.stdout.write(`\nstorepulse process, events/s (median of ${o.runs}; target with/without >= 0.95)\n`);
  process.stdout.write(
    table([
      ['dashboard', 'runs', 'median', 'ratio'],
      ...order.map((p) => [
        PHASES[p],
        runs[p].map((r) => fmt(r)).join(' '),
        fmt(median(runs[p])),
        fmt(ratio(p), 3),
      ]),
    ]),
  );
  return [
    ['process with/without dashboard (server only)', fmt(ratio('server'), 3), '>= 0.95'],
    ['process with/without dashboard (and chromium on this machine)', fmt(ratio('browser'), 3), '>= 0.95'],
  ];
}

async function main(): Promise<void> {
  const o = options(process.argv.slice(2));
  process.stdout.write(
    `${machine()}\nchromium: ${spawnSync(CHROMIUM, ['--version'], { encoding: 'utf8' }).stdout.trim()}\n`,
  );
  const summary: string[][] = [];
  if (o.part === 'weight' || o.part === 'all') summary.push(...(await weight()));
  if (o.part === 'latency' || o.part === 'all') summary.push(...(await latency(o)));
  if (o.part === 'throughput' || o.part === 'all') summary.push(...(await throughput(o)));
  process.stdout.write(`\nsummary\n${table([['figure', 'measured', 'target'], ...summary])}`);
}

const cleanUp = async () => {
  for (const c of children) c.kill('SIGKILL');
  await browser?.close();
};
process.on('SIGINT', () => void cleanUp().then(() => process.exit(130)));
main()
  .catch((err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(cleanUp);
