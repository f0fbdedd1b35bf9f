/**
 * Calibration: thresholds from the store's own traffic. Given the humans' figures per rule
 * (features.ts), each keyed rule's threshold is set as leniently as a shared false-positive budget
 * allows: the rules together flag at most `budget` of the humans. Windows and the rules' other
 * settings stay as configured; spikes (relative to their own live baseline) are not calibrated.
 *
 * How the budget is shared: every rule may flag the same number `a` of humans, the largest `a` whose
 * union over the rules stays within the budget (found by bisection; `a` ≥ budget / rules, where the
 * union cannot exceed it). Fast humans often stand out on several figures at once, so the union is
 * smaller than the sum and each rule gets more than an equal split. Pure.
 */
import { beyond, distributionsOver, type Feature } from './features.js';
import { type ItemFeature, type ItemFigures, itemQuantile } from './item-features.js';
import type { RuleSpec } from './spec.js';

export const DEFAULT_FP_BUDGET = 0.001;

export interface RuleCalibration {
  feature: Feature;
  /** The humans' figure at the 99th and 99.9th suspicion percentiles, and the most suspicious one. */
  p99: number | null;
  p999: number | null;
  most: number | null;
  before: { threshold: number; humans_flagged: number };
  after: { threshold: number; humans_flagged: number };
  /** The schema's range stopped the threshold short of the budget. */
  capped: boolean;
}

export interface Calibration {
  budget: number;
  humans: number;
  /** Humans each rule may flag (the shared allowance). */
  per_rule_allowance: number;
  rules: RuleCalibration[];
  /** Humans flagged by any calibrated rule, before and after. */
  union: { before: number; after: number };
  /** The whole rule set with the calibrated thresholds (spikes and disabled rules as they were). */
  calibrated: RuleSpec[];
}

/**
 * Calibrates `rules` on the figures of `meter` (a FeatureMeter's, measured with the same rules). `humans` are the
 * users to keep unflagged: every user of the data set but the known attackers.
 */
export function calibrate(
  rules: readonly RuleSpec[],
  meter: { features: readonly Feature[]; figures: ReadonlyMap<number, Float64Array> },
  humans: Iterable<number>,
  budget = DEFAULT_FP_BUDGET,
): Calibration {
  const features = meter.features;
  const ids = [...humans];
  const n = ids.length;
  const dists = distributionsOver(features, meter.figures, ids);
  // The humans with any figure: the only ones a rule can flag.
  const rows: Float64Array[] = [];
  for (const u of ids) {
    const row = meter.figures.get(u);
    if (row) rows.push(row);
  }
  const union = (thresholds: readonly number[]) => {
    let count = 0;
    for (const row of rows) if (features.some((f, k) => beyond(f, row[k]!, thresholds[k]!))) count++;
    return count;
  };
  const allowedTotal = Math.floor(budget * n);
  const thresholdsAt = (a: number) => dists.map((d) => d.thresholdFor(a));
  let lo = features.length > 0 ? Math.floor(allowedTotal / features.length) : 0;
  let hi = allowedTotal;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (union(thresholdsAt(mid)) <= allowedTotal) lo = mid;
    else hi = mid - 1;
  }
  const after = thresholdsAt(lo);
  const before = features.map((f) => f.threshold);

  const calibrated = rules.map((r): RuleSpec => {
    const k = features.findIndex((f) => f.rule === r.name);
    if (k < 0) return r;
    const t = after[k]!;
    if (r.type === 'regular-timing') return { ...r, maxVariation: t };
    if (r.type === 'traffic-spike' || r.type === 'spike-participant' || r.type === 'key-surge') return r;
    // A high-severity step keeps its distance from the threshold, as a ratio.
    const high =
      r.highThreshold === undefined
        ? {}
        : { highThreshold: Math.max(t + 1, Math.round((r.highThreshold * t) / r.threshold)) };
    return { ...r, threshold: t, ...high };
  });

  return {
    budget,
    humans: n,
    per_rule_allowance: lo,
    rules: features.map((feature, k) => {
      const d = dists[k]!;
      const flaggedAfter = d.flagged(after[k]!);
      return {
        feature,
        p99: d.quantile(0.99),
        p999: d.quantile(0.999),
        most: d.quantile(1),
        before: { threshold: before[k]!, humans_flagged: d.flagged(before[k]!) },
        after: { threshold: after[k]!, humans_flagged: flaggedAfter },
        capped: flaggedAfter > lo,
      };
    }),
    union: { before: union(before), after: union(after) },
    calibrated,
  };
}

/** A key-surge rule's floor from the humans' per-key figures. */
export interface ItemCalibration {
  feature: ItemFeature;
  /** Keys with human traffic of the rule's events. */
  keys: number;
  p99: number | null;
  p999: number | null;
  most: number | null;
  before: { minEvents: number; keys_flagged: number };
  after: { minEvents: number; keys_flagged: number };
}

/**
 * Key-surge floors (`minEvents`): each as low as the budget allows, as a share of the keys with human
 * traffic (a rule with floor m flags exactly the keys whose figure is above m: item-features.ts). The
 * budget is the users' share applied to keys: with a few hundred brands or categories that is none,
 * so the floor sits at the most any human key reached. Returns the rules with the new floors.
 */
export function calibrateItems(
  rules: readonly RuleSpec[],
  items: ItemFigures,
  budget = DEFAULT_FP_BUDGET,
): { items: ItemCalibration[]; calibrated: RuleSpec[] } {
  const flagged = (sorted: Float64Array, m: number) => {
    let n = 0;
    for (let i = sorted.length - 1; i >= 0 && sorted[i]! > m; i--) n++;
    return n;
  };
  const out = items.features.map((feature, k): ItemCalibration => {
    const sorted = items.humans[k]!;
    const allowed = Math.floor(budget * sorted.length);
    const keep = sorted.length - 1 - allowed;
    // Figures are decayed counts: the floor is rounded up to a hundredth, never below one event.
    const after = Math.max(1, keep < 0 ? 1 : Math.ceil(sorted[keep]! * 100) / 100);
    return {
      feature,
      keys: sorted.length,
      p99: itemQuantile(sorted, 0.99),
      p999: itemQuantile(sorted, 0.999),
      most: itemQuantile(sorted, 1),
      before: { minEvents: feature.threshold, keys_flagged: flagged(sorted, feature.threshold) },
      after: { minEvents: after, keys_flagged: flagged(sorted, after) },
    };
  });
  const calibrated = rules.map((r): RuleSpec => {
    const c = out.find((x) => x.feature.rule === r.name);
    return c && r.type === 'key-surge' ? { ...r, minEvents: c.after.minEvents } : r;
  });
  return { items: out, calibrated };
}
