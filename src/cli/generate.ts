/** `storepulse generate`: a synthetic REES46-shaped data set, optionally with labelled attacks. */
import type { Command } from 'commander';
import { StorepulseError } from '../core/errors.js';
import { formatEventTime } from '../core/time.js';
import {
  ATTACK_PROFILES,
  type AttackProfile,
  type GenerateSummary,
  generateToFile,
  parseAttackList,
} from '../sources/synthetic/generator.js';
import { contextOf, intOption } from './context.js';
import { formatJson } from './output.js';
import { createProgress, formatCount } from './progress.js';

interface GenerateFlags {
  events: number;
  seed: number;
  out: string;
  start?: string;
  attacks?: AttackProfile[];
  attackRepeats?: number;
  attackIntensity?: [number, number];
  labels?: string;
  perDay?: number;
  json?: boolean;
}

/** `0.5-1`, or one number for both ends. */
function parseIntensity(text: string): [number, number] {
  const m = /^\s*(\d*\.?\d+)\s*(?:-\s*(\d*\.?\d+)\s*)?$/.exec(text);
  const lo = Number(m?.[1]);
  const hi = m?.[2] === undefined ? lo : Number(m[2]);
  if (!m || !(lo <= hi && hi <= 1)) {
    throw new StorepulseError(
      'USAGE',
      `--attack-intensity takes MIN-MAX within 0-1 (e.g. 0.5-1) or one number, got ${text}`,
    );
  }
  return [lo, hi];
}

export function register(program: Command): void {
  program
    .command('generate')
    .description(
      'write a synthetic data set shaped like the REES46 files (.csv or .csv.gz), optionally with ' +
        'injected bot/DDoS attacks and a labels file naming them',
    )
    .requiredOption('--out <file>', 'output file; .csv.gz is gzip-compressed')
    .option(
      '--events <n>',
      'rows to write, attacks and duplicates included',
      intOption('--events'),
      1_000_000,
    )
    .option(
      '--seed <n>',
      'random seed: the same seed and flags give the same bytes',
      intOption('--seed', 0),
      1,
    )
    .option('--start <date>', 'first day (UTC), YYYY-MM-DD', '2019-10-01')
    .option(
      '--attacks <list>',
      `comma-separated attack profiles to inject: ${ATTACK_PROFILES.join(', ')}, or all`,
      parseAttackList,
    )
    .option(
      '--attack-repeats <n>',
      'instances of each attack profile, each at its own time (default max(1, events / 50,000), ' +
        'capped so they fit)',
      intOption('--attack-repeats'),
    )
    .option(
      '--attack-intensity <min-max>',
      "attack intensities to draw within 0-1: 1 is each profile's strongest, 0 its gentlest, near fast " +
        'humans (default 0-1, spread evenly over the instances); one number fixes it',
      parseIntensity,
    )
    .option('--labels <file>', 'labels file (default <out>.labels.json when attacks are injected)')
    .option(
      '--per-day <n>',
      'average events per day, which sets the time span (default 1,400,000, the real density)',
      intOption('--per-day'),
    )
    .option('--json', 'print the summary as JSON')
    .action(async (flags: GenerateFlags, cmd: Command) => {
      const ctx = contextOf(cmd);
      const progress = createProgress({
        label: 'generate',
        total: flags.events,
        unit: 'rows',
        quiet: ctx.quiet,
      });
      const summary = await generateToFile({
        events: flags.events,
        seed: flags.seed,
        start: flags.start,
        attacks: flags.attacks,
        attackRepeats: flags.attackRepeats,
        attackIntensity: flags.attackIntensity,
        eventsPerDay: flags.perDay,
        out: flags.out,
        labelsPath: flags.labels,
        onProgress: (rows) => progress.update(rows),
      });
      progress.finish();
      if (summary.attackEvents > 0.1 * summary.rows) {
        ctx.log(
          `note: attacks are ${((100 * summary.attackEvents) / summary.rows).toFixed(0)} % of the rows; ` +
            'with --events 100000 or more they stay a few %',
        );
      }
      process.stdout.write(flags.json ? formatJson(summary) : formatSummary(summary));
    });
}

function formatSummary(s: GenerateSummary): string {
  const span = `${formatEventTime(Date.parse(s.first))} … ${formatEventTime(Date.parse(s.last))}`;
  const lines = [
    `wrote ${formatCount(s.rows)} rows to ${s.out} (${span})`,
    `  duplicates ${formatCount(s.duplicates)}, attack events ${formatCount(s.attackEvents)}, ` +
      `human users ${formatCount(s.humanUsers)}, human sessions ${formatCount(s.humanSessions)}`,
  ];
  const byProfile = new Map<
    string,
    { instances: number; events: number; users: number; start: string; end: string }
  >();
  for (const l of s.labels) {
    const p = byProfile.get(l.profile);
    if (!p)
      byProfile.set(l.profile, {
        instances: 1,
        events: l.events,
        users: l.user_ids.length,
        start: l.start,
        end: l.end,
      });
    else {
      p.instances++;
      p.events += l.events;
      p.users += l.user_ids.length;
      if (l.start < p.start) p.start = l.start;
      if (l.end > p.end) p.end = l.end;
    }
  }
  for (const [profile, p] of byProfile) {
    lines.push(
      `  ${profile}: ${formatCount(p.events)} events, ${p.instances} instance(s), ${formatCount(p.users)} user(s), ` +
        `${p.start} … ${p.end}`,
    );
  }
  if (s.labelsPath) lines.push(`  labels in ${s.labelsPath}`);
  lines.push(
    `  ${s.seconds.toFixed(1)} s, ${formatCount(Math.round(s.rows / Math.max(s.seconds, 1e-9)))} rows/s`,
  );
  return `${lines.join('\n')}\n`;
}
