import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../src/core/config.js';
import { ReferenceRule, REFERENCE_RULE } from '../../src/core/rules/reference.js';
import { ev, T0 } from '../helpers/events.js';

const cfg = DEFAULT_CONFIG.detect;
const fixedNow = () => Date.UTC(2026, 0, 1);

function burst(user: number, n: number, fromMs: number, stepMs = 100) {
  return Array.from({ length: n }, (_, i) => ev(user, fromMs + i * stepMs));
}

describe('reference rule: count > 5 per user per 10 s tumbling window', () => {
  it('alerts on 6 events in a window, not on 5, and only once the watermark passes', () => {
    const rule = new ReferenceRule(cfg, fixedNow);
    const newest = rule.add([...burst(1, 6, 0), ...burst(2, 5, 0)]);
    expect(rule.advance(newest - rule.latenessMs)).toEqual([]);
    // Event time reaches window end (10 s) + watermark (10 s): the window fires.
    rule.add([ev(3, 20_000)]);
    const alerts = rule.advance(20_000 + Date.UTC(2019, 9, 1, 10) - rule.latenessMs);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      rule: REFERENCE_RULE,
      key_type: 'user',
      key: '1',
      user_id: 1,
      count: 6,
      severity: 'medium',
      window_start: '2019-10-01T10:00:00.000Z',
      window_end: '2019-10-01T10:00:10.000Z',
      first_seen: '2019-10-01T10:00:00.000Z',
      last_seen: '2019-10-01T10:00:00.500Z',
      detected_event_time: '2019-10-01T10:00:20.000Z',
      detected_at: '2026-01-01T00:00:00.000Z',
    });
    expect(alerts[0]!.score).toBeCloseTo(6 / 5);
  });

  it('is high severity above 10, and ids are deterministic per rule, user and window', () => {
    const r1 = new ReferenceRule(cfg);
    r1.add(burst(7, 11, 0));
    const r2 = new ReferenceRule(cfg);
    r2.add(burst(7, 11, 0));
    const [x] = r1.flush();
    const [y] = r2.flush();
    expect(x!.severity).toBe('high');
    expect(x!.id).toBe(y!.id);
    const r3 = new ReferenceRule(cfg);
    r3.add(burst(7, 11, 10_000));
    expect(r3.flush()[0]!.id).not.toBe(x!.id);
  });

  it('splits a burst across a window boundary like the reference does (tumbling)', () => {
    const rule = new ReferenceRule(cfg);
    rule.add(burst(9, 8, 6_000, 1000)); // 6..13 s: 4 events in each window
    expect(rule.flush()).toEqual([]);
  });

  it('counts late events instead of applying them to a fired window', () => {
    const rule = new ReferenceRule(cfg);
    rule.add(burst(1, 6, 0));
    rule.add([ev(2, 60_000)]);
    expect(rule.advance(ev(2, 60_000).event_time - rule.latenessMs)).toHaveLength(1);
    rule.add([ev(1, 500)]);
    expect(rule.getStats()).toMatchObject({ late: 1, events: 8, windowsClosed: 1, alerts: 1 });
    expect(rule.flush()).toEqual([]);
  });

  it('uses txn_timestamp when told to, and counts events without it', () => {
    const rule = new ReferenceRule({ ...cfg, timeField: 'txn_timestamp' });
    const events = burst(4, 6, 0).map((e, i) => ({
      ...e,
      event_time: e.event_time + i * 60_000,
      txn_timestamp: 1_000 + i,
    }));
    rule.add([...events, ev(5, 0)]);
    const alerts = rule.flush();
    expect(alerts.map((a) => a.user_id)).toEqual([4]);
    expect(rule.getStats().missingTime).toBe(1);
  });

  it('keeps state only for open windows', () => {
    const rule = new ReferenceRule(cfg);
    for (let s = 0; s < 1000; s++) {
      const newest = rule.add([ev(s, s * 1000), ev(s + 1, s * 1000 + 1)]);
      rule.advance(newest - rule.latenessMs);
    }
    expect(rule.getStats().openWindows).toBeLessThanOrEqual(3);
  });

  it('resumes from a snapshot exactly as if it had never stopped', () => {
    const first = burst(1, 4, 0);
    const rest = [...burst(1, 3, 2_000), ...burst(2, 12, 30_000), ev(3, 60_000)];
    const straight = new ReferenceRule(cfg, fixedNow);
    straight.add([...first, ev(2, 15_000)]);
    straight.advance(15_000 + T0 - straight.latenessMs);
    straight.add(rest);
    const expected = straight.flush();

    const before = new ReferenceRule(cfg, fixedNow);
    before.add([...first, ev(2, 15_000)]);
    before.advance(15_000 + T0 - before.latenessMs);
    const after = new ReferenceRule(cfg, fixedNow);
    after.restore(before.snapshot());
    expect(after.getStats()).toEqual(before.getStats());
    after.add(rest);
    expect(after.flush()).toEqual(expected);
    expect(expected.map((a) => a.user_id)).toEqual([1, 2]);
  });
});
