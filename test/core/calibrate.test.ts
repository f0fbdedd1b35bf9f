import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, validateConfig } from '../../src/core/config.js';
import type { ClickEvent, EventType } from '../../src/core/event.js';
import { calibrate } from '../../src/core/rules/calibrate.js';
import { Detector } from '../../src/core/rules/detector.js';
import { beyond, distributionsOver, FeatureMeter } from '../../src/core/rules/features.js';
import type { RuleSpec } from '../../src/core/rules/spec.js';
import { Rng } from '../../src/sources/synthetic/rng.js';
import { ev } from '../helpers/events.js';

// The rules with a figure per user (key-surge rules have one per item: test/core/surge.test.ts).
const keyed = DEFAULT_CONFIG.detect.rules.filter(
  (r) => r.type !== 'traffic-spike' && r.type !== 'spike-participant' && r.type !== 'key-surge',
);

/**
 * Users of every speed and habit: paces from minutes to tens of milliseconds between events, regular
 * or jittered, views only or carts, products walked in order or at random, with or without purchases.
 * `odd` is the share of users given each machine-like habit.
 */
function traffic(users: number, seed: number, odd = 0.3): ClickEvent[] {
  const rng = new Rng(seed, 1);
  const out: ClickEvent[] = [];
  for (let u = 1; u <= users; u++) {
    const gap = 50 * Math.exp(rng.range(odd < 0.3 ? Math.log(20) : 0, Math.log(2400))); // 50 ms (1 s) … 2 min
    const jitter = rng.chance(odd) ? 0.02 : rng.range(0.2, 1.5);
    const cartShare = rng.chance(odd) ? rng.range(0.5, 1) : rng.range(0, 0.1);
    const ordered = rng.chance(odd);
    const buys = rng.chance(0.2);
    const n = 2 + rng.int(60);
    let t = rng.range(0, 3_600_000);
    for (let i = 0; i < n; i++) {
      t += Math.max(1, gap * (1 + jitter * rng.range(-1, 1)));
      const x = rng.next();
      const type: EventType = buys && x < 0.05 ? 'purchase' : x < cartShare ? 'cart' : 'view';
      out.push(
        ev(u, Math.round(t), {
          event_type: type,
          product_id: ordered ? 5000 + i : 5000 + rng.int(200),
          category_id: String(1 + rng.int(3)),
          user_session: `s-${u}-${Math.floor(i / 20)}`,
        }),
      );
    }
  }
  return out.sort((a, b) => a.event_time - b.event_time);
}

function flaggedBy(rules: RuleSpec[], events: ClickEvent[]): Map<string, Set<number>> {
  const r = validateConfig({ detect: { rules } });
  if (!r.ok) throw new Error(r.problems.join('; '));
  const d = new Detector(r.config.detect, () => 0);
  const out = new Map<string, Set<number>>(rules.map((x) => [x.name, new Set()]));
  for (let i = 0; i < events.length; i += 500) {
    const { alerts, newest } = d.add(events.slice(i, i + 500));
    for (const a of [...alerts, ...d.advance(newest)]) out.get(a.rule)!.add(a.user_id!);
  }
  return out;
}

function measure(rules: RuleSpec[], events: ClickEvent[]): FeatureMeter {
  const m = new FeatureMeter(rules);
  for (let i = 0; i < events.length; i += 500) m.add(events.slice(i, i + 500));
  return m;
}

