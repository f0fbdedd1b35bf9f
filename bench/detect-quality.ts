/**
 * Detection quality over several seeds, every attack profile over its whole intensity range:
 * `storepulse generate` data made in memory, the detector (the config's rules, or the defaults) and
 * the reference rule over it in file order, scored by `evaluate` with the humans' figures
 * (docs/evaluate.md). Prints per seed and profile: recall, recall beyond the humans' p99.9,
 * attackers no figure tells from people, what only the reference caught, time to detect; then
 * precision and human false positives, and every target check that failed.
 *
 *   npm run build && node dist/bench/detect-quality.js --events 1000000 --seeds 1,2,3 [--config FILE]
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_CONFIG, type DetectConfig, validateConfig } from '../src/core/config.js';
import { evaluate, splitSystems } from '../src/core/evaluate.js';
import { FeatureMeter } from '../src/core/rules/features.js';
import { detectGenerated } from '../src/cli/calibrate.js';
import { ATTACK_PROFILES } from '../src/sources/synthetic/generator.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
}

const events = Number(arg('events', '1000000'));
const seeds = arg('seeds', '1,2,3').split(',').map(Number);
const configFile = arg('config', '');
let detect: DetectConfig = DEFAULT_CONFIG.detect;
if (configFile) {
  const r = validateConfig(parseYaml(readFileSync(configFile, 'utf8')));
  if (!r.ok) throw new Error(r.problems.join('; '));
  detect = r.config.detect;
}
const f = (x: number | null, d = 3) => (x === null ? '-' : String(Number(x.toFixed(d))));

for (const seed of seeds) {
  const started = performance.now();
  const meter = new FeatureMeter(detect.rules, detect.timeField);
  const run = detectGenerated(
    { events, seed, attacks: [...ATTACK_PROFILES] },
    [{ ...detect, reference: true }],
    {
      each: (batch) => meter.add(batch),
    },
  );
  const split = splitSystems(run.alerts[0]!);
  const users = run.population.users;
  const r = evaluate(run.labels, split.storepulse, split.reference, {
    population: run.population,
    figures: { features: meter.features, figures: meter.figures, users },
  });
  const sp = r.systems.storepulse;
  console.log(
    `\nseed ${seed}: ${events.toLocaleString('en-US')} events, ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  console.log(
    'profile       attackers  recall  beyond p99.9: caught  indistinguishable  reference only (distinguishable)  TTD p95 s: bursts (n)  slow (n)',
  );
  for (const p of sp.profiles) {
    const i = r.intensity!.find((x) => x.profile === p.profile)!;
    console.log(
      [
        p.profile.padEnd(12),
        String(p.attacker_users).padStart(10),
        f(p.recall).padStart(7),
        `${i.caught_beyond_p999} of ${i.beyond_p999}`.padStart(21),
        String(i.indistinguishable).padStart(18),
        `${i.reference_only} (${i.reference_only - i.reference_only_indistinguishable})`.padStart(33),
        `${f(i.burst.ttd_p95_s, 1)} (${i.burst.caught})`.padStart(22),
        `${f(i.slow.ttd_p95_s, 1)} (${i.slow.caught})`.padStart(9),
      ].join(' '),
    );
  }
  const o = sp.overall;
  const ref = r.systems.reference!.overall;
  console.log(
    `precision ${f(o.precision)} (reference ${f(ref.precision)}); humans flagged ${o.humans_flagged} of ${o.human_users} ` +
      `= ${f(100 * (o.human_fp_rate ?? 0), 4)} % (reference ${ref.humans_flagged}); global alerts true/false ${sp.global.true}/${sp.global.false}, DDoS bursts hit ${sp.global.ddos_instances_hit} of ${sp.global.ddos_instances}`,
  );
  const failed = r.checks.storepulse.filter((c) => !c.pass);
  console.log(
    failed.length === 0
      ? 'every target met'
      : `missed: ${failed.map((c) => `${c.target} (${f(c.value)})`).join('; ')}`,
  );
}
