import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, validateConfig } from '../../src/core/config.js';
import type { Alert } from '../../src/core/alert.js';
import type { ClickEvent } from '../../src/core/event.js';
import { Detector } from '../../src/core/rules/detector.js';
import type { RuleSpecInput } from '../../src/core/rules/spec.js';
import { ev, T0 } from '../helpers/events.js';

const fixedNow = () => Date.UTC(2026, 0, 1);

function detector(rules: RuleSpecInput[], extra: Record<string, unknown> = {}): Detector {
  const r = validateConfig({ detect: { rules, ...extra } });
  if (!r.ok) throw new Error(r.problems.join('; '));
  return new Detector(r.config.detect, fixedNow);
}

/** Feeds batches, moving the watermark to the newest time after each, as a single-input processor does. */
function run(d: Detector, batches: ClickEvent[][]): Alert[] {
  const out: Alert[] = [];
  for (const b of batches) {
    const { alerts, newest } = d.add(b);
    out.push(...alerts, ...d.advance(newest));
  }
  return out;
}

const rate = (over: Partial<RuleSpecInput> = {}): RuleSpecInput =>
  ({ name: 'fast', type: 'rate', key: 'user', windowSeconds: 10, threshold: 5, ...over }) as RuleSpecInput;

describe('detector: early firing over sliding windows', () => {
  it('fires on the event that crosses the threshold, before any window closes', () => {
    const d = detector([rate()]);
    const { alerts } = d.add([0, 1, 2, 3, 4, 5, 6].map((s) => ev(1, s * 1000)));
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      rule: 'fast',
      key_type: 'user',
      key: '1',
      user_id: 1,
      count: 6,
      severity: 'medium',
      detected_event_time: new Date(T0 + 5000).toISOString(),
      detected_at: '2026-01-01T00:00:00.000Z',
      first_seen: new Date(T0).toISOString(),
    });
    expect(alerts[0]!.evidence).toMatchObject({ threshold: 5, window_seconds: 10, events_in_window: 6 });
    expect((alerts[0]!.evidence.samples as unknown[]).length).toBe(5);
  });

  it('catches a burst split across a tumbling boundary, which the reference rule misses', () => {
    // 4 events just before 10:00:10 and 4 just after: 4 + 4 per tumbling window, 8 within 2 s.
    const burst = [8, 8, 9, 9, 10, 10, 11, 11].map((s) => ev(1, s * 1000));
    const withReference = detector([rate()], { reference: true });
    const alerts = [...run(withReference, [burst]), ...withReference.flush()];
    expect(alerts.map((a) => a.rule)).toEqual(['fast']);
  });

  it('keeps quiet for a key within the cooldown, escalates once to high, and fires again after it', () => {
    const d = detector([rate({ highThreshold: 9, cooldownSeconds: 60 })]);
    const second = (from: number, n: number) => Array.from({ length: n }, (_, i) => ev(1, from + i * 200));
    const a = run(d, [second(0, 7)]);
    const b = run(d, [second(20_000, 7)]); // same episode, within the cooldown: quiet
    const c = run(d, [second(22_000, 12)]); // reaches 10 > highThreshold: one escalation
    const e = run(d, [second(90_000, 7)]); // after the cooldown: a new alert
    expect(a.map((x) => x.severity)).toEqual(['medium']);
    expect(b).toEqual([]);
    expect(c.map((x) => x.severity)).toEqual(['high']);
    expect(e.map((x) => x.severity)).toEqual(['medium']);
    expect(new Set([...a, ...c, ...e].map((x) => x.id)).size).toBe(3);
    expect(d.getStats().rules.fast!.suppressed).toBeGreaterThan(0);
  });

  it('gives the same ids whatever the batch sizes', () => {
    const events = Array.from({ length: 300 }, (_, i) => ev(1 + (i % 3), i * 150));
    const ids = (size: number) => {
      const d = detector(DEFAULT_CONFIG.detect.rules);
      const batches: ClickEvent[][] = [];
      for (let i = 0; i < events.length; i += size) batches.push(events.slice(i, i + size));
      return run(d, batches).map((a) => a.id);
    };
    expect(ids(1)).toEqual(ids(7));
    expect(ids(1)).toEqual(ids(300));
  });

  it('counts events behind the watermark minus the allowed lateness as late, and does not apply them', () => {
    const d = detector([rate()]);
    run(d, [[ev(9, 60_000)]]);
    const late = Array.from({ length: 8 }, (_, i) => ev(1, 30_000 + i * 100)); // 30 s behind, lateness 10 s
    expect(run(d, [late])).toEqual([]);
    expect(d.getStats()).toMatchObject({ late: 8, events: 9 });
    // Within the allowed lateness, events still count.
    expect(run(d, [Array.from({ length: 8 }, (_, i) => ev(2, 55_000 + i * 100))])).toHaveLength(1);
  });
});

