/**
 * What the shop sells: ~600 category ids with realistic dotted codes, named and long-tail brands, and
 * the plan of how much traffic each (category, brand) pair gets. Products are then placed into those
 * cells by popularity, so big products land in big cells (a top product is a samsung smartphone, not a
 * niche brand's kettle) and every category and brand share comes out as published.
 */
import { Rng } from './rng.js';
import {
  CATEGORY_IDS,
  EMPTY_BRAND_SHARE,
  EMPTY_CATEGORY_CODE_SHARE,
  MAX_TAIL_BRANDS,
  MIN_TAIL_BRANDS,
  NAMED_BRANDS,
  OTHER_DEPTH2_CODES,
  OTHER_DEPTH2_SHARE,
  OTHER_DEPTH3_CODES,
  OTHER_DEPTH3_SHARE,
  OTHER_DEPTH4_CODES,
  OTHER_DEPTH4_SHARE,
  PRODUCTS_PER_BRAND,
  TOP_CATEGORY_CODES,
  UNBRANDED_PREFIXES,
} from './profile.js';

export interface Category {
  id: string;
  code: string | null;
  share: number;
}

function zipfShares(n: number, exponent: number, total: number): number[] {
  const w = Array.from({ length: n }, (_, i) => Math.pow(i + 1, -exponent));
  const sum = w.reduce((a, b) => a + b, 0);
  return w.map((x) => (x * total) / sum);
}

export function buildCategories(rng: Rng): Category[] {
  const coded: [string, number][] = TOP_CATEGORY_CODES.map(([c, s]) => [c, s]);
  const groups: [string[], number][] = [
    [OTHER_DEPTH2_CODES, OTHER_DEPTH2_SHARE],
    [OTHER_DEPTH3_CODES, OTHER_DEPTH3_SHARE],
    [OTHER_DEPTH4_CODES, OTHER_DEPTH4_SHARE],
  ];
  for (const [names, total] of groups) {
    const shuffled = rng.shuffle([...names]);
    const shares = zipfShares(shuffled.length, 0.5, total);
    shuffled.forEach((name, i) => coded.push([name, shares[i]!]));
  }
  const uncodedShares = zipfShares(CATEGORY_IDS - coded.length, 0.7, EMPTY_CATEGORY_CODE_SHARE);
  const ids = new Set<string>();
  const newId = (): string => {
    for (;;) {
      let s = '20';
      for (let i = 0; i < 17; i++) s += String(rng.int(10));
      if (!ids.has(s)) {
        ids.add(s);
        return s;
      }
    }
  };
  const cats: Category[] = coded.map(([code, share]) => ({ id: newId(), code, share }));
  for (const share of uncodedShares) cats.push({ id: newId(), code: null, share });
  const total = cats.reduce((a, c) => a + c.share, 0);
  for (const c of cats) c.share /= total;
  return cats;
}

/** Whether a category code falls under a prefix; the prefix `''` means "no code". */
export function matches(code: string | null, prefix: string): boolean {
  if (prefix === '') return code === null;
  return code !== null && (code === prefix || code.startsWith(`${prefix}.`));
}

const SYLLABLES = [
  'ka',
  're',
  'lo',
  'mi',
  'ten',
  'vo',
  'sa',
  'ri',
  'do',
  'ne',
  'ta',
  'lux',
  'ber',
  'ko',
  'zi',
];
const ENDINGS = ['', '', 'a', 'o', 'ex', 'on', 'is', 'el', 'ro', 'ma'];

function tailBrandNames(rng: Rng, n: number, taken: Set<string>): string[] {
  const out: string[] = [];
  while (out.length < n) {
    const parts = 2 + rng.int(2);
    let s = '';
    for (let i = 0; i < parts; i++) s += SYLLABLES[rng.int(SYLLABLES.length)];
    s += ENDINGS[rng.int(ENDINGS.length)];
    if (!taken.has(s)) {
      taken.add(s);
      out.push(s);
    }
  }
  return out;
}

