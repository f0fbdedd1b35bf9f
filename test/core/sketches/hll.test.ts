import { describe, expect, it } from 'vitest';
import { StorepulseError } from '../../../src/core/errors.js';
import {
  HLL_RELATIVE_BOUND,
  HLL_SPARSE_LIMIT,
  HLL_STANDARD_ERROR,
  HyperLogLog,
  hashNumber,
  hllErrorBound,
} from '../../../src/core/sketches/hll.js';
import { Rng } from '../../../src/sources/synthetic/rng.js';

/** Uniform in [0, 1), seeded: the project's generator (sources/synthetic/rng.ts). */
function seeded(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.next();
}

/** Session-id-like strings: 32 hex digits in UUID form, distinct for distinct (seed, i). */
function uuid(seed: number, i: number): string {
  const a = hashNumber(seed * 0x100000 + i)
    .toString(16)
    .padStart(8, '0');
  const b = (i >>> 0).toString(16).padStart(8, '0');
  return `${a}-${b.slice(0, 4)}-4${b.slice(4)}-a${(seed & 0xfff).toString(16).padStart(3, '0')}-${a}${b.slice(0, 4)}`;
}

/** The ids of one run: consecutive user-id-like numbers, strided ones, random ones up to 2^53, or strings. */
type Kind = 'consecutive' | 'strided' | 'random' | 'string';
function fill(h: HyperLogLog, kind: Kind, seed: number, n: number): void {
  const rnd = seeded(seed);
  const start = 500_000_000 + Math.floor(rnd() * 100_000_000);
  if (kind === 'consecutive') for (let i = 0; i < n; i++) h.addNumber(start + i);
  else if (kind === 'strided') for (let i = 0; i < n; i++) h.addNumber(start + i * 1009);
  else if (kind === 'random') {
    // Up to 2^53, distinct by construction: a random high part for each block of 2^20 low parts.
    let hi = 0;
    for (let i = 0; i < n; i++) {
      if ((i & 0xfffff) === 0) hi = Math.floor(rnd() * 2 ** 21);
      h.addNumber(hi * 2 ** 32 + ((start + i) % 2 ** 32));
    }
  } else for (let i = 0; i < n; i++) h.addString(uuid(seed, i));
}

function sketchOf(kind: Kind, seed: number, n: number): HyperLogLog {
  const h = new HyperLogLog();
  fill(h, kind, seed, n);
  return h;
}

function ids(from: number, to: number): HyperLogLog {
  const h = new HyperLogLog();
  for (let i = from; i < to; i++) h.addNumber(512_000_000 + i);
  return h;
}

const roundTrip = (h: HyperLogLog) => HyperLogLog.fromJSON(JSON.parse(JSON.stringify({ h })).h as string);

describe('HyperLogLog constants', () => {
  it('documents 0.81% standard error and a 3-SE bound above the exact range', () => {
    expect(HLL_STANDARD_ERROR).toBeCloseTo(0.008125, 6);
    expect(HLL_RELATIVE_BOUND).toBeCloseTo(0.024375, 6);
    expect(hllErrorBound(HLL_SPARSE_LIMIT)).toBe(0);
    expect(hllErrorBound(1_000_000)).toBeCloseTo(24_375, 6);
  });
});

describe('HyperLogLog: exact while small', () => {
  it.each([0, 1, 2, 100, 1000, 4095, 4096])('counts %i distinct ids exactly', (n) => {
    for (const kind of ['consecutive', 'random', 'string'] as const) {
      for (const seed of [1, 2, 3]) {
        const h = sketchOf(kind, seed, n);
        expect(h.exact).toBe(true);
        expect(h.count()).toBe(n);
      }
    }
  });

  it('turns into registers past 4096', () => {
    const h = ids(0, HLL_SPARSE_LIMIT);
    expect(h.exact).toBe(true);
    h.addNumber(512_000_000 + HLL_SPARSE_LIMIT);
    expect(h.exact).toBe(false);
    expect(Math.abs(h.count() - 4097)).toBeLessThanOrEqual(hllErrorBound(4097));
  });

  it('keeps the hash 0 like any other', () => {
    const h = new HyperLogLog();
    h.addHash(0);
    h.addHash(0);
    h.addHash(1);
    expect(h.count()).toBe(2);
    expect(roundTrip(h).count()).toBe(2);
  });
});

