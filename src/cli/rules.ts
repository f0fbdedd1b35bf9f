/** `storepulse rules`: the active detection rules (config file or defaults), or the defaults as YAML. */
import type { Command } from 'commander';
import { stringify as toYaml } from 'yaml';
import type { DetectConfig } from '../core/config.js';
import { REFERENCE_RULE } from '../core/rules/reference.js';
import { DEFAULT_RULES, type RuleSpec } from '../core/rules/spec.js';
import { contextOf } from './context.js';
import { formatJson, formatTable, type Row } from './output.js';

/** The reference rule as a row of the same shape as the configured rules. */
function referenceRow(d: DetectConfig): Row {
  return {
    name: REFERENCE_RULE,
    type: 'reference (tumbling, fires at window close)',
    key: 'user',
    window: `${d.windowSeconds} s`,
    threshold: `> ${d.threshold}`,
    severity: `medium, high > ${d.highThreshold}`,
    cooldown: '',
    enabled: d.reference,
  };
}

function row(r: RuleSpec): Row {
  const window =
    r.type === 'regular-timing'
      ? `${r.threshold} gaps, mean <= ${r.windowSeconds} s`
      : r.type === 'traffic-spike'
        ? `${r.windowSeconds} s vs ${r.baselineSeconds} s baseline`
        : r.type === 'key-surge'
          ? `${r.events.join('+')} ~${r.windowSeconds} s vs ${r.baselineSeconds} s baseline`
          : `${r.windowSeconds} s sliding`;
  const threshold =
    r.type === 'regular-timing'
      ? `variation <= ${r.maxVariation}`
      : r.type === 'traffic-spike' || r.type === 'key-surge'
        ? `> max(${r.threshold}x baseline, baseline + ${r.zScore} sd, ${r.minEvents})`
        : `> ${r.threshold}`;
  const high = 'highThreshold' in r && r.highThreshold !== undefined ? `, high >= ${r.highThreshold}` : '';
  return {
    name: r.name,
    type: r.type,
    key: r.key,
    window,
    threshold,
    severity: `${r.severity}${high}`,
    cooldown: `${r.cooldownSeconds} s`,
    enabled: r.enabled,
  };
}

export function register(program: Command): void {
  program
    .command('rules')
    .description('show the active detection rules (from the config file, or the defaults)')
    .option('--json', 'print the rules as JSON, every setting included')
    .option('--defaults', 'print the default rules as YAML, ready to paste into storepulse.config.yaml')
    .action((flags: { json?: boolean; defaults?: boolean }, cmd: Command) => {
      if (flags.defaults) {
        process.stdout.write(toYaml({ detect: { rules: DEFAULT_RULES } }));
        return;
      }
      const d = contextOf(cmd).config.detect;
      if (flags.json) {
        const { rules, ...rest } = d;
        process.stdout.write(formatJson({ ...rest, rules }));
        return;
      }
      process.stdout.write(formatTable([referenceRow(d), ...d.rules.map(row)]));
      process.stdout.write(
        `time field ${d.timeField}; events later than ${d.watermarkSeconds} s behind the watermark are counted as late\n`,
      );
    });
}
