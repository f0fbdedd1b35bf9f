/**
 * `storepulse calibrate FILE`: thresholds from the store's own traffic (core/rules/calibrate.ts).
 * Measures every keyed rule's figure per user over FILE, sets each threshold as leniently as the
 * false-positive budget allows, writes the rule set as a config file, and prints what the budget
 * costs in detection on the generator's attack profiles (docs/detection.md, "Calibration").
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { stringify as toYaml } from 'yaml';
import type { DetectConfig } from '../core/config.js';
import { StorepulseError } from '../core/errors.js';
import type { ClickEvent } from '../core/event.js';
import type { Alert } from '../core/alert.js';
import { type EvaluationLabels, type Population, type SystemScore, scoreSystem } from '../core/evaluate.js';
import {
  type Calibration,
  calibrate,
  calibrateItems,
  DEFAULT_FP_BUDGET,
  type ItemCalibration,
} from '../core/rules/calibrate.js';
import { Detector } from '../core/rules/detector.js';
import type { RuleSpec } from '../core/rules/spec.js';
import { isoUtc } from '../core/time.js';
import { writeFileAtomic } from '../fs/files.js';
import {
  ATTACK_PROFILES,
  generateEvents,
  generateLabels,
  type GenerateOptions,
} from '../sources/synthetic/generator.js';
import { type Context, contextOf, intOption } from './context.js';
import { readLabels, scanDataFile } from './evaluate.js';
import { formatJson, formatTable } from './output.js';
import { createProgress } from './progress.js';

interface CalibrateFlags {
  labels?: string;
  budget: string;
  out: string;
  force?: boolean;
  checkEvents: number;
  seed: number;
  json?: boolean;
}

/** Detection on the generator's profiles with the rules before and after calibration. */
export interface CostCheck {
  events: number;
  seed: number;
  before: SystemScore;
  after: SystemScore;
}

/** What detection over generated data gives: the labels, the data set's users, each config's alerts. */
export interface GeneratedRun {
  labels: EvaluationLabels;
  population: Population;
  alerts: Alert[][];
}

/**
 * Generates a labelled data set in memory and runs a detector per config over it in one pass, in
 * batches of 500 as `simulate` sends them (file order, as `evaluate`'s reference column runs);
 * `each` sees every batch too (e.g. a FeatureMeter).
 */
export function detectGenerated(
  opts: GenerateOptions,
  configs: readonly DetectConfig[],
  { each, onProgress }: { each?: (batch: ClickEvent[]) => void; onProgress?: (events: number) => void } = {},
): GeneratedRun {
  const attacks = generateLabels(opts);
  const detectors = configs.map((c) => new Detector(c));
  const alerts: Alert[][] = configs.map(() => []);
  const users = new Set<number>();
  let batch: ClickEvent[] = [];
  let done = 0;
  const run = () => {
    detectors.forEach((d, i) => {
      const { alerts: fired, newest } = d.add(batch);
      for (const a of fired) alerts[i]!.push(a);
      for (const a of d.advance(newest)) alerts[i]!.push(a);
    });
    each?.(batch);
    done += batch.length;
    batch = [];
    onProgress?.(done);
  };
  for (const e of generateEvents(opts)) {
    users.add(e.user_id);
    batch.push(e);
    if (batch.length === 500) run();
  }
  run();
  detectors.forEach((d, i) => alerts[i]!.push(...d.flush()));
  const attackers = new Set(attacks.flatMap((l) => l.user_ids));
  return {
    labels: { attacks, human_users: [...users].filter((u) => !attackers.has(u)).length },
    population: { source: `storepulse generate --events ${opts.events} --seed ${opts.seed}`, users },
    alerts,
  };
}

/** Detection on the generator's profiles (every one, over its whole intensity range) before and after. */
function costCheck(
  ctx: Context,
  before: RuleSpec[],
  after: RuleSpec[],
  events: number,
  seed: number,
): CostCheck {
  const cfg = (rules: RuleSpec[]): DetectConfig => ({ ...ctx.config.detect, rules, reference: false });
  const progress = createProgress({
    label: 'generator profiles',
    unit: 'events',
    total: events,
    quiet: ctx.quiet,
  });
  const r = detectGenerated({ events, seed, attacks: [...ATTACK_PROFILES] }, [cfg(before), cfg(after)], {
    onProgress: (n) => progress.update(n),
  });
  progress.finish();
  return {
    events,
    seed,
    before: scoreSystem('before', r.labels, r.alerts[0]!, r.population),
    after: scoreSystem('after', r.labels, r.alerts[1]!, r.population),
  };
}

const fmt = (v: number | null) =>
  v === null ? '-' : Number.isFinite(v) ? String(Number(v.toFixed(3))) : 'none';
const pct = (n: number, of: number) => `${n} (${of > 0 ? ((100 * n) / of).toFixed(3) : '-'} %)`;

