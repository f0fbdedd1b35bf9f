/**
 * What each keyed rule measures, per user, over a data set: the most suspicious value of the rule's
 * figure that any of the user's keys (the user, or one of the user's sessions) reached — events in
 * the window, cart adds with no purchase, distinct products swept, the variation of the gaps.
 * Calibration sets thresholds from the humans' distribution of these figures (calibrate.ts); the
 * evaluation bands attackers by them (core/evaluate.ts). docs/detection.md, "Calibration".
 *
 * The figures come from the rules' own signals (signals.ts) run with the lowest threshold, so a
 * figure here is exactly what the rule compares with its threshold; the rule's other settings
 * (window, categories, catalog walk, gap count) stay as configured. Pure: events in, figures out.
 */
import type { ClickEvent } from '../event.js';
import { nearestRank } from '../percentile.js';
import { History } from './history.js';
import type { TimeField } from './options.js';
import { type KeyedSignal, keyedSignal, type KeyedSpec } from './signals.js';
import { HISTORY_EVENTS, type RuleSpec } from './spec.js';

/** A rule's figure and which way is suspicious: counts fire above the threshold, variation below. */
export interface Feature {
  rule: string;
  type: KeyedSpec['type'];
  key: KeyedSpec['key'];
  direction: 'above' | 'below';
  /** Where the rule fires now: count > threshold ('above'), variation ≤ threshold ('below'). */
  threshold: number;
  /** What the figure is, for a report. */
  figure: string;
  /** How long the figure looks back (s): how soon it can show an attacker (gap rules: gaps × longest mean gap). */
  windowSeconds: number;
  /** The values the rule's schema accepts for its threshold. */
  min: number;
  max: number;
}

/** The keyed rules of a rule set as features (enabled rules only; spikes are measured elsewhere). */
function featuresOf(rules: readonly RuleSpec[]): Feature[] {
  const out: Feature[] = [];
  for (const r of rules) {
    if (!r.enabled || r.type === 'traffic-spike' || r.type === 'spike-participant' || r.type === 'key-surge')
      continue;
    const base = { rule: r.name, type: r.type, key: r.key };
    if (r.type === 'regular-timing') {
      out.push({
        ...base,
        direction: 'below',
        threshold: r.maxVariation,
        figure: `variation of ${r.threshold} gaps (mean ≤ ${r.windowSeconds} s)`,
        windowSeconds: r.threshold * r.windowSeconds,
        min: 0.001,
        max: 10,
      });
      continue;
    }
    const what = {
      rate: 'events',
      'cart-stuffing': 'cart adds',
      'view-sweep': 'distinct products viewed',
    }[r.type];
    const extra =
      r.type === 'cart-stuffing'
        ? ', no purchase'
        : r.type === 'view-sweep'
          ? `, views only, catalog walk ≥ ${r.minOrdered}`
          : '';
    out.push({
      ...base,
      direction: 'above',
      threshold: r.threshold,
      figure: `${what} in ${r.windowSeconds} s${extra}`,
      windowSeconds: r.windowSeconds,
      min: 1,
      // Counts over the key's ring (all but rates) cannot exceed what it holds.
      max: r.type === 'rate' ? 1e9 : HISTORY_EVENTS - 1,
    });
  }
  return out;
}

/** The spec a feature is measured with: the rule's own, firing at every value of its figure. */
function measuring(spec: KeyedSpec): KeyedSpec {
  return spec.type === 'regular-timing' ? { ...spec, maxVariation: Infinity } : { ...spec, threshold: 1 };
}

/** Whether `value` is beyond `threshold` the way the rule fires. */
export function beyond(f: Pick<Feature, 'direction'>, value: number, threshold: number): boolean {
  return f.direction === 'above' ? value > threshold : value <= threshold;
}

/** The value a user without any measured figure has: below every count, above every variation. */
export const noFigure = (f: Pick<Feature, 'direction'>): number => (f.direction === 'above' ? 0 : Infinity);

interface Meter {
  signal: KeyedSignal;
  slot: number;
  index: number;
  timing: boolean;
}

/** Keys idle this long past the longest horizon are dropped (files are roughly in time order). */
const EVICT_SLACK_MS = 60_000;

export class FeatureMeter {
  readonly features: Feature[];
  /** user → the most suspicious figure per feature (noFigure when none). */
  readonly figures = new Map<number, Float64Array>();
  private readonly userMeters: Meter[] = [];
  private readonly sessionMeters: Meter[] = [];
  private readonly userKeys = new Map<number, History>();
  private readonly sessionKeys = new Map<string, History>();
  private readonly horizonMs: number;
  private newest = -Infinity;
  private evictedAt = -Infinity;