describe('HyperLogLog: accuracy', () => {
  const SEEDS = 30;
  // [kind, distinct ids, seeds]: ~50M numbers and ~5M strings in all.
  const runs: [Kind, number, number][] = [
    ['consecutive', 5_000, SEEDS],
    ['consecutive', 50_000, SEEDS],
    ['consecutive', 500_000, SEEDS],
    ['consecutive', 2_000_000, 8],
    ['strided', 20_000, SEEDS],
    ['strided', 300_000, SEEDS],
    ['random', 100_000, SEEDS],
    ['random', 2_000_000, 4],
    ['string', 5_000, SEEDS],
    ['string', 50_000, SEEDS],
    ['string', 300_000, 6],
    ['string', 2_000_000, 1],
  ];
  const all: number[] = [];

  // 3 SE is a 99.7% bound, so over ~230 runs a perfect HLL has about even odds of one run beyond
  // it: each run must be within 4 SE (P ≈ 6e-5), and at most 1% of the runs beyond 3 SE.
  it.each(runs)('%s ids, %i of them: within the bound, unbiased', (kind, n, seeds) => {
    const errors: number[] = [];
    for (let seed = 1; seed <= seeds; seed++) {
      const h = sketchOf(kind, seed * 7919, n);
      expect(h.exact).toBe(false);
      expect(Math.abs(h.count() / n - 1), `seed ${seed}: ${h.count()} for ${n}`).toBeLessThan(
        4 * HLL_STANDARD_ERROR,
      );
      errors.push(h.count() / n - 1);
    }
    const mean = errors.reduce((a, b) => a + b, 0) / errors.length;
    // No bias: the mean within 3 of its standard errors (0.45% over 30 runs, well inside 1 SE).
    expect(Math.abs(mean)).toBeLessThan((3 * HLL_STANDARD_ERROR) / Math.sqrt(seeds));
    all.push(...errors);
  });

  it('keeps 99% of all runs within 3 SE, with no bias beyond 3 standard errors of their mean', () => {
    expect(all.length).toBeGreaterThan(200);
    const beyond = all.filter((e) => Math.abs(e) > HLL_RELATIVE_BOUND).length;
    expect(beyond).toBeLessThanOrEqual(Math.ceil(all.length / 100));
    const mean = all.reduce((a, b) => a + b, 0) / all.length;
    expect(Math.abs(mean)).toBeLessThan((3 * HLL_STANDARD_ERROR) / Math.sqrt(all.length));
    // The spread is that of a HyperLogLog: neither far wider nor suspiciously narrow.
    const sd = Math.sqrt(all.reduce((a, e) => a + (e - mean) ** 2, 0) / (all.length - 1));
    expect(sd).toBeGreaterThan(0.6 * HLL_STANDARD_ERROR);
    expect(sd).toBeLessThan(1.15 * HLL_STANDARD_ERROR);
  });
});