describe('detector: bot signatures', () => {
  it('view-sweep: many distinct products across categories, nothing but views', () => {
    const d = detector([
      { name: 'sweep', type: 'view-sweep', windowSeconds: 15, threshold: 10, minCategories: 3 },
    ]);
    const sweep = Array.from({ length: 12 }, (_, i) =>
      ev(1, i * 800, { product_id: 5000 + i, category_id: String(2000000000000000000n + BigInt(i % 4)) }),
    );
    // A fast human: as many views, but revisiting products of one category.
    const human = Array.from({ length: 12 }, (_, i) => ev(2, i * 800, { product_id: 7000 + (i % 5) }));
    const alerts = run(d, [[...sweep, ...human]]);
    expect(alerts.map((a) => a.key)).toEqual(['1']);
    expect(alerts[0]!.evidence).toMatchObject({ distinct_products: 11, categories: 4 });
  });

  it('cart-stuffing: cart adds at machine speed and no purchase; a buyer is left alone', () => {
    const d = detector([{ name: 'stuff', type: 'cart-stuffing', windowSeconds: 10, threshold: 5 }]);
    const carts = (user: number) =>
      Array.from({ length: 7 }, (_, i) => ev(user, i * 1000, { event_type: 'cart' as const }));
    // A purchase inside the window: a shopper filling a basket, not a hoarder.
    const buyer = [ev(2, -2000, { event_type: 'purchase' }), ...carts(2)];
    // A purchase long before does not excuse machine-speed carting now.
    const earlier = [ev(3, -60_000, { event_type: 'purchase' }), ...carts(3)];
    expect(run(d, [[...carts(1), ...buyer, ...earlier]]).map((a) => a.key)).toEqual(['1', '3']);
  });

  it('regular-timing: gaps too even for a human', () => {
    const d = detector([
      { name: 'metronome', type: 'regular-timing', threshold: 8, windowSeconds: 30, maxVariation: 0.2 },
    ]);
    const bot = Array.from({ length: 12 }, (_, i) => ev(1, i * 2500 + (i % 2) * 300));
    const gaps = [1, 9, 2, 14, 3, 1, 22, 5, 2, 8, 4];
    let t = 0;
    const human = [ev(2, 0), ...gaps.map((g) => ev(2, (t += g * 1000)))];
    const alerts = run(d, [[...bot, ...human].sort((a, b) => a.event_time - b.event_time)]);
    expect(alerts.map((a) => a.key)).toEqual(['1']);
    expect(alerts[0]!.evidence.mean_gap_seconds).toBeCloseTo(2.5, 1);
  });
});