  constructor(
    rules: readonly RuleSpec[],
    private readonly timeField: TimeField = 'event_time',
  ) {
    this.features = featuresOf(rules);
    let horizon = 0;
    this.features.forEach((f, index) => {
      const spec = rules.find((r) => r.name === f.rule) as KeyedSpec;
      const signal = keyedSignal(measuring(spec));
      horizon = Math.max(horizon, signal.horizonMs);
      const meters = f.key === 'user' ? this.userMeters : this.sessionMeters;
      meters.push({ signal, slot: meters.length, index, timing: f.direction === 'below' });
    });
    this.horizonMs = horizon + EVICT_SLACK_MS;
  }

  add(events: readonly ClickEvent[]): void {
    for (const e of events) {
      const t = this.timeField === 'event_time' ? e.event_time : e.txn_timestamp;
      if (t === undefined) continue;
      if (t > this.newest) this.newest = t;
      if (this.userMeters.length > 0) this.measure(this.userKeys, e.user_id, e, t, this.userMeters);
      if (this.sessionMeters.length > 0 && e.user_session !== null)
        this.measure(this.sessionKeys, e.user_session, e, t, this.sessionMeters);
    }
    if (this.newest - this.evictedAt >= 10_000) {
      this.evictedAt = this.newest;
      const before = this.newest - this.horizonMs;
      for (const [k, h] of this.userKeys) if (h.newest < before) this.userKeys.delete(k);
      for (const [k, h] of this.sessionKeys) if (h.newest < before) this.sessionKeys.delete(k);
    }
  }

  private measure<K>(keys: Map<K, History>, key: K, e: ClickEvent, t: number, meters: Meter[]): void {
    let h = keys.get(key);
    if (!h) keys.set(key, (h = new History(t, e.user_id)));
    h.push(e, t);
    for (const m of meters) {
      const hit = m.signal.check(h, t, m.slot);
      if (!hit) continue;
      const value = m.timing ? (hit.evidence.variation as number) : hit.count;
      let row = this.figures.get(e.user_id);
      if (!row) {
        row = Float64Array.from(this.features, noFigure);
        this.figures.set(e.user_id, row);
      }
      const now = row[m.index]!;
      if (m.timing ? value < now : value > now) row[m.index] = value;
    }
  }
}

/** Each feature's distribution over `users` (from a FeatureMeter's figures; a user without any counts as noFigure). */
export function distributionsOver(
  features: readonly Feature[],
  figures: ReadonlyMap<number, Float64Array>,
  users: readonly number[],
): FeatureDistribution[] {
  const columns = features.map((f) => new Float64Array(users.length).fill(noFigure(f)));
  users.forEach((u, i) => {
    const row = figures.get(u);
    if (row) features.forEach((_, k) => (columns[k]![i] = row[k]!));
  });
  return features.map((f, k) => new FeatureDistribution(f, columns[k]!));
}

/** A feature's values among a group of users, most suspicious last (users without a figure included). */
class FeatureDistribution {
  /** Ascending by suspicion: counts ascending, variations descending. */
  private readonly sorted: Float64Array;

  constructor(
    readonly feature: Feature,
    values: Float64Array,
  ) {
    this.sorted = Float64Array.from(values).sort();
    if (feature.direction === 'below') this.sorted.reverse();
  }

  /** The value at suspicion quantile q (0.999: only 0.1 % of the group is more suspicious); null if empty. */
  quantile(q: number): number | null {
    return nearestRank(this.sorted, q);
  }

  /** How many of the group a rule with this threshold flags. */
  flagged(threshold: number): number {
    let n = 0;
    for (let i = this.sorted.length - 1; i >= 0 && beyond(this.feature, this.sorted[i]!, threshold); i--) n++;
    return n;
  }

  /**
   * The threshold flagging at most `allowed` of the group, as lenient as that allows, within the
   * schema's range (the range's end when even it flags more: say so by `flagged`).
   */
  thresholdFor(allowed: number): number {
    const f = this.feature;
    const n = this.sorted.length;
    // The most suspicious value that must stay unflagged.
    const keep = n - 1 - Math.max(0, allowed);
    if (f.direction === 'above') {
      const t = keep < 0 ? f.min : Math.ceil(this.sorted[keep]!);
      return Math.min(f.max, Math.max(f.min, t));
    }
    // Variations are reported to 0.001: fire at values strictly below the kept one.
    const v = keep < 0 ? f.max : this.sorted[keep]! - 0.0005;
    return Math.min(f.max, Math.max(f.min, Math.round(v * 10_000) / 10_000));
  }
}
