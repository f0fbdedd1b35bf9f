import { describe, expect, it } from 'vitest';
import type { Alert } from '../../src/core/alert.js';
import { validateConfig } from '../../src/core/config.js';
import type { ClickEvent } from '../../src/core/event.js';
import { calibrateItems } from '../../src/core/rules/calibrate.js';
import { Detector } from '../../src/core/rules/detector.js';
import { ItemFeatureMeter } from '../../src/core/rules/item-features.js';
import type { RuleSpecInput } from '../../src/core/rules/spec.js';
import { generateEvents } from '../../src/sources/synthetic/generator.js';
import { ev } from '../helpers/events.js';

const MIN = 60_000;

function detector(rules: RuleSpecInput[]): Detector {
  const r = validateConfig({ detect: { rules } });
  if (!r.ok) throw new Error(r.problems.join('; '));
  return new Detector(r.config.detect, () => 0);
}

function run(d: Detector, events: ClickEvent[]): Alert[] {
  const out: Alert[] = [];
  for (let i = 0; i < events.length; i += 100) {
    const { alerts, newest } = d.add(events.slice(i, i + 100));
    out.push(...alerts, ...d.advance(newest));
  }
  return out;
}

const surge = (over: Partial<RuleSpecInput> = {}): RuleSpecInput =>
  ({
    name: 'product-surge',
    type: 'key-surge',
    key: 'product',
    minEvents: 10,
    warmupSeconds: 0,
    ...over,
  }) as RuleSpecInput;

/** Background: product 1 viewed every 6 s by a new user each time (10 a minute), from `from` for `minutes`. */
function steady(from: number, minutes: number, product = 1, perMinute = 10): ClickEvent[] {
  const out: ClickEvent[] = [];
  const gap = MIN / perMinute;
  for (let t = from; t < from + minutes * MIN; t += gap)
    out.push(ev(100_000 + out.length, t, { product_id: product }));
  return out;
}

/** `n` views of `product` by `n` distinct users, one every `gapMs`. */
const crowd = (from: number, n: number, product = 7, gapMs = 1000) =>
  Array.from({ length: n }, (_, i) => ev(500_000 + i, from + i * gapMs, { product_id: product }));

/** 30 minutes of another product's traffic first, so the rule is past the time its baselines need. */
const PRELUDE = steady(0, 30, 99, 2);
const AFTER = 30 * MIN;
const withPrelude = (events: ClickEvent[]) => [...PRELUDE, ...events];

describe('key-surge: traffic converging on one item', () => {
  it('fires on a crowd on a quiet product once the recent count passes the floor, naming the product', () => {
    const alerts = run(detector([surge()]), withPrelude(crowd(AFTER, 30)));
    expect(alerts).toHaveLength(1);
    const a = alerts[0]!;
    expect(a).toMatchObject({ rule: 'product-surge', key_type: 'product', key: '7', user_id: null });
    expect(a.evidence.recent_events as number).toBeGreaterThan(10);
    expect(a.evidence.recent_events as number).toBeLessThan(11);
    expect(a.evidence).toMatchObject({
      limit: 10,
      window_seconds: 60,
      category_code: 'electronics.smartphone',
    });
    expect((a.evidence.trigger as { user_id: number }).user_id).toBe(500_010);
  });

  it('does not count one user repeating the product, nor duplicated rows', () => {
    const one = Array.from({ length: 60 }, (_, i) => ev(42, AFTER + i * 500, { product_id: 7 }));
    expect(run(detector([surge()]), withPrelude(one))).toEqual([]);
  });

  it('compares a busy product with its own level: its usual traffic is quiet, four times it fires', () => {
    const d = detector([surge({ minEvents: 5 })]);
    // 10 views a minute for 2 h: recent ~10, well over the floor of 5, but that is the product's level.
    expect(run(d, steady(0, 120))).toEqual([]);
    // Then 50 a minute.
    const alerts = run(d, steady(120 * MIN, 5, 1, 50));
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.evidence.baseline_per_window as number).toBeGreaterThan(7);
    expect(alerts[0]!.evidence.baseline_per_window as number).toBeLessThan(13);
  });

  it('waits for warmup, counts only the listed event types, and skips events without the key', () => {
    expect(run(detector([surge({ warmupSeconds: 3600 })]), withPrelude(crowd(AFTER, 30)))).toEqual([]);
    const carts = crowd(AFTER, 30).map((e) => ({ ...e, event_type: 'cart' as const }));
    expect(run(detector([surge({ events: ['view'] })]), carts)).toEqual([]);
    const cartRule = surge({ events: ['cart'] });
    expect(
      run(detector([cartRule]), [...PRELUDE.map((e) => ({ ...e, event_type: 'cart' as const })), ...carts]),
    ).toHaveLength(1);
    const noBrand = crowd(AFTER, 30).map((e) => ({ ...e, brand: null }));
    expect(run(detector([surge({ key: 'brand' })]), withPrelude(noBrand))).toEqual([]);
    const brands = [...steady(0, 30, 99, 2).map((e) => ({ ...e, brand: 'lg' })), ...crowd(AFTER, 30)];
    expect(run(detector([surge({ key: 'brand' })]), brands)[0]).toMatchObject({
      key_type: 'brand',
      key: 'samsung',
    });
  });

  it('forgets quiet keys, and carries its state through a snapshot', () => {
    const d = detector([surge()]);
    run(d, crowd(0, 5));
    expect(d.getStats().itemKeys).toBe(1);
    // Two hours later the product is forgotten.
    run(d, [ev(9, 2 * 60 * MIN, { product_id: 8 }), ev(9, 2 * 60 * MIN + 20 * MIN, { product_id: 8 })]);
    expect(d.getStats().itemKeys).toBe(1);
    // Half a crowd, a snapshot, the other half in a new detector: the same alert as in one go.
    const events = crowd(3 * 60 * MIN, 30);
    const whole = run(detector([surge()]), events);
    const first = detector([surge()]);
    run(first, events.slice(0, 8));
    const second = detector([surge()]);
    second.restore(first.snapshot());
    expect(run(second, events.slice(8))).toEqual(whole);
  });

  it('with floor m fires on exactly the keys whose measured figure is above m (item-features)', () => {
    const events = [
      ...generateEvents({ events: 60_000, seed: 3, attacks: ['item-flood', 'skewing'], attackRepeats: 3 }),
    ];
    const rules = [surge({ warmupSeconds: 300, minEvents: 1 })];
    const r = validateConfig({ detect: { rules } });
    if (!r.ok) throw new Error(r.problems.join('; '));
    const meter = new ItemFeatureMeter(r.config.detect.rules, new Set());
    for (let i = 0; i < events.length; i += 500) meter.add(events.slice(i, i + 500));
    const figures = meter.result().humans[0]!;
    for (const m of [3, 6, 12]) {
      const alerts = run(detector([surge({ warmupSeconds: 300, minEvents: m, cooldownSeconds: 0 })]), events);
      const flagged = new Set(alerts.map((a) => a.key));
      expect(flagged.size).toBe(figures.filter((f) => f > m).length);
    }
    // Calibration: a budget of 1 % of the keys lets about 1 % of them be flagged, and says so.
    const c = calibrateItems(r.config.detect.rules, meter.result(), 0.01);
    const allowed = Math.floor(0.01 * figures.length);
    expect(c.items[0]!.after.keys_flagged).toBeLessThanOrEqual(allowed);
    expect(c.calibrated[0]).toMatchObject({ type: 'key-surge', minEvents: c.items[0]!.after.minEvents });
    expect(c.items[0]!.keys).toBe(figures.length);
  });
});
