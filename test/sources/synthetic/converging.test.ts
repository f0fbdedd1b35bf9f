import { beforeAll, describe, expect, it } from 'vitest';
import type { ClickEvent } from '../../../src/core/event.js';
import {
  type AttackLabel,
  generateEvents,
  generateLabels,
  type GenerateOptions,
} from '../../../src/sources/synthetic/generator.js';

/** The four profiles aimed at one item, several instances each over the whole intensity range. */
const opts: GenerateOptions = {
  events: 300_000,
  seed: 5,
  attacks: ['skewing', 'item-flood', 'distributed-hoard', 'distributed-sweep'],
  attackRepeats: 4,
};
let labels: AttackLabel[];
/** Events per instance (index in labels). */
const byInstance = new Map<number, ClickEvent[]>();

beforeAll(() => {
  labels = generateLabels(opts);
  const owner = new Map<number, number>();
  labels.forEach((l, i) => l.user_ids.forEach((u) => owner.set(u, i)));
  for (const e of generateEvents(opts)) {
    const i = owner.get(e.user_id);
    if (i === undefined) continue;
    if (!byInstance.has(i)) byInstance.set(i, []);
    byInstance.get(i)!.push(e);
  }
});

const instances = (profile: string) =>
  labels.map((l, i) => ({ l, list: byInstance.get(i)! })).filter((x) => x.l.profile === profile);

/** Most events of one user in any 10 s tumbling window, and most events of one user. */
function perUser(list: ClickEvent[]): { per10s: number; most: number } {
  const windows = new Map<string, number>();
  const users = new Map<number, number>();
  for (const e of list) {
    const k = `${e.user_id}|${Math.floor(e.event_time / 10_000)}`;
    windows.set(k, (windows.get(k) ?? 0) + 1);
    users.set(e.user_id, (users.get(e.user_id) ?? 0) + 1);
  }
  return { per10s: Math.max(...windows.values()), most: Math.max(...users.values()) };
}

/** Events on the instance's targets. */
function onTargets(l: AttackLabel, list: ClickEvent[]): ClickEvent[] {
  return list.filter((e) =>
    l.targets!.some(
      (t) =>
        (t.key_type === 'product' && t.key === String(e.product_id)) ||
        (t.key_type === 'category' && t.key === e.category_id) ||
        (t.key_type === 'brand' && t.key === e.brand),
    ),
  );
}

const minutes = (l: AttackLabel) => (Date.parse(l.end) - Date.parse(l.start)) / 60_000;

describe('attacks aimed at one item', () => {
  it('labels each instance with targets, intensity over the range, and many users', () => {
    for (const p of ['skewing', 'item-flood', 'distributed-hoard', 'distributed-sweep']) {
      const xs = instances(p);
      expect(xs).toHaveLength(4);
      const intensities = xs.map((x) => x.l.intensity).sort((a, b) => a - b);
      // Stratified: one instance in each quarter of the range.
      intensities.forEach((v, k) => expect(Math.min(3, Math.floor(v * 4))).toBe(k));
      for (const { l, list } of xs) {
        expect(l.targets!.length).toBeGreaterThan(0);
        expect(list).toHaveLength(l.events);
        expect(l.user_ids.length).toBeGreaterThanOrEqual(3);
      }
    }
  });

  it('skewing: every user at a human pace, target views growing with intensity from ~2 to ~40 a minute', () => {
    const xs = instances('skewing');
    const rates: [number, number][] = [];
    for (const { l, list } of xs) {
      const u = perUser(list);
      expect(u.per10s).toBeLessThanOrEqual(2);
      expect(u.most).toBeLessThanOrEqual(8);
      expect(list.every((e) => e.event_type === 'view')).toBe(true);
      const target = onTargets(l, list);
      expect(target.length).toBeGreaterThan(0);
      rates.push([l.intensity, target.length / minutes(l)]);
    }
    rates.sort((a, b) => a[0] - b[0]);
    expect(rates[0]![1]).toBeLessThan(6);
    expect(rates.at(-1)![1]).toBeGreaterThan(8);
  });

  it('item-flood: every event on the target product or category, 0.5 to 20 a second', () => {
    for (const { l, list } of instances('item-flood')) {
      expect(onTargets(l, list)).toHaveLength(list.length);
      const perSecond = list.length / Math.max(1, (Date.parse(l.end) - Date.parse(l.start)) / 1000);
      expect(perSecond).toBeGreaterThan(0.2);
      expect(perSecond).toBeLessThan(40);
    }
  });

  it('distributed-hoard: carts on the targets by many users, a few each, never a purchase', () => {
    for (const { l, list } of instances('distributed-hoard')) {
      expect(list.some((e) => e.event_type === 'purchase')).toBe(false);
      expect(onTargets(l, list)).toHaveLength(list.length);
      const carts = new Map<number, number>();
      for (const e of list)
        if (e.event_type === 'cart') carts.set(e.user_id, (carts.get(e.user_id) ?? 0) + 1);
      expect(Math.max(...carts.values())).toBeLessThanOrEqual(4);
      expect(perUser(list).per10s).toBeLessThanOrEqual(3);
    }
  });

  it('distributed-sweep: views of one category, each user 4-10 products in listing order, slowly', () => {
    for (const { l, list } of instances('distributed-sweep')) {
      expect(onTargets(l, list)).toHaveLength(list.length);
      expect(list.every((e) => e.event_type === 'view')).toBe(true);
      const u = perUser(list);
      expect(u.most).toBeLessThanOrEqual(10);
      // Never more than 5 in 10 s: below the reference rule and every per-user burst rule.
      expect(u.per10s).toBeLessThanOrEqual(4);
      // Together they cover many distinct products of the category.
      expect(new Set(list.map((e) => e.product_id)).size).toBeGreaterThan(Math.min(20, list.length / 2));
    }
  });
});
