import { describe, expect, it } from 'vitest';
import { StorepulseError } from '../../../src/core/errors.js';
import { QUANTILE_RELATIVE_ACCURACY, Quantiles } from '../../../src/core/sketches/quantiles.js';
import { Rng } from '../../../src/sources/synthetic/rng.js';

/** Uniform in [0, 1), seeded: the project's generator (sources/synthetic/rng.ts). */
function seeded(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.next();
}

const QS = [0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1];

function sketchOf(values: number[]): Quantiles {
  const s = new Quantiles();
  for (const v of values) s.add(v);
  return s;
}

/** The value of rank ⌊q·(n−1)⌋, as the sketch defines its quantiles. */
function exactQuantile(sorted: number[], q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))]!;
}

function expectAccurate(values: number[]): void {
  const s = sketchOf(values);
  const sorted = [...values].sort((a, b) => a - b);
  expect(s.count).toBe(values.length);
  for (const q of QS) {
    const exact = exactQuantile(sorted, q);
    const got = s.quantile(q);
    if (exact === 0) expect(got, `q ${q}`).toBe(0);
    else
      expect(Math.abs(got - exact) / exact, `q ${q}: ${got} for ${exact}`).toBeLessThanOrEqual(0.01 + 1e-12);
  }
}

/** Quantiles at many ranks, to compare two sketches for equality. */
const profile = (s: Quantiles) => [s.count, ...Array.from({ length: 201 }, (_, i) => s.quantile(i / 200))];

const roundTrip = (s: Quantiles) => Quantiles.fromJSON(JSON.parse(JSON.stringify({ s })).s as string);

describe('Quantiles: accuracy', () => {
  it('documents 1% relative accuracy', () => {
    expect(QUANTILE_RELATIVE_ACCURACY).toBe(0.01);
  });

  it('is within 1% on uniform integers, zero included', () => {
    const rnd = seeded(1);
    expectAccurate(Array.from({ length: 100_000 }, () => Math.floor(rnd() * 10_001)));
    expectAccurate(Array.from({ length: 50_000 }, () => 1 + Math.floor(rnd() * 40))); // events per session
  });

  it('is within 1% on exponential session lengths', () => {
    const rnd = seeded(2);
    expectAccurate(Array.from({ length: 100_000 }, () => -300 * Math.log(1 - rnd()))); // mean 5 min
    expectAccurate(Array.from({ length: 20_000 }, () => -0.5 * Math.log(1 - rnd()))); // mostly under 1 s
  });

  it('answers small and degenerate inputs', () => {
    expect(new Quantiles().count).toBe(0);
    expect(new Quantiles().quantile(0.5)).toBeNaN();
    expectAccurate([0]);
    expectAccurate([7]);
    expectAccurate([0, 0, 0, 5]);
    expectAccurate([1e-3, 1, 1e6]);
    expect(sketchOf([1, 2]).quantile(1.5)).toBeNaN();
  });

  it('rejects negative, infinite and NaN values', () => {
    for (const v of [-1, -1e-9, Infinity, NaN]) expect(() => new Quantiles().add(v)).toThrow(StorepulseError);
  });
});

describe('Quantiles: merge', () => {
  // [a, b]: value ranges. The second is where @datadog/sketches-js's own merge loses counts (the
  // other's largest value in (0.98, 1], all of ours below it and beyond the bins laid out so far).
  const ranges: [[number, number], [number, number]][] = [
    [
      [0, 600],
      [30, 3600],
    ],
    [
      [0.2, 0.5],
      [0.3, 1],
    ],
    [
      [0.001, 0.9],
      [0.5, 0.99],
    ],
    [
      [5, 6],
      [0, 1],
    ],
    [
      [0, 0],
      [1, 40],
    ],
  ];

  it.each(ranges)('of %j and %j equals adding all into one', (ra, rb) => {
    const rnd = seeded(3);
    const draw = ([lo, hi]: [number, number], n: number) =>
      Array.from({ length: n }, () => lo + rnd() * (hi - lo));
    // Ascending, as the package's bins are laid out around the first value added.
    const a = draw(ra, 5000).sort((x, y) => x - y);
    const b = draw(rb, 3000);
    const all = sketchOf([...a, ...b]);
    const ab = sketchOf(a);
    ab.merge(sketchOf(b));
    const ba = sketchOf(b);
    ba.merge(sketchOf(a));
    expect(profile(ab)).toEqual(profile(all));
    expect(profile(ba)).toEqual(profile(all));
  });

  it('merges into and from empty sketches, and leaves the argument as it was', () => {
    const b = sketchOf([1, 2, 3]);
    const before = profile(b);
    const empty = new Quantiles();
    empty.merge(b);
    expect(profile(empty)).toEqual(before);
    b.merge(new Quantiles());
    expect(profile(b)).toEqual(before);
    empty.add(4);
    expect(profile(b)).toEqual(before);
  });
});

describe('Quantiles: serialisation', () => {
  it('round-trips to identical answers, merges and further additions', () => {
    const rnd = seeded(4);
    const values = Array.from({ length: 30_000 }, () => (rnd() < 0.05 ? 0 : -300 * Math.log(1 - rnd())));
    const s = sketchOf(values);
    const back = roundTrip(s);
    expect(profile(back)).toEqual(profile(s));
    expect(back.toJSON()).toBe(s.toJSON());
    expect(s.toJSON().length).toBeLessThan(12_000); // ~900 buckets: compact enough to store per bucket

    const other = sketchOf(values.slice(0, 1000).map((v) => v * 3));
    const m1 = roundTrip(other);
    m1.merge(s);
    const m2 = roundTrip(other);
    m2.merge(back);
    expect(profile(m1)).toEqual(profile(m2));

    for (const v of [0.5, 1, 1.5, 99.9, 1234.5]) {
      s.add(v);
      back.add(v);
    }
    expect(profile(back)).toEqual(profile(s));
    expect(profile(roundTrip(new Quantiles()))).toEqual(profile(new Quantiles()));
  });

  it('writes the same text for the same values, whatever the order of adding and merging', () => {
    const rnd = seeded(9);
    const values = Array.from({ length: 5000 }, () => (rnd() < 0.05 ? 0 : -300 * Math.log(1 - rnd())));
    const whole = sketchOf(values);
    const reversed = sketchOf([...values].reverse());
    const merged = sketchOf(values.slice(2500));
    merged.merge(roundTrip(sketchOf(values.slice(0, 2500))));
    expect(reversed.toJSON()).toBe(whole.toJSON());
    expect(merged.toJSON()).toBe(whole.toJSON());
  });

  it('rejects what it did not write', () => {
    const good = sketchOf([1, 2, 3]).toJSON();
    expect(Quantiles.fromJSON('q1 0 ').count).toBe(0);
    for (const s of ['not a sketch!', 'q1 x 1:2', 'q1 0 1:0', 'q1 0 1:2,', good.slice(0, 5) + 'z', '']) {
      expect(() => Quantiles.fromJSON(s), s).toThrow(StorepulseError);
    }
  });
});