function formatCalibration(
  c: Calibration & { items: ItemCalibration[] },
  file: string,
  out: string,
  check: CostCheck | null,
): string {
  const lines = [
    `calibrated on ${c.humans.toLocaleString('en-US')} human users of ${file}; budget ${(100 * c.budget).toFixed(3)} % ` +
      `of them (${Math.floor(c.budget * c.humans)} users), each rule up to ${c.per_rule_allowance}`,
    '',
    formatTable(
      c.rules.map((r) => ({
        rule: r.feature.rule,
        figure: r.feature.figure,
        'humans p99': fmt(r.p99),
        'p99.9': fmt(r.p999),
        most: fmt(r.most),
        fires: r.feature.direction === 'above' ? '>' : '<=',
        threshold: `${r.before.threshold} -> ${r.after.threshold}${r.capped ? ' (capped)' : ''}`,
        'humans flagged': `${r.before.humans_flagged} -> ${r.after.humans_flagged}`,
      })),
    ),
    `humans flagged by any of these rules: ${pct(c.union.before, c.humans)} -> ${pct(c.union.after, c.humans)}`,
  ];
  if (c.items.length > 0)
    lines.push(
      '',
      'key-surge floors (minEvents) from the per-key figures of the human traffic, the same budget as a share of keys:',
      formatTable(
        c.items.map((r) => ({
          rule: r.feature.rule,
          'keys with human traffic': r.keys,
          'humans p99': fmt(r.p99),
          'p99.9': fmt(r.p999),
          most: fmt(r.most),
          minEvents: `${r.before.minEvents} -> ${r.after.minEvents}`,
          'keys flagged': `${r.before.keys_flagged} -> ${r.after.keys_flagged}`,
        })),
      ),
    );
  if (c.rules.some((r) => r.capped))
    lines.push(
      'capped: the rule cannot go higher (a rule sees the last 31 events of a key); its figure does not ' +
        'separate these humans: consider a longer window or disabling it',
    );
  if (check) {
    const rows = check.before.profiles.map((p, i) => {
      const a = check.after.profiles[i]!;
      return {
        profile: p.profile,
        'attacker users': p.attacker_users,
        recall: `${fmt(p.recall)} -> ${fmt(a.recall)}`,
        'TTD p95 (s)': `${fmt(p.ttd_p95_s)} -> ${fmt(a.ttd_p95_s)}`,
      };
    });
    const o = (s: SystemScore) => s.overall;
    lines.push(
      '',
      `what it costs on the generator's profiles (${check.events.toLocaleString('en-US')} events, seed ${check.seed}, every profile):`,
      formatTable(rows),
      `humans flagged there: ${o(check.before).humans_flagged} -> ${o(check.after).humans_flagged} of ` +
        `${o(check.before).human_users ?? '?'}; precision ${fmt(o(check.before).precision)} -> ${fmt(o(check.after).precision)}`,
    );
  }
  lines.push('', `wrote ${out}: pass it with --config, or merge its detect.rules into your config file`);
  return `${lines.join('\n')}\n`;
}

export function register(program: Command): void {
  program
    .command('calibrate <file>')
    .description(
      "set the rules' thresholds from a store's own traffic (mostly human): each as lenient as a " +
        'false-positive budget allows; writes a config file and shows what it costs in detection',
    )
    .option(
      '--labels <file>',
      'labels of known attackers in FILE, kept out of the human figures (default FILE.labels.json if present)',
    )
    .option('--budget <share>', 'share of human users the rules may flag together', String(DEFAULT_FP_BUDGET))
    .option('--out <file>', 'config file to write', 'storepulse.calibrated.yaml')
    .option('--force', 'overwrite --out if it exists')
    .option(
      '--check-events <n>',
      'events of generated attacks and humans to measure the cost on (0: skip)',
      intOption('--check-events', 0),
      1_000_000,
    )
    .option('--seed <n>', 'seed of that generated data set', intOption('--seed', 0), 46)
    .option('--json', 'print the calibration as JSON')
    .action(async (file: string, flags: CalibrateFlags, cmd: Command) => {
      const ctx = contextOf(cmd);
      const budget = Number(flags.budget);
      if (!(budget > 0 && budget < 1))
        throw new StorepulseError('USAGE', '--budget must be a share between 0 and 1, e.g. 0.001');
      const { checkEvents, seed } = flags;
      if (file !== '-' && !existsSync(file))
        throw new StorepulseError('INPUT', `data file ${file} not found`);
      if (existsSync(flags.out) && !flags.force)
        throw new StorepulseError(
          'USAGE',
          `${flags.out} exists: pass --force to replace it, or --out another file`,
        );
      const labelsPath =
        flags.labels ?? (existsSync(`${file}.labels.json`) ? `${file}.labels.json` : undefined);
      const attackers = new Set(labelsPath ? readLabels(labelsPath).attacks.flatMap((l) => l.user_ids) : []);

      const rules = ctx.config.detect.rules;
      const scan = await scanDataFile(file, ctx, {
        reference: false,
        figures: ctx.config.detect,
        attackers,
      });
      const humans = [...scan.population.users].filter((u) => !attackers.has(u));
      if (humans.length === 0) throw new StorepulseError('INPUT', `${file} has no users to calibrate on`);
      const keyed = calibrate(rules, scan.figures!, humans, budget);
      // Key-surge floors from the humans' per-key figures, the same budget as a share of keys.
      const { items, calibrated } = calibrateItems(keyed.calibrated, scan.items!, budget);
      const c: Calibration & { items: ItemCalibration[] } = { ...keyed, calibrated, items };
      const check = checkEvents > 0 ? costCheck(ctx, rules, c.calibrated, checkEvents, seed) : null;

      const header =
        `# storepulse calibrate ${file}, ${isoUtc(Date.now())}: budget ${budget} of ${humans.length} human users` +
        `${labelsPath ? ` (attackers of ${labelsPath} left out)` : ''}\n`;
      await writeFileAtomic(flags.out, header + toYaml({ detect: { rules: c.calibrated } }));
      process.stdout.write(
        flags.json
          ? formatJson({ file, labels: labelsPath ?? null, out: flags.out, ...c, check })
          : formatCalibration(c, file, flags.out, check),
      );
    });
}
