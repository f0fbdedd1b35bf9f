/**
 * What each key-surge rule measures, per product, category or brand, over a data set: the key's
 * figure is the highest recent count it reached over its own relative limit (surge.ts), so a rule with
 * floor `minEvents` m fires on exactly the keys whose figure is above m. Measured twice: over the
 * humans' events only (the store's distribution of per-key figures, which calibration and the
 * evaluation compare with) and over every event (what an attacked key reached). Pure.
 */
import type { ItemKeyType } from '../alert.js';
import type { ClickEvent } from '../event.js';
import { nearestRank } from '../percentile.js';
import type { TimeField } from './options.js';
import type { RuleSpec } from './spec.js';
import { type ItemKey, itemKeyOf, KeySurge } from './surge.js';

export interface ItemFeature {
  rule: string;
  key: ItemKeyType;
  /** Where the rule fires now (its minEvents). */
  threshold: number;
  figure: string;
  windowSeconds: number;
}

export interface ItemFigures {
  features: ItemFeature[];
  /** Per feature: the figure of every key with a counted human event (0 when never over its relative limit), ascending. */
  humans: Float64Array[];
  /**
   * Per feature, per watched instance (the order given): the highest figure any of its targets of the
   * feature's key type reached over every event while it ran (its start to its end + the window).
   */
  watched: Float64Array[];
}

/** An attack instance whose targets are watched: its items and when it ran (ms). */
export interface Watched {
  targets?: readonly { key_type: string; key: string }[];
  start: number;
  end: number;
}

/** Nearest-rank quantile of an ascending array; null when empty. */
export const itemQuantile = (sorted: Float64Array, q: number): number | null => nearestRank(sorted, q);

export class ItemFeatureMeter {
  readonly features: ItemFeature[] = [];
  private readonly all: KeySurge[] = [];
  private readonly humans: KeySurge[] = [];
  private readonly humanKeys: Set<ItemKey>[] = [];
  private evictedAt = -Infinity;
  /** Per feature: key text → indexes of the watched instances that target it. */
  private readonly watch: Map<string, number[]>[] = [];
  private readonly watched: Float64Array[] = [];

  constructor(
    rules: readonly RuleSpec[],
    private readonly attackers: ReadonlySet<number>,
    private readonly timeField: TimeField = 'event_time',
    private readonly instances: readonly Watched[] = [],
  ) {
    for (const r of rules) {
      if (!r.enabled || r.type !== 'key-surge') continue;
      this.features.push({
        rule: r.name,
        key: r.key,
        threshold: r.minEvents,
        figure: `${r.events.join('+')} per ${r.key} in ~${r.windowSeconds} s, over max(${r.threshold}x, +${r.zScore} sd) its baseline`,
        windowSeconds: r.windowSeconds,
      });
      this.all.push(new KeySurge(r, true));
      this.humans.push(new KeySurge(r, true));
      this.humanKeys.push(new Set());
      const watch = new Map<string, number[]>();
      instances.forEach((x, i) => {
        for (const t of x.targets ?? [])
          if (t.key_type === r.key) watch.set(t.key, [...(watch.get(t.key) ?? []), i]);
      });
      this.watch.push(watch);
      this.watched.push(new Float64Array(instances.length));
    }
  }

  add(events: readonly ClickEvent[]): void {
    if (this.all.length === 0) return;
    let newest = -Infinity;
    for (const e of events) {
      const t = this.timeField === 'event_time' ? e.event_time : e.txn_timestamp;
      if (t === undefined) continue;
      if (t > newest) newest = t;
      const human = !this.attackers.has(e.user_id);
      for (let k = 0; k < this.all.length; k++) {
        const hit = this.all[k]!.add(e, t);
        if (hit) {
          const list = this.watch[k]!.get(String(hit.key));
          const windowMs = this.all[k]!.spec.windowSeconds * 1000;
          for (const i of list ?? []) {
            const x = this.instances[i]!;
            if (t >= x.start && t <= x.end + windowMs && hit.count > this.watched[k]![i]!)
              this.watched[k]![i] = hit.count;
          }
        }
        if (!human) continue;
        const s = this.humans[k]!;
        if (s.spec.events.includes(e.event_type)) {
          const key = itemKeyOf(s.keyType, e);
          if (key !== null) this.humanKeys[k]!.add(key);
        }
        s.add(e, t);
      }
    }
    if (newest - this.evictedAt >= 600_000) {
      this.evictedAt = newest;
      for (const s of [...this.all, ...this.humans]) s.evict(newest - s.horizonMs);
    }
  }

  result(): ItemFigures {
    return {
      features: this.features,
      humans: this.humans.map((s, k) => {
        const f = s.figures();
        const keys = this.humanKeys[k]!;
        const out = new Float64Array(keys.size);
        let i = 0;
        for (const key of keys) out[i++] = f.get(key) ?? 0;
        return out.sort();
      }),
      watched: this.watched,
    };
  }
}
