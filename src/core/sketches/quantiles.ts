/**
 * Quantiles of non-negative values (session length in seconds, events per session): a thin wrapper
 * over DDSketch (`@datadog/sketches-js`), whose answers are within QUANTILE_RELATIVE_ACCURACY of the
 * exact value of the same rank, and which merges losslessly.
 *
 * Its `merge` loses counts when the other sketch's largest value is in (0.98, 1] (bucket key 0), all
 * of ours are smaller and its bins do not reach key 0 yet (`_extendRange(min, max)` reads a max key
 * of 0 as absent): `merge` here adds the other's buckets one by one instead. Its protobuf form is
 * not used: it carries the store's layout, and `fromProto` rebuilds the mapping from gamma with a
 * multiplier that differs in the last bits (toJSON below).
 */
import { DDSketch } from '@datadog/sketches-js';
import { StorepulseError } from '../errors.js';

/** Every quantile is within 1% (relative) of the exact value of the same rank. */
export const QUANTILE_RELATIVE_ACCURACY = 0.01;

function newSketch(): DDSketch {
  return new DDSketch({ relativeAccuracy: QUANTILE_RELATIVE_ACCURACY });
}

/** Adds the buckets of `from` to `into` (both positive-only, same mapping). */
function addBuckets(into: DDSketch, from: DDSketch): void {
  const { bins, offset } = from.store;
  for (let i = 0; i < bins.length; i++) if (bins[i]! > 0) into.store.add(offset + i, bins[i]);
  into.zeroCount += from.zeroCount;
  into.count += from.count;
  into.sum += from.sum;
  into.min = Math.min(into.min, from.min);
  into.max = Math.max(into.max, from.max);
}

export class Quantiles {
  private readonly sketch = newSketch();

  /** Adds one value: finite and ≥ 0 (zero allowed). */
  add(value: number): void {
    if (!(value >= 0 && value < Infinity))
      throw new StorepulseError('INTERNAL', `quantile sketch: value must be finite and >= 0, got ${value}`);
    this.sketch.accept(value);
  }

  /** How many values were added (merged sketches included). */
  get count(): number {
    return this.sketch.count;
  }

  /** The value of rank ⌊q·(count−1)⌋ (0-based) within 1% relative; NaN when empty or q outside [0, 1]. */
  quantile(q: number): number {
    return this.sketch.getValueAtQuantile(q);
  }

  /** Makes this the sketch of both inputs; `other` is unchanged. */
  merge(other: Quantiles): void {
    addBuckets(this.sketch, other.sketch);
  }

  /**
   * Canonical text: `q1 ZERO IDX:COUNT,...` (the zero count, then the non-empty buckets in key
   * order). The same values give the same text whatever the order of adding and merging, which the
   * DDSketch protobuf does not (it carries the store's layout), so a restored run writes the same
   * bytes as an uninterrupted one.
   */
  toJSON(): string {
    const { bins, offset } = this.sketch.store;
    const parts: string[] = [];
    for (let i = 0; i < bins.length; i++) if (bins[i]! > 0) parts.push(`${offset + i}:${bins[i]}`);
    return `q1 ${this.sketch.zeroCount} ${parts.join(',')}`;
  }

  static fromJSON(s: string): Quantiles {
    const bad = () =>
      new StorepulseError('STATE', `invalid quantile sketch: ${JSON.stringify(s.slice(0, 40))}`);
    const m = /^q1 (\d+) ((?:-?\d+:[1-9]\d*)(?:,-?\d+:[1-9]\d*)*)?$/.exec(s);
    if (!m) throw bad();
    const out = new Quantiles();
    const d = out.sketch;
    d.zeroCount = Number(m[1]);
    d.count = d.zeroCount;
    if (d.zeroCount > 0) d.min = d.max = 0;
    for (const bin of m[2] ? m[2].split(',') : []) {
      const [key, count] = bin.split(':').map(Number) as [number, number];
      d.store.add(key, count);
      d.count += count;
    }
    return out;
  }
}
