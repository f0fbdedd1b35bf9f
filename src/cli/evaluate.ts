/**
 * `storepulse evaluate`: scores alerts against a generator's labels, storepulse's rules beside the
 * reference rule (docs/evaluate.md). The scoring is src/core/evaluate.ts; this file reads the inputs.
 */
import { closeSync, createReadStream, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { DEFAULT_CONFIG, type DetectConfig } from '../core/config.js';
import { StorepulseError, errorMessage } from '../core/errors.js';
import {
  type EvaluationLabels,
  type EvaluationReport,
  evaluate,
  type Figures,
  parseAlertRecord,
  type Population,
  type ProfileIntensity,
  type ScoredAlert,
  type SystemScore,
  splitSystems,
  type TargetCheck,
} from '../core/evaluate.js';
import { FeatureMeter } from '../core/rules/features.js';
import { type ItemFigures, ItemFeatureMeter, type Watched } from '../core/rules/item-features.js';
import { REFERENCE_RULE, ReferenceRule } from '../core/rules/reference.js';
import { readEvents } from '../sources/reader.js';
import { type Context, contextOf } from './context.js';
import { formatJson, formatTable } from './output.js';
import { createProgress } from './progress.js';
import { openSqliteAlertStore } from './actions.js';
import { requireRun } from './data-folder.js';
import { alertStorePath } from './paths.js';

interface EvaluateFlags {
  labels: string;
  alerts?: string;
  data?: string;
  json?: boolean;
  check?: boolean;
}

export interface EvaluateOutput extends EvaluationReport {
  labels: string;
  alerts_source: string;
  /** Where the reference column comes from, or why it is missing. */
  reference_source: string;
  data: string | null;
  rejected_alert_records: number;
}

export function readLabels(file: string): EvaluationLabels {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new StorepulseError('INPUT', `cannot read labels ${file}: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  const l = parsed as Partial<EvaluationLabels> | null;
  if (!l || !Array.isArray(l.attacks)) {
    throw new StorepulseError('INPUT', `${file} is not a labels file (no "attacks" list)`);
  }
  return { attacks: l.attacks, human_users: typeof l.human_users === 'number' ? l.human_users : undefined };
}

/** The first non-blank character of a file (reads at most 4 KiB). */
function firstChar(file: string): string {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(4096);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).toString('utf8').trimStart().slice(0, 1);
  } finally {
    closeSync(fd);
  }
}

/** Alerts from a `.jsonl`/`.json` file: one alert (or stream-2 record) per line, or a JSON array. */
async function readAlertFile(file: string): Promise<{ alerts: ScoredAlert[]; rejected: number }> {
  const alerts: ScoredAlert[] = [];
  let rejected = 0;
  const take = (value: unknown) => {
    const a = parseAlertRecord(value);
    if (typeof a === 'string') rejected++;
    else alerts.push(a);
  };
  try {
    if (firstChar(file) === '[') {
      const all = JSON.parse(readFileSync(file, 'utf8')) as unknown[];
      for (const v of all) take(v);
      return { alerts, rejected };
    }
    const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
    for await (const line of lines) {
      if (line.trim() === '') continue;
      try {
        take(JSON.parse(line));
      } catch {
        rejected++;
      }
    }
  } catch (err) {
    throw new StorepulseError('INPUT', `cannot read alerts ${file}: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  return { alerts, rejected };
}

async function readAlertStore(file: string, ctx: Context): Promise<ScoredAlert[]> {
  if (!existsSync(file)) {
    throw new StorepulseError(
      'INPUT',
      `no alert store at ${file}: run storepulse process first, or pass --alerts FILE (.jsonl or .json)`,
    );
  }
  const store = openSqliteAlertStore(file, ctx.config.detect.appServer);
  try {
    return await store.list({});
  } finally {
    await store.close();
  }
}

export interface DataScan {
  /** The file's distinct user ids: only alerts on them are scored. */
  population: Population;
  /** The reference rule's alerts over the file; null when not asked for. */
  reference: ScoredAlert[] | null;
  /** Every keyed rule's figure per user (with `figures` asked for), for the intensity bands. */
  figures: Figures | null;
  /** The key-surge rules' figures per product, category and brand (with `figures`). */
  items: ItemFigures | null;
}

/**
 * Reads the data file the labels belong to, once, for what scoring needs of it: its users and, with
 * `reference`, the reference rule's alerts (default config, as `process` runs it); with `figures`,
 * those rules' figures per user (core/rules/features.ts). The users are a Set of numbers, ~28 bytes
 * each in V8: ~85 MB for the ~3M users of a REES46 month; figures add ~100 bytes per user measured.
 */
export async function scanDataFile(
  file: string,
  ctx: Context,
  opts: {
    reference: boolean;
    figures?: DetectConfig;
    /** Known attackers, kept out of the humans' per-key figures, and the instances whose targets are watched. */
    attackers?: ReadonlySet<number>;
    watched?: readonly Watched[];
  },
): Promise<DataScan> {
  const rule = opts.reference ? new ReferenceRule(DEFAULT_CONFIG.detect) : null;
  const meter = opts.figures ? new FeatureMeter(opts.figures.rules, opts.figures.timeField) : null;
  const itemMeter = opts.figures
    ? new ItemFeatureMeter(
        opts.figures.rules,
        opts.attackers ?? new Set(),
        opts.figures.timeField,
        opts.watched,
      )
    : null;
  const users = new Set<number>();
  const alerts: ScoredAlert[] = [];
  const batches = readEvents(file, { maxLineBytes: ctx.config.maxLineBytes });
  const total = file === '-' ? undefined : statSync(file).size;
  const progress = createProgress({
    label: meter ? 'rule figures' : rule ? 'reference rule' : 'data set users',
    unit: 'bytes',
    total,
    quiet: ctx.quiet,
  });
  const events = () => `${batches.stats.valid.toLocaleString('en-US')} events`;
  let newest = -Infinity;
  for await (const batch of batches) {
    for (const e of batch) users.add(e.user_id);
    meter?.add(batch);
    itemMeter?.add(batch);
    if (rule) {
      newest = Math.max(newest, rule.add(batch));
      for (const a of rule.advance(newest - rule.latenessMs)) alerts.push(a);
    }
    progress.update(batches.stats.bytesRead, events());
  }
  // In a loop: the end of a month flushes more open windows than a call takes arguments.
  if (rule) for (const a of rule.flush()) alerts.push(a);
  progress.finish(
    `${events()}, ${users.size.toLocaleString('en-US')} users${rule ? `, ${alerts.length} alerts` : ''}`,
  );
  return {
    population: { source: file, users },
    reference: rule ? alerts : null,
    figures: meter ? { features: meter.features, figures: meter.figures, users } : null,
    items: itemMeter ? itemMeter.result() : null,
  };
}

/** Labelled attackers have events in their data file: when some do not, --data is likely another file. */
function noteAbsentAttackers(labels: EvaluationLabels, scan: DataScan, labelsPath: string, ctx: Context) {
  const users = scan.population.users;
  const absent = new Set(labels.attacks.flatMap((l) => l.user_ids).filter((u) => !users.has(u)));
  if (absent.size > 0) {
    ctx.log(
      `note: ${absent.size} labelled attacker(s) do not occur in ${scan.population.source}; ` +
        `their alerts are left out (is it the data file of ${labelsPath}?)`,
    );
  }
}

export function register(program: Command): void {
  program
    .command('evaluate')
    .description(
      'score alerts against the labels of a generated data set: recall, precision, human false positives and ' +
        'time to detect per attack profile, storepulse beside the reference rule',
    )
    .requiredOption('--labels <file>', 'labels file written by storepulse generate (<out>.labels.json)')
    .option(
      '--alerts <source>',
      'alerts: a .jsonl/.json file, or a SQLite alert store (default: the one in the data folder)',
    )
    .option(
      '--data <file>',
      'the data set the labels belong to: only alerts on its users are scored, and the reference ' +
        'rule runs over it (default: the labels path without .labels.json)',
    )
    .option('--json', 'print the whole report as JSON')
    .option('--check', 'exit 1 when storepulse misses a target')
    .action(async (flags: EvaluateFlags, cmd: Command) => {
      const ctx = contextOf(cmd);
      const labels = readLabels(flags.labels);
      let alerts: ScoredAlert[];
      let rejected = 0;
      // The data folder's store unless told otherwise: a folder with no run is a mistake, not 0 alerts.
      if (!flags.alerts) requireRun(ctx);
      const source = flags.alerts ?? alertStorePath(ctx);
      if (flags.alerts && /\.jsonl?$/i.test(flags.alerts)) {
        ({ alerts, rejected } = await readAlertFile(flags.alerts));
        if (rejected > 0)
          ctx.log(`note: ${rejected} record(s) in ${flags.alerts} are not alerts and were skipped`);
      } else alerts = await readAlertStore(source, ctx);
      const split = splitSystems(alerts);

      let reference: ScoredAlert[] | null = null;
      let referenceSource: string;
      const defaultData = flags.labels.replace(/\.labels\.json$/i, '');
      const data =
        flags.data ?? (defaultData !== flags.labels && existsSync(defaultData) ? defaultData : null);
      let scan: DataScan | null = null;
      if (data !== null) {
        if (!existsSync(data)) throw new StorepulseError('INPUT', `data file ${data} not found`);
        scan = await scanDataFile(data, ctx, {
          reference: split.reference.length === 0,
          figures: ctx.config.detect,
          attackers: new Set(labels.attacks.flatMap((l) => l.user_ids)),
          watched: labels.attacks.map((l) => ({
            targets: l.targets,
            start: Date.parse(l.start),
            end: Date.parse(l.end),
          })),
        });
        noteAbsentAttackers(labels, scan, flags.labels, ctx);
      }
      if (split.reference.length > 0) {
        reference = split.reference;
        referenceSource = `${REFERENCE_RULE} alerts in ${source}`;
      } else if (scan !== null) {
        reference = scan.reference;
        referenceSource = `reference rule run over ${data}`;
      } else {
        referenceSource =
          `missing: no ${REFERENCE_RULE} alerts in ${source} and no data file ` +
          `(${defaultData === flags.labels ? 'the labels name does not end in .labels.json' : `${defaultData} not found`}; pass --data FILE)`;
      }

      const report: EvaluateOutput = {
        labels: flags.labels,
        alerts_source: source,
        reference_source: referenceSource,
        data,
        rejected_alert_records: rejected,
        ...evaluate(labels, split.storepulse, reference, {
          population: scan?.population,
          figures: scan?.figures ? { ...scan.figures, items: scan.items ?? undefined } : undefined,
        }),
      };
      process.stdout.write(flags.json ? formatJson(report) : formatReport(report));
      if (flags.check && !report.passed) {
        throw new StorepulseError('STATE', 'storepulse misses at least one target (see the targets check)');
      }
    });
}

const num = (v: number | null, digits = 4) => (v === null ? '-' : String(Number(v.toFixed(digits))));
const pct = (v: number | null) => (v === null ? '-' : `${(100 * v).toFixed(3)} %`);

function sideBySide(sp: SystemScore, ref: SystemScore | null): Record<string, string>[] {
  const rows: Record<string, string>[] = [];
  const add = (figure: string, get: (s: SystemScore) => string) =>
    rows.push({ figure, storepulse: get(sp), reference: ref ? get(ref) : '(missing)' });
  sp.profiles.forEach((p, i) => {
    const of = (s: SystemScore) => s.profiles[i]!;
    add(`${p.profile}: instances / attacker users`, (s) => `${of(s).instances} / ${of(s).attacker_users}`);
    add(`${p.profile}: detected`, (s) => String(of(s).detected));
    add(`${p.profile}: recall`, (s) => num(of(s).recall));
    add(`${p.profile}: precision`, (s) => num(of(s).precision));
    add(`${p.profile}: TTD p50 / p95 (s)`, (s) => `${num(of(s).ttd_p50_s, 1)} / ${num(of(s).ttd_p95_s, 1)}`);
  });
  add('overall: users flagged', (s) => String(s.overall.users_flagged));
  add('overall: attackers flagged', (s) => `${s.overall.attackers_flagged} of ${s.overall.attacker_users}`);
  add('overall: humans flagged', (s) => String(s.overall.humans_flagged));
  add('overall: precision', (s) => num(s.overall.precision));
  add('overall: recall', (s) => num(s.overall.recall));
  add('overall: human FP rate', (s) => `${pct(s.overall.human_fp_rate)} of ${s.overall.human_users ?? '?'}`);
  add('overall: TTD p50 / p95 (s)', (s) => `${num(s.overall.ttd_p50_s, 1)} / ${num(s.overall.ttd_p95_s, 1)}`);
  add('global alerts: true / false', (s) => `${s.global.true} / ${s.global.false}`);
  add(
    'ddos bursts hit by a global alert',
    (s) => `${s.global.ddos_instances_hit} of ${s.global.ddos_instances}`,
  );
  add(
    'item alerts: true / collateral / false',
    (s) => `${s.items.true} / ${s.items.collateral} / ${s.items.false}`,
  );
  sp.profiles.forEach((p, i) => {
    const of = (s: SystemScore) => s.profiles[i]!;
    add(
      `${p.profile}: instances caught (by an item alert); by intensity band`,
      (s) =>
        `${of(s).instances_caught} of ${of(s).instances} (${of(s).instances_by_item}); ` +
        of(s)
          .bands.map((b) => `${b.band}: ${b.caught}/${b.instances}`)
          .join(', '),
    );
  });
  add('alerts (deduplicated)', (s) => String(s.alerts));
  return rows;
}

function checkRows(r: EvaluationReport): Record<string, string>[] {
  const mark = (c: TargetCheck | undefined) =>
    c === undefined ? '(n/a)' : `${c.pass ? 'PASS' : 'FAIL'} ${c.value === null ? '-' : num(c.value)}`;
  return r.checks.storepulse.map((c) => ({
    target: `${c.target} ${c.op} ${c.limit}`,
    storepulse: mark(c),
    reference: r.checks.reference ? mark(r.checks.reference.find((x) => x.target === c.target)) : '(missing)',
  }));
}

function formatReport(r: EvaluateOutput): string {
  const sp = r.systems.storepulse;
  const ref = r.systems.reference;
  const out = [
    `labels ${r.labels}; alerts ${r.alerts_source}; reference: ${r.reference_source}`,
    formatScope(r, ' (pass --data FILE, the data file of the labels)'),
    '',
    formatTable(sideBySide(sp, ref)),
    'per rule',
    formatTable(
      [sp, ...(ref ? [ref] : [])].flatMap((s) =>
        s.rules.map((x) => ({ system: s.name, ...x, precision: num(x.precision) })),
      ),
    ),
    ...(r.intensity ? [formatIntensity(r.intensity)] : []),
    formatTargets(r),
  ];
  return `${out.join('\n')}`;
}

/** Each profile's attackers against the humans' figures (core/evaluate.ts, intensities). */
function formatIntensity(rows: readonly ProfileIntensity[]): string {
  const v = (x: number | null) => (x === null ? '-' : Number.isFinite(x) ? num(x, 3) : 'none');
  return [
    "against humans: each profile's defining figures, the humans' p99 / p99.9, attackers beyond p99.9 caught, gentlest attacker / gentlest caught",
    formatTable(
      rows.flatMap((p) =>
        p.figures.map((f) => ({
          profile: p.profile,
          rule: f.rule,
          figure: f.figure,
          'humans p99 / p99.9': `${v(f.humans_p99)} / ${v(f.humans_p999)}`,
          'beyond p99.9: caught': `${f.caught} of ${f.beyond_p999}`,
          'gentlest / caught': `${v(f.gentlest)} / ${v(f.gentlest_caught)}`,
        })),
      ),
    ),
    formatTable(
      rows.map((p) => ({
        profile: p.profile,
        'beyond p99.9 on a defining figure: caught': `${p.caught_beyond_p999} of ${p.beyond_p999}`,
        'within p99.9 on every figure': p.indistinguishable,
        'reference only (of them indistinguishable)': `${p.reference_only} (${p.reference_only_indistinguishable})`,
      })),
    ),
    ...(rows.some((p) => p.items)
      ? [
          "aimed at items: each instance by its targets' figure against the humans' per-key figures (p99 / p99.9 / most over the keys with human traffic)",
          formatTable(
            rows.flatMap((p) =>
              (p.items?.figures ?? []).map((f) => ({
                profile: p.profile,
                rule: f.rule,
                'humans p99 / p99.9 / most': `${v(f.humans_p99)} / ${v(f.humans_p999)} / ${v(f.humans_most)}`,
                'beyond p99.9: caught': `${f.caught} of ${f.beyond_p999}`,
                'gentlest / caught': `${v(f.gentlest)} / ${v(f.gentlest_caught)}`,
              })),
            ),
          ),
          formatTable(
            rows
              .filter((p) => p.items)
              .map((p) => ({
                profile: p.profile,
                'instances beyond p99.9: caught': `${p.items!.caught_beyond_p999} of ${p.items!.beyond_p999}`,
                'within p99.9 (indistinguishable)': p.items!.indistinguishable,
                'gentlest caught / strongest missed intensity': `${v(p.items!.gentlest_caught_intensity)} / ${v(p.items!.strongest_missed_intensity)}`,
              })),
          ),
        ]
      : []),
  ].join('\n');
}

/** The side-by-side figures and the targets check, without the per-rule table (the demo's summary). */
export function formatComparison(r: EvaluationReport): string {
  return [
    formatScope(r),
    formatTable(sideBySide(r.systems.storepulse, r.systems.reference)),
    formatTargets(r),
  ].join('\n');
}

/** Which alerts were scored: a shared data folder also holds alerts of runs on other data. */
function formatScope(r: EvaluationReport, fix = ''): string {
  const p = r.population;
  if (p === null) {
    return (
      'scored: every alert; a flagged user who is not a labelled attacker counts as a human, since the ' +
      `labelled data set's users are unknown${fix}`
    );
  }
  const leftOut = (s: SystemScore) =>
    `${s.left_out.alerts.toLocaleString('en-US')} alerts on ${s.left_out.users.toLocaleString('en-US')} users (${s.name})`;
  const systems = r.systems.reference ? [r.systems.storepulse, r.systems.reference] : [r.systems.storepulse];
  return (
    `scored: alerts on the ${p.users.toLocaleString('en-US')} users of ${p.source}; left out, as not in ` +
    `it: ${systems.map(leftOut).join(', ')}`
  );
}

function formatTargets(r: EvaluationReport): string {
  return `targets (${r.passed ? 'storepulse meets all' : 'storepulse misses some'})\n${formatTable(checkRows(r))}`;
}