/** Fenwick tree over non-negative weights: draw in proportion to what is still missing. */
class Fenwick {
  private readonly tree: Float64Array;
  constructor(readonly n: number) {
    this.tree = new Float64Array(n + 1);
  }
  add(i: number, delta: number): void {
    for (let j = i + 1; j <= this.n; j += j & -j) this.tree[j] = this.tree[j]! + delta;
  }
  total(): number {
    let s = 0;
    for (let j = this.n; j > 0; j -= j & -j) s += this.tree[j]!;
    return s;
  }
  /** Index whose cumulative range holds `u` (0 <= u < total). */
  find(u: number): number {
    let pos = 0;
    let step = 1;
    while (step * 2 <= this.n) step *= 2;
    for (; step > 0; step >>= 1) {
      const next = pos + step;
      if (next <= this.n && this.tree[next]! <= u) {
        pos = next;
        u -= this.tree[next]!;
      }
    }
    return Math.min(pos, this.n - 1);
  }
}

export interface Cells {
  brands: string[];
  /** Per cell: category index, brand index (-1 = no brand) and share of all traffic. */
  category: Int32Array;
  brand: Int32Array;
  share: Float64Array;
}

/**
 * Named brands spread their published share over the categories they sell in, "no brand" spreads over
 * the categories where that is common, long-tail brands fill the rest of each category.
 */
export function planCells(rng: Rng, cats: Category[], products: number): Cells {
  const n = cats.length;
  const plan: Map<number, number>[] = cats.map(() => new Map());
  const spread = (brand: number, share: number, sells: (c: Category) => boolean) => {
    let total = 0;
    for (const c of cats) if (sells(c)) total += c.share;
    if (total <= 0) return;
    cats.forEach((c, ci) => {
      if (sells(c)) plan[ci]!.set(brand, (plan[ci]!.get(brand) ?? 0) + (share * c.share) / total);
    });
  };
  NAMED_BRANDS.forEach((b, bi) =>
    spread(bi, b.share, (c) => b.sells.some((prefix) => matches(c.code, prefix))),
  );
  spread(-1, EMPTY_BRAND_SHARE, (c) => UNBRANDED_PREFIXES.some((prefix) => matches(c.code, prefix)));
  const need = new Float64Array(n);
  plan.forEach((m, ci) => {
    let total = 0;
    for (const v of m.values()) total += v;
    // Leave room for a few long-tail brands in every category.
    const limit = cats[ci]!.share * 0.97;
    if (total > limit) for (const [b, v] of m) m.set(b, (v * limit) / total);
    need[ci] = cats[ci]!.share - Math.min(total, limit);
  });

  const brands = NAMED_BRANDS.map((b) => b.name);
  const tailCount = Math.max(
    MIN_TAIL_BRANDS,
    Math.min(MAX_TAIL_BRANDS, Math.round(products / PRODUCTS_PER_BRAND)),
  );
  const tailShares = zipfShares(
    tailCount,
    0.5,
    need.reduce((a, b) => a + b, 0),
  );
  const tailNames = tailBrandNames(rng, tailCount, new Set(brands));
  const fw = new Fenwick(n);
  need.forEach((v, ci) => fw.add(ci, v));
  tailShares.forEach((share, ti) => {
    const bi = brands.length;
    brands.push(tailNames[ti]!);
    let left = share;
    for (let guard = 0; left > 1e-15 && guard < n; guard++) {
      const total = fw.total();
      if (total <= 1e-15) break;
      const ci = fw.find(rng.next() * total);
      const take = Math.min(left, need[ci]!);
      if (take <= 0) continue;
      plan[ci]!.set(bi, (plan[ci]!.get(bi) ?? 0) + take);
      need[ci] = need[ci]! - take;
      fw.add(ci, -take);
      left -= take;
    }
  });

  const category: number[] = [];
  const brand: number[] = [];
  const share: number[] = [];
  plan.forEach((m, ci) => {
    for (const [b, v] of m) {
      category.push(ci);
      brand.push(b);
      share.push(v);
    }
  });
  return {
    brands,
    category: Int32Array.from(category),
    brand: Int32Array.from(brand),
    share: Float64Array.from(share),
  };
}

/** Products too popular for the Fenwick draw: placed only where they fit. */
const HEAD_MASS = 0.0005;