describe('detector: traffic spike', () => {
  const spikeRules: RuleSpecInput[] = [
    { name: 'spike', type: 'traffic-spike', warmupSeconds: 60, minEvents: 20, severity: 'high' },
    { name: 'joined', type: 'spike-participant', spikeRule: 'spike', threshold: 4, severity: 'high' },
  ];

  /** 10 events a second from a pool of regulars for `seconds`, then bots at 4/s each on top. */
  function traffic(seconds: number, spikeAt: number, bots: number): ClickEvent[][] {
    const out: ClickEvent[][] = [];
    for (let s = 0; s < seconds; s++) {
      const batch = Array.from({ length: 10 }, (_, i) => ev(100 + ((s * 10 + i) % 400), s * 1000 + i * 90));
      if (s >= spikeAt)
        for (let b = 0; b < bots; b++)
          for (const ms of [100, 350, 600, 850]) batch.push(ev(9000 + b, s * 1000 + ms));
      out.push(batch.sort((a, b) => a.event_time - b.event_time));
    }
    return out;
  }

  it('fires early on the first second over the baseline and names the contributors', () => {
    const d = detector(spikeRules);
    const alerts = run(d, traffic(200, 150, 20));
    const spike = alerts.filter((a) => a.rule === 'spike');
    expect(spike).toHaveLength(1);
    expect(spike[0]).toMatchObject({
      key_type: 'global',
      key: 'all',
      user_id: null,
      severity: 'high',
      window_start: new Date(T0 + 150_000).toISOString(),
    });
    const top = spike[0]!.evidence.top_users as { key: number; events: number }[];
    expect(top.every((u) => u.key >= 9000)).toBe(true);
    expect(spike[0]!.evidence.baseline_per_window).toBeCloseTo(10, 0);
    // Every bot that arrived with the spike is flagged within a few seconds; no regular is.
    const joined = alerts.filter((a) => a.rule === 'joined');
    expect(new Set(joined.map((a) => a.user_id))).toEqual(
      new Set(Array.from({ length: 20 }, (_, b) => 9000 + b)),
    );
    for (const a of joined)
      expect(Date.parse(a.detected_event_time) - (T0 + 150_000)).toBeLessThanOrEqual(3000);
  });

  it('does not fire on steady traffic, nor before its warm-up', () => {
    const d = detector(spikeRules);
    expect(run(d, traffic(200, 1000, 0))).toEqual([]);
    const cold = detector(spikeRules);
    expect(run(cold, traffic(50, 0, 20)).filter((a) => a.rule === 'spike')).toEqual([]);
  });
});

describe('detector: checkpoints', () => {
  it('restores into a fresh detector and goes on exactly as an uninterrupted one', () => {
    const events: ClickEvent[][] = [];
    for (let s = 0; s < 400; s++)
      events.push(
        [
          ...Array.from({ length: 12 }, (_, i) =>
            ev(1 + ((s * 7 + i) % 40), s * 1000 + i * 80, { product_id: s * 12 + i }),
          ),
          // One user far faster than the rest, for rules to fire on.
          ...(s % 50 < 20 ? [ev(999, s * 1000 + 10), ev(999, s * 1000 + 500), ev(999, s * 1000 + 900)] : []),
        ].sort((a, b) => a.event_time - b.event_time),
      );
    const straight = run(detector(DEFAULT_CONFIG.detect.rules, { reference: true }), events);
    const before = detector(DEFAULT_CONFIG.detect.rules, { reference: true });
    const first = run(before, events.slice(0, 170));
    const after = detector(DEFAULT_CONFIG.detect.rules, { reference: true });
    const snapshot = before.snapshot();
    after.restore(snapshot);
    // Exactly the same state: rings, bucket counts, cooldowns, the spike baseline.
    expect(after.snapshot()).toBe(snapshot);
    const rest = run(after, events.slice(170));
    expect(straight.length).toBeGreaterThan(0);
    expect([...first, ...rest].map((a) => a.id)).toEqual(straight.map((a) => a.id));
  });
});

describe('rules config', () => {
  it('rejects duplicate names, a spike-participant without its spike rule, thresholds beyond the history', () => {
    const problems = (rules: unknown[]) => {
      const r = validateConfig({ detect: { rules } });
      return r.ok ? [] : r.problems;
    };
    expect(problems([rate(), rate()])).toEqual(['detect.rules: rule name "fast" is used twice']);
    expect(problems([{ name: 'j', type: 'spike-participant', spikeRule: 'nope', threshold: 3 }])).toEqual([
      'detect.rules: rule j: spikeRule "nope" is not a traffic-spike rule',
    ]);
    expect(problems([{ name: 's', type: 'view-sweep', windowSeconds: 10, threshold: 40 }])[0]).toMatch(
      /detect\.rules\.0\.threshold/,
    );
    expect(problems([{ name: 'x', type: 'rate', windowSeconds: 10 }])[0]).toMatch(/threshold/);
  });

  it('defaults: every rule names its key, window, threshold and severity', () => {
    for (const r of DEFAULT_CONFIG.detect.rules) {
      expect(r).toHaveProperty('key');
      expect(r).toHaveProperty('severity');
      expect(r).toHaveProperty('threshold');
      expect('windowSeconds' in r).toBe(true);
    }
    expect(DEFAULT_CONFIG.detect.reference).toBe(false);
  });
});
