/**
 * Where attack instances go in time. Instances run one after another in a single lane when they fit;
 * otherwise in the fewest parallel lanes that hold them (so instances of different profiles may run at
 * the same time). Instances marked `exclusive` (DDoS bursts) always share one lane, so they never
 * overlap each other. Within a lane the order is seeded and the spare time is spread between instances.
 */
import type { Rng } from './rng.js';

export interface PlacementItem {
  /** Longest time the instance may take (ms). */
  span: number;
  /** Exclusive items share lane 0 and so never overlap each other. */
  exclusive: boolean;
}

export interface Placement {
  /** Start of the instance (ms, not rounded). */
  at: number;
  /** Time it may use from `at` before the next instance of its lane (ms). */
  room: number;
  lane: number;
}

/** Lanes as lists of item indexes, or null when they do not fit in `width` with `lanes` lanes. */
function pack(
  spans: number[],
  items: readonly PlacementItem[],
  lanes: number,
  width: number,
): number[][] | null {
  const load = new Array<number>(lanes).fill(0);
  const out: number[][] = Array.from({ length: lanes }, () => []);
  items.forEach((it, i) => {
    if (!it.exclusive) return;
    out[0]!.push(i);
    load[0]! += spans[i]!;
  });
  // Longest first onto the least loaded lane (LPT): stable, deterministic.
  const rest = items
    .map((it, i) => ({ it, i }))
    .filter((x) => !x.it.exclusive)
    .sort((a, b) => spans[b.i]! - spans[a.i]! || a.i - b.i);
  for (const { i } of rest) {
    let best = 0;
    for (let l = 1; l < lanes; l++) if (load[l]! < load[best]!) best = l;
    out[best]!.push(i);
    load[best]! += spans[i]!;
  }
  return load.every((x) => x <= width) ? out : null;
}

/**
 * Places `items` in [lo, lo + width), each followed by at least `gap` before the next instance of its
 * lane. `groups` (one id per item, e.g. its profile) gives the fallback: one lane per group.
 */
export function placeInstances(
  items: readonly PlacementItem[],
  groups: readonly number[],
  lo: number,
  width: number,
  gap: number,
  rng: Rng,
): Placement[] {
  const spans = items.map((it) => it.span + gap);
  const distinct = [...new Set(groups)];
  let lanes: number[][] | null = null;
  for (let n = 1; n <= distinct.length && lanes === null; n++) lanes = pack(spans, items, n, width);
  // Fallback: one lane per group (exclusive items are one group), even if a lane overflows.
  lanes ??= distinct.map((g) => items.map((_, i) => i).filter((i) => groups[i] === g));
  const out: Placement[] = new Array(items.length);
  lanes.forEach((lane, laneIndex) => {
    const order = rng.shuffle([...lane]);
    const load = order.reduce((a, i) => a + spans[i]!, 0);
    const scale = load > width ? width / load : 1;
    const spare = Math.max(0, width - load) / Math.max(1, order.length);
    let t = lo;
    for (const i of order) {
      const slot = spans[i]! * scale + spare;
      const at = t + rng.next() * spare;
      const room = scale < 1 ? slot - gap * scale : items[i]!.span;
      out[i] = { at, room, lane: laneIndex };
      t += slot;
    }
  });
  return out;
}