/** Picks an index in proportion to `weight(i)` for i in [0, n), or -1 when all weights are 0. */
function drawWeighted(rng: Rng, n: number, weight: (i: number) => number): number {
  let total = 0;
  for (let i = 0; i < n; i++) total += weight(i);
  if (total <= 0) return -1;
  let u = rng.next() * total;
  for (let i = 0; i < n; i++) {
    u -= weight(i);
    if (u < 0) return i;
  }
  return n - 1;
}

/**
 * Places each product (in popularity order) into a category, in proportion to what the category still
 * lacks (big products only where they fit), then gives it a brand sold there, in
 * proportion to the brand's planned presence in that category times what the brand still lacks overall.
 * Category and brand totals thus land on their shares even though top products are large.
 */
export function placeProducts(
  rng: Rng,
  mass: Float64Array,
  cats: Category[],
  cells: Cells,
): { category: Uint16Array; brand: Int32Array } {
  const k = mass.length;
  const n = cats.length;
  const category = new Uint16Array(k);
  const catLeft = cats.map((c) => c.share);
  const fw = new Fenwick(n);
  catLeft.forEach((v, i) => fw.add(i, v));
  for (let p = 0; p < k; p++) {
    const m = mass[p]!;
    // Big products go where they fit whole, else where at least half of them fits.
    let c = m > HEAD_MASS ? drawWeighted(rng, n, (i) => (catLeft[i]! >= m ? catLeft[i]! : 0)) : -1;
    if (c < 0 && m > HEAD_MASS) c = drawWeighted(rng, n, (i) => Math.max(0, catLeft[i]! - m / 2));
    if (c < 0) {
      const total = fw.total();
      c = total > 1e-15 ? fw.find(rng.next() * total) : rng.int(n);
    }
    category[p] = c;
    const before = Math.max(0, catLeft[c]!);
    catLeft[c] = catLeft[c]! - m;
    fw.add(c, Math.max(0, catLeft[c]!) - before);
  }
  // Every category id exists in the shop: give empty ones a product from the tail.
  const counts = new Int32Array(n);
  for (let p = 0; p < k; p++) counts[category[p]!]!++;
  let donor = k - 1;
  for (let c = 0; c < n; c++) {
    if (counts[c]! > 0) continue;
    while (donor > 0 && counts[category[donor]!]! <= 1) donor--;
    counts[category[donor]!]!--;
    category[donor] = c;
    counts[c] = 1;
    donor--;
  }

  // Brands: per category its cells; affinity = the cell's share of the brand's planned total.
  const brandTotal = new Map<number, number>();
  for (let i = 0; i < cells.share.length; i++) {
    brandTotal.set(cells.brand[i]!, (brandTotal.get(cells.brand[i]!) ?? 0) + cells.share[i]!);
  }
  const slot = (b: number) => b + 1; // -1 (no brand) is slot 0
  const brandLeft = new Float64Array(cells.brands.length + 1);
  for (const [b, v] of brandTotal) brandLeft[slot(b)] = v;
  const candBrand: number[][] = cats.map(() => []);
  const candAffinity: number[][] = cats.map(() => []);
  for (let i = 0; i < cells.share.length; i++) {
    const c = cells.category[i]!;
    candBrand[c]!.push(cells.brand[i]!);
    candAffinity[c]!.push(cells.share[i]! / brandTotal.get(cells.brand[i]!)!);
  }
  const brand = new Int32Array(k);
  for (let p = 0; p < k; p++) {
    const m = mass[p]!;
    const bs = candBrand[category[p]!]!;
    const aff = candAffinity[category[p]!]!;
    let j =
      m > HEAD_MASS ? drawWeighted(rng, bs.length, (i) => (brandLeft[slot(bs[i]!)]! >= m ? aff[i]! : 0)) : -1;
    if (j < 0)
      j = drawWeighted(rng, bs.length, (i) => Math.max(0, brandLeft[slot(bs[i]!)]! - m / 2) * aff[i]!);
    if (j < 0) j = drawWeighted(rng, bs.length, (i) => Math.max(0, brandLeft[slot(bs[i]!)]!) * aff[i]!);
    if (j < 0) j = drawWeighted(rng, bs.length, (i) => aff[i]!);
    const b = j < 0 ? -1 : bs[j]!;
    brand[p] = b;
    brandLeft[slot(b)] = brandLeft[slot(b)]! - m;
  }
  return { category, brand };
}
