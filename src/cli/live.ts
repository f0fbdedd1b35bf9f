/**
 * `storepulse live`: the journey rollups (docs/journey.md) as a terminal view redrawn in place, like
 * `top`, while `process` (or `demo`) writes them; `--once` prints one view, `--once --json` the
 * figures for scripts. Reads the store only (queryJourney), so it can run beside the processor.
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { StorepulseError } from '../core/errors.js';
import {
  type JourneyFigures,
  type JourneyQuery,
  queryJourney,
  TRAFFIC,
  type Traffic,
} from '../core/journey/query.js';
import type { Grain } from '../core/journey/rollups.js';
import { sleep } from '../core/sleep.js';
import { parseEventTime } from '../core/time.js';
import { SqliteRollupStore } from '../stores/sqlite/rollup-store.js';
import { contextOf, intOption } from './context.js';
import { requireFile, requireRun } from './data-folder.js';
import { formatJson, formatTable } from './output.js';
import { journeyStorePath } from './paths.js';
import { formatCount } from './progress.js';
import { stopSignal } from './signals.js';

interface LiveOptions {
  last: number;
  from?: string;
  to?: string;
  grain?: string;
  top: number;
  traffic: string;
  once?: boolean;
  json?: boolean;
  interval: number;
}

const MADE_BY = 'storepulse process (or demo)';

export function register(program: Command): void {
  program
    .command('live')
    .description(
      'the live shopping journey (funnel, top lists, cart abandonment), redrawn while a replay runs',
    )
    .option(
      '--last <minutes>',
      'the range: this many minutes up to the newest event time',
      intOption('--last'),
      60,
    )
    .option('--from <time>', 'range start (event time, ISO-8601 or the dataset form), instead of --last')
    .option('--to <time>', 'range end (default: the newest event time)')
    .option('--grain <grain>', 'minute or hour (default: minute up to six hours, hour beyond)')
    .option('--top <n>', 'rows per top list', intOption('--top'), 5)
    .option('--traffic <which>', `${TRAFFIC.join(', ')} (people: without what detection flagged)`, 'all')
    .option('--once', 'print one view and exit')
    .option('--json', 'with --once: the figures as JSON')
    .option('--interval <seconds>', 'seconds between redraws', intOption('--interval'), 2)
    .action(async (opts: LiveOptions, cmd: Command) => {
      const ctx = contextOf(cmd);
      const query = queryOf(opts);
      if (opts.json && !opts.once) throw new StorepulseError('USAGE', '--json goes with --once');
      const file = journeyStorePath(ctx);
      if (opts.once) {
        requireRun(ctx);
        requireFile(file, 'journey store', MADE_BY);
        const store = new SqliteRollupStore(file, { readonly: true });
        try {
          const figures = await queryJourney(store, query);
          if (opts.json) process.stdout.write(formatJson(figures ?? null));
          else process.stdout.write(figures ? render(figures, undefined) : `${file}: no rollups yet\n`);
        } finally {
          await store.close();
        }
        return;
      }
      await watch(file, query, opts.interval * 1000, ctx.log);
    });
}

function queryOf(opts: LiveOptions): JourneyQuery {
  if (!(TRAFFIC as readonly string[]).includes(opts.traffic))
    throw new StorepulseError(
      'USAGE',
      `--traffic takes ${TRAFFIC.join(', ')}, got ${JSON.stringify(opts.traffic)}`,
    );
  if (opts.grain !== undefined && opts.grain !== 'minute' && opts.grain !== 'hour')
    throw new StorepulseError('USAGE', `--grain takes minute or hour, got ${JSON.stringify(opts.grain)}`);
  const time = (flag: string, s: string | undefined) => {
    if (s === undefined) return undefined;
    const t = parseEventTime(s);
    if (Number.isNaN(t))
      throw new StorepulseError(
        'USAGE',
        `${flag} takes a time with a zone (e.g. 2019-10-01T00:00:00Z), got ${JSON.stringify(s)}`,
      );
    return t;
  };
  return {
    from: time('--from', opts.from),
    to: time('--to', opts.to),
    lastMs: opts.last * 60_000,
    grain: opts.grain as Grain | undefined,
    top: opts.top,
    traffic: opts.traffic as Traffic,
  };
}

/** Redraws until Ctrl-C; waits for the store when the processor has not created it yet. */
async function watch(
  file: string,
  query: JourneyQuery,
  everyMs: number,
  log: (m: string) => void,
): Promise<void> {
  const stop = stopSignal(log);
  const tty = Boolean(process.stdout.isTTY);
  // The alternate screen, as `top` uses: the shell's scrollback is back as it was on exit.
  if (tty) process.stdout.write('\x1b[?1049h\x1b[?25l');
  let store: SqliteRollupStore | undefined;
  let previous: { events: number; at: number } | undefined;
  try {
    while (!stop.signal.aborted) {
      if (!store && existsSync(file)) store = new SqliteRollupStore(file, { readonly: true });
      const figures = store && (await queryJourney(store, query));
      let frame: string;
      if (!figures) frame = `waiting for ${MADE_BY} to write ${file} (Ctrl-C to quit)\n`;
      else {
        const now = { events: figures.status!.events, at: Date.parse(figures.status!.updatedAt) };
        const rate =
          previous && now.at > previous.at
            ? ((now.events - previous.events) * 1000) / (now.at - previous.at)
            : undefined;
        if (!previous || now.at > previous.at) previous = now;
        frame = render(figures, rate);
      }
      process.stdout.write(tty ? `\x1b[H\x1b[2J${frame}` : `${frame}\n`);
      await sleep(everyMs, stop.signal);
    }
  } finally {
    if (tty) process.stdout.write('\x1b[?25h\x1b[?1049l');
    await store?.close();
    stop.dispose();
  }
}