describe('HyperLogLog: duplicates and merge', () => {
  it('does not count duplicates', () => {
    for (const n of [3000, 100_000]) {
      const once = ids(0, n);
      const thrice = new HyperLogLog();
      const rnd = seeded(n);
      for (let k = 0; k < 3 * n; k++) thrice.addNumber(512_000_000 + Math.floor(rnd() * n));
      for (let i = 0; i < n; i++) thrice.addNumber(512_000_000 + i);
      expect(thrice.count()).toBe(once.count());
      expect(thrice.toBytes()).toEqual(once.toBytes());
    }
  });

  it('merges overlapping dense sketches into the sketch of the union', () => {
    const a = ids(0, 300_000);
    const b = ids(200_000, 500_000);
    const union = ids(0, 500_000);
    const ab = roundTrip(a);
    ab.merge(b);
    const ba = roundTrip(b);
    ba.merge(a);
    expect(ab.toBytes()).toEqual(union.toBytes());
    expect(ba.toBytes()).toEqual(union.toBytes());
    expect(Math.abs(ab.count() - 500_000)).toBeLessThanOrEqual(hllErrorBound(500_000));
    expect(b.count()).toBe(ids(200_000, 500_000).count()); // the argument is left as it was
  });

  it('merges sparse into dense and dense into sparse', () => {
    const sparse = ids(0, 1000);
    const dense = ids(500, 50_000);
    const union = ids(0, 50_000);
    const s = roundTrip(sparse);
    s.merge(dense);
    const d = roundTrip(dense);
    d.merge(sparse);
    expect(s.exact).toBe(false);
    expect(s.toBytes()).toEqual(union.toBytes());
    expect(d.toBytes()).toEqual(union.toBytes());
    expect(sparse.exact).toBe(true);
    expect(sparse.count()).toBe(1000);
  });

  it('keeps sparse + sparse exact up to 4096 and turns dense past it', () => {
    const a = ids(0, 2000);
    a.merge(ids(1000, 4096));
    expect(a.exact).toBe(true);
    expect(a.count()).toBe(4096);
    expect(a.toBytes()).toEqual(ids(0, 4096).toBytes());

    const b = ids(0, 3000);
    b.merge(ids(2000, 5000));
    expect(b.exact).toBe(false);
    expect(b.toBytes()).toEqual(ids(0, 5000).toBytes());
    expect(Math.abs(b.count() - 5000)).toBeLessThanOrEqual(hllErrorBound(5000));
  });

  it('merges strings too', () => {
    const a = sketchOf('string', 5, 20_000);
    const b = sketchOf('string', 6, 3000);
    const both = new HyperLogLog();
    fill(both, 'string', 6, 3000);
    fill(both, 'string', 5, 20_000);
    a.merge(b);
    expect(a.toBytes()).toEqual(both.toBytes());
  });
});

describe('HyperLogLog: serialisation', () => {
  it.each([0, 1, 4096, 4097, 100_000])('round-trips %i ids exactly', (n) => {
    const h = ids(0, n);
    const json = JSON.stringify({ h });
    const back = roundTrip(h);
    expect(back.exact).toBe(h.exact);
    expect(back.count()).toBe(h.count());
    expect(back.toBytes()).toEqual(h.toBytes());
    expect(HyperLogLog.fromBytes(h.toBytes()).toBytes()).toEqual(h.toBytes());
    // Compact: 4 bytes a hash while sparse, one a register when dense (then base64).
    expect(json.length).toBeLessThanOrEqual(Math.ceil((1 + 4 * Math.min(n, 4096)) / 3) * 4 + 10);
    if (n > HLL_SPARSE_LIMIT) expect(json.length).toBeLessThan(22_000);

    const other = ids(50_000, 60_000);
    const m1 = roundTrip(other);
    m1.merge(h);
    const m2 = roundTrip(other);
    m2.merge(back);
    expect(m1.toBytes()).toEqual(m2.toBytes());
    back.addNumber(1);
    h.addNumber(1);
    expect(back.count()).toBe(h.count());
  });

  it('rejects what it did not write', () => {
    const dense = ids(0, 10_000).toBytes();
    for (const bytes of [
      new Uint8Array(0),
      Uint8Array.of(3),
      dense.slice(0, 100),
      Uint8Array.from(dense, (v, i) => (i === 5 ? 20 : v)),
      ids(0, 10).toBytes().slice(0, 10),
    ]) {
      expect(() => HyperLogLog.fromBytes(bytes)).toThrow(StorepulseError);
    }
  });
});
