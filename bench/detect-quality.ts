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
import { ItemFeatureMeter } from '../src/core/rules/item-features.js';
import { detectGenerated } from '../src/cli/calibrate.js';
import { ATTACK_PROFILES, generateLabels } from '../src/sources/synthetic/generator.js';

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
  const opts = { events, seed, attacks: [...ATTACK_PROFILES] };
  const planned = generateLabels(opts);
  const attackers = new Set(planned.flatMap((l) => l.user_ids));
  const items = new ItemFeatureMeter(
    detect.rules,
    attackers,
    detect.timeField,
    planned.map((l) => ({ targets: l.targets, start: Date.parse(l.start), end: Date.parse(l.end) })),
  );
  const run = detectGenerated(opts, [{ ...detect, reference: true }], {
    each: (batch) => {
      meter.add(batch);
      items.add(batch);
    },
  });
  const split = splitSystems(run.alerts[0]!);
  const users = run.population.users;
  const r = evaluate(run.labels, split.storepulse, split.reference, {
    population: run.population,
    figures: { features: meter.features, figures: meter.figures, users, items: items.result() },
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
  console.log(
    'profile            instances  caught (by item)  recall by intensity band 0-.25/.25-.5/.5-.75/.75-1  beyond humans p99.9 (item figure): caught  gentlest caught / strongest missed intensity  TTD p95 s',
  );
  for (const p of sp.profiles) {
    const i = r.intensity!.find((x) => x.profile === p.profile)!;
    console.log(
      [
        p.profile.padEnd(18),
        String(p.instances).padStart(9),
        `${p.instances_caught} (${p.instances_by_item})`.padStart(17),
        p.bands
          .map((b) => `${b.caught}/${b.instances}`)
          .join(' ')
          .padStart(51),
        (i.items ? `${i.items.caught_beyond_p999} of ${i.items.beyond_p999}` : '-').padStart(42),
        (i.items
          ? `${f(i.items.gentlest_caught_intensity)} / ${f(i.items.strongest_missed_intensity)}`
          : '-'
        ).padStart(46),
        (i.items ? f(i.items.ttd_p95_s, 1) : '-').padStart(10),
      ].join(' '),
    );
  }
  for (const p of r.intensity!)
    for (const x of p.items?.figures ?? [])
      console.log(
        `  ${p.profile} ${x.rule}: humans p99 / p99.9 / most ${f(x.humans_p99, 1)} / ${f(x.humans_p999, 1)} / ${f(x.humans_most, 1)}; beyond p99.9 caught ${x.caught} of ${x.beyond_p999}; gentlest ${f(x.gentlest, 1)}, gentlest caught ${f(x.gentlest_caught, 1)}`,
      );
  console.log(
    `item alerts: ${sp.items.alerts}, true ${sp.items.true}, collateral ${sp.items.collateral}, false ${sp.items.false}`,
  );
  // SHOW_FALSE_ITEM_ALERTS=1: the item alerts that name no target nor touched item of a running attack.
  if (process.env.SHOW_FALSE_ITEM_ALERTS)
    for (const a of split.storepulse.filter((x) => x.user_id === null && x.key_type !== 'global')) {
      const overlapping = run.labels.attacks.filter(
        (l) =>
          Date.parse(a.window_start) <= Date.parse(l.end) && Date.parse(a.window_end) >= Date.parse(l.start),
      );
      if (
        overlapping.some((l) =>
          (l.touched as Record<string, string[]> | undefined)?.[a.key_type]?.includes(a.key),
        )
      )
        continue;
      console.log(`false item alert: ${a.rule} ${a.key} at ${a.window_end}, count ${a.count}`);
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