const pct = (x: number | null) => (x === null ? '-' : `${(100 * x).toFixed(1)}%`);
const money = (x: number) =>
  x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const n = (x: number) => formatCount(Math.round(x));

/** One view of the figures; `ingestRate`: events/s the processor took in since the last view. */
function render(f: JourneyFigures, ingestRate: number | undefined): string {
  const s = f.status!;
  const out: string[] = [];
  const which = {
    all: 'all traffic',
    people: 'people only (flagged traffic left out)',
    flagged: 'flagged traffic only',
  }[f.traffic];
  out.push(
    `storepulse live · ${f.range.from} → ${f.range.to} (${f.range.grain}s${f.range.final ? ', final' : ''}) · ${which}`,
  );
  out.push(
    `newest event ${s.newest} · updated ${s.updatedAt}` +
      (ingestRate === undefined ? '' : ` · ingest ${n(ingestRate)} events/s`) +
      ` · ${n(f.totals.eventsPerSecond)} events/s of event time`,
  );
  const t = f.totals;
  out.push(
    formatTable([
      {
        events: t.events,
        views: t.view,
        carts: t.cart,
        purchases: t.purchase,
        removes: t.remove_from_cart,
        revenue: money(t.revenue),
        users: t.users,
        sessions: t.sessions,
        flagged: `${pct(f.flagged.share)} (${n(f.flagged.users)} users)`,
      },
    ]),
  );
  const fu = f.funnel;
  const a = f.abandonment;
  out.push(
    formatTable([
      {
        'sessions ended': fu.sessions,
        viewed: fu.viewed,
        '→ carted': `${n(fu.carted)} (${pct(fu.viewToCart)})`,
        '→ purchased': `${n(fu.purchased)} (${pct(fu.cartToPurchase)})`,
        'any purchase': fu.withPurchase,
        abandoned: `${n(a.abandoned)} of ${n(a.sessionsWithCart)} (${pct(a.rate)})`,
        'abandoned value': money(a.value),
        'length p50/p90 s': `${f.sessions.lengthSeconds.p50 ?? '-'}/${f.sessions.lengthSeconds.p90 ?? '-'}`,
        'events p50/p90': `${f.sessions.events.p50 ?? '-'}/${f.sessions.events.p90 ?? '-'}`,
      },
    ]),
  );
  const side = (title: string, rows: { key: string; value: string }[]) => ({ title, rows });
  const lists = [
    side(
      'top categories (views)',
      f.top.categories.views.map((r) => ({ key: r.key, value: n(r.views) })),
    ),
    side(
      'top brands (revenue)',
      f.top.brands.revenue.map((r) => ({ key: r.key, value: money(r.revenue) })),
    ),
    side(
      'top products (purchases)',
      f.top.products.purchases.map((r) => ({ key: r.key, value: n(r.purchases) })),
    ),
    side(
      'abandoned products (carts)',
      a.products.map((p) => ({ key: String(p.product_id), value: n(p.carts) })),
    ),
  ];
  const rows = Math.max(...lists.map((l) => l.rows.length));
  out.push(
    formatTable(
      Array.from({ length: rows }, (_, i) =>
        Object.fromEntries(
          lists.map((l) => [l.title, l.rows[i] ? `${l.rows[i].key} ${l.rows[i].value}` : '']),
        ),
      ),
      lists.map((l) => l.title),
    ),
  );
  out.push(`events per ${f.range.grain}: ${sparkline(f.series.map((x) => x.events))}`);
  if (s.tooLate > 0) out.push(`${n(s.tooLate)} events came after their minute was final (not counted)`);
  return `${out.join('\n')}\n`;
}

const BARS = '▁▂▃▄▅▆▇█';

function sparkline(values: number[]): string {
  const tail = values.slice(-60);
  const max = Math.max(1, ...tail);
  return tail.map((v) => BARS[Math.min(BARS.length - 1, Math.floor((v / max) * (BARS.length - 1)))]).join('');
}