describe('features: the figure each rule compares with its threshold, per user', () => {
  const events = traffic(600, 7);
  const meter = measure(keyed, events);

  it('a rule at threshold t flags exactly the users whose figure is beyond t', () => {
    const flagging = new Set<string>();
    // Thresholds across each figure's range, as a calibration could set them.
    for (const step of [0, 1, 2]) {
      const rules = keyed.map((r): RuleSpec => {
        if (r.type === 'regular-timing') return { ...r, maxVariation: [0.05, 0.21, 0.6][step]! };
        if (r.type === 'rate')
          return { ...r, threshold: Math.max(1, Math.round(r.threshold * [0.25, 0.6, 1][step]!)) };
        return { ...r, threshold: [2, 5, 9][step]! } as RuleSpec;
      });
      const fired = flaggedBy(rules, events);
      meter.features.forEach((f, k) => {
        const spec = rules.find((r) => r.name === f.rule)!;
        const t =
          spec.type === 'regular-timing' ? spec.maxVariation : (spec as { threshold: number }).threshold;
        const expected = [...meter.figures].filter(([, row]) => beyond(f, row[k]!, t)).map(([u]) => u);
        expect([...fired.get(f.rule)!].sort(), `${f.rule} at ${t}`).toEqual(expected.sort());
      });
      for (const r of rules) if (fired.get(r.name)!.size > 0) flagging.add(r.name);
    }
    // The traffic reaches every figure: a rule with nothing to flag would test nothing.
    expect([...flagging].sort()).toEqual(keyed.map((r) => r.name).sort());
  });
});

describe('calibrate: thresholds from the humans, within a shared false-positive budget', () => {
  const events = traffic(3000, 11, 0.01);
  const meter = measure(keyed, events);
  const users = [...new Set(events.map((e) => e.user_id))];

  it('flags at most the budget together, confirmed by the detector with the calibrated rules', () => {
    for (const budget of [0.005, 0.02, 0.1]) {
      const c = calibrate(DEFAULT_CONFIG.detect.rules, meter, users, budget);
      const allowed = Math.floor(budget * users.length);
      expect(c.union.after).toBeLessThanOrEqual(allowed);
      const fired = flaggedBy(
        c.calibrated.filter((r) => c.rules.some((x) => x.feature.rule === r.name)),
        events,
      );
      const union = new Set([...fired.values()].flatMap((s) => [...s]));
      expect(union.size).toBe(c.union.after);
      // As lenient as the allowance lets it be: one step lower, a count rule flags more than it.
      const dists = distributionsOver(meter.features, meter.figures, users);
      c.rules.forEach((r, k) => {
        if (r.feature.direction === 'above' && r.after.threshold > r.feature.min)
          expect(dists[k]!.flagged(r.after.threshold - 1), r.feature.rule).toBeGreaterThan(
            c.per_rule_allowance,
          );
      });
    }
  });

  it('shares the budget: each rule may flag more than an equal split when humans overlap', () => {
    const c = calibrate(DEFAULT_CONFIG.detect.rules, meter, users, 0.02);
    const allowed = Math.floor(0.02 * users.length);
    expect(c.per_rule_allowance).toBeGreaterThanOrEqual(Math.floor(allowed / c.rules.length));
    for (const r of c.rules) expect(r.after.humans_flagged).toBeLessThanOrEqual(c.per_rule_allowance);
  });

  it('caps a threshold at what the rule can see and says so when humans go beyond it', () => {
    const wild = traffic(600, 7);
    const c = calibrate(
      DEFAULT_CONFIG.detect.rules,
      measure(keyed, wild),
      [...new Set(wild.map((e) => e.user_id))],
      0.005,
    );
    const sweep = c.rules.find((r) => r.feature.type === 'view-sweep')!;
    expect(sweep.after.threshold).toBe(31);
    expect(sweep.capped).toBe(true);
    expect(sweep.after.humans_flagged).toBeGreaterThan(c.per_rule_allowance);
  });

  it('keeps windows, spikes and the other settings; writes a valid rule set', () => {
    const c = calibrate(DEFAULT_CONFIG.detect.rules, meter, users, 0.001);
    const byName = new Map(c.calibrated.map((r) => [r.name, r]));
    for (const r of DEFAULT_CONFIG.detect.rules) {
      const x = byName.get(r.name)!;
      expect(x.type).toBe(r.type);
      if ('windowSeconds' in r) expect((x as { windowSeconds: number }).windowSeconds).toBe(r.windowSeconds);
      if (r.type === 'traffic-spike' || r.type === 'spike-participant') expect(x).toEqual(r);
    }
    // The output is a valid rule set.
    expect(validateConfig({ detect: { rules: c.calibrated } }).ok).toBe(true);
  });
});
