/**
 * The generated data lands near the published REES46 figures (rees46-profile.md): each share within a
 * fifth of its target unless noted. One day of traffic (200k events at 200k a day), so the hourly curve
 * and session durations are complete; users over a month at a low density (users come back in real
 * time, whatever the density); daily active users over a full day at the real density.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { ClickEvent } from '../../../src/core/event.js';
import { generateEvents } from '../../../src/sources/synthetic/generator.js';
import { HOUR_SHARES } from '../../../src/sources/synthetic/profile.js';
import { type DatasetStats, measure, measureUsers } from './stats.js';

const FIFTH = 0.2;

function near(actual: number, target: number, tolerance = FIFTH): void {
  expect(actual, `${actual} vs target ${target}`).toBeGreaterThanOrEqual(target * (1 - tolerance));
  expect(actual, `${actual} vs target ${target}`).toBeLessThanOrEqual(target * (1 + tolerance));
}

let events: ClickEvent[];
let s: DatasetStats;
let firstDay: DatasetStats;

beforeAll(() => {
  events = [...generateEvents({ events: 200_000, seed: 2024, eventsPerDay: 200_000 })];
  s = measure(events);
  const dayEnd = Date.UTC(2019, 9, 2);
  firstDay = measure(events.filter((e) => e.event_time < dayEnd));
});

describe('calibration against the published REES46 figures', () => {
  it('event mix: view ~95 %, cart ~3 %, purchase ~1.5 %, remove_from_cart ~0.5 %', () => {
    expect(s.rows).toBe(200_000);
    near(s.mix.view!, 0.949, 0.05);
    near(s.mix.cart!, 0.031);
    near(s.mix.purchase!, 0.015);
    near(s.mix.remove_from_cart!, 0.005);
  });

  it('empty category_code ~32 %, empty brand ~14 %, a handful of empty sessions', () => {
    near(s.emptyCode, 0.32);
    near(s.emptyBrand, 0.14);
    expect(s.emptySession).toBeLessThan(20);
  });

  it('~600 category ids of 19 digits; dotted codes of depth 2 to 4', () => {
    expect(s.categoryIdsAll19Digits).toBe(true);
    near(s.categoryIds, 600);
    near(s.codes, 126);
    near(s.depth[2]!, 17.4 / 42.4);
    near(s.depth[3]!, 11.5 / 42.4);
    expect(s.depth[4]!).toBeGreaterThan(0);
    expect(s.depth[4]!).toBeLessThan(0.005);
  });

  it('category codes: electronics.smartphone ~27 % and the published runners-up', () => {
    near(s.codeShare.get('electronics.smartphone')!, 0.271);
    near(s.codeShare.get('electronics.clocks')!, 0.031);
    near(s.codeShare.get('computers.notebook')!, 0.027);
    near(s.codeShare.get('electronics.video.tv')!, 0.026);
  });

  it('brands: samsung 12.5 %, apple 9.7 %, xiaomi 7.3 %, huawei 2.6 %', () => {
    near(s.brandShare.get('samsung')!, 0.125);
    near(s.brandShare.get('apple')!, 0.097);
    near(s.brandShare.get('xiaomi')!, 0.073);
    near(s.brandShare.get('huawei')!, 0.026);
    const top3 = [...s.brandShare]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([b]) => b);
    expect(top3).toEqual(['samsung', 'apple', 'xiaomi']);
  });

  it('hourly curve: busy hours within a fifth, quiet hours roughly, peak in the afternoon', () => {
    const total = HOUR_SHARES.reduce((a, b) => a + b, 0);
    HOUR_SHARES.forEach((share, h) => {
      const target = share / total;
      near(firstDay.hourShare[h]!, target, target >= 0.02 ? FIFTH : 0.45);
    });
    const peak = firstDay.hourShare.indexOf(Math.max(...firstDay.hourShare));
    expect(peak).toBeGreaterThanOrEqual(14);
    expect(peak).toBeLessThanOrEqual(17);
  });

  it('product popularity: top 1 % of products ~49 % of views, top 10 % ~83 %', () => {
    near(s.top1, 0.49);
    near(s.top10, 0.83);
  });

  it('sessions: median 2 events, p90 11, 35 % single-event, median duration ~60 s', () => {
    expect(s.sessionSize.median).toBe(2);
    near(s.sessionSize.p90, 11);
    near(s.sessionSize.single, 0.35);
    near(s.sessionSize.mean, 4.6);
    near(s.sessionSeconds.median, 60);
    near(s.sessionSeconds.p90, 717);
  });

  it('a day: ~1.4 sessions per active user (298k sessions a day for 209k daily active users)', () => {
    near(s.sessionsPerUser.mean, 298 / 209);
  });

  it('funnel: ~6 % of sessions buy, about half of them without a cart, cart→purchase 40-50 %', () => {
    near(s.funnel.purchaseSessions, 0.06);
    near(s.funnel.purchaseWithoutCart, 0.5);
    expect(s.funnel.cartToPurchase).toBeGreaterThanOrEqual(0.37);
    expect(s.funnel.cartToPurchase).toBeLessThanOrEqual(0.55);
  });

  it('prices: p25 65.96, median ~163, p75 356.52; some price 0 but never on a purchase', () => {
    near(s.price.p25, 65.96);
    near(s.price.median, 163);
    near(s.price.p75, 356.52);
    near(s.price.mean, 290.32);
    expect(s.zeroPrice).toBeGreaterThan(0.0005);
    expect(s.zeroPrice).toBeLessThan(0.004);
    expect(s.zeroPricePurchases).toBe(0);
  });

  it('exact duplicate rows ~0.1 % (Oct 0.07 %, Nov 0.15 %), mostly cart events', () => {
    expect(s.duplicates).toBeGreaterThanOrEqual(0.0007 * 0.8);
    expect(s.duplicates).toBeLessThanOrEqual(0.0015 * 1.2);
    expect(s.duplicateCartShare).toBeGreaterThan(0.4);
  });

  it('fast humans exist but are rare: ~0.5 % of sessions exceed 5 events in a 10 s window', () => {
    expect(s.fastSessionShare).toBeGreaterThan(0.001);
    expect(s.fastSessionShare).toBeLessThan(0.01);
  });
});

describe('users against the published REES46 figures', () => {
  it('over a month: sessions per user median 2, mean ~3.1, 49 % one session; ~1.4 a day; returns', () => {
    // 31 days at 8,000 events a day: the month the published figures describe, cheaply.
    const m = measureUsers(generateEvents({ events: 248_000, seed: 2024, eventsPerDay: 8_000 }));
    expect(m.days.length).toBeGreaterThanOrEqual(31);
    expect(m.sessionsPerUser.median).toBe(2);
    near(m.sessionsPerUser.mean, 3.1, 0.25);
    near(m.sessionsPerUser.single, 0.49);
    for (const d of m.days.slice(0, -1)) near(d.sessions / d.users, 298 / 209);
    // Loosely: share of a day's active users back the next day (17.7 %) and 7 days later (10.7 %).
    near(m.nextDay, 0.177, 0.3);
    near(m.day7, 0.107, 0.3);
  });

  it('at the real density (1.4M events a day) a full day has ~209k active users, ~6.7 events each', () => {
    const dayEnd = Date.UTC(2019, 9, 2);
    const users = new Set<number>();
    let rows = 0;
    for (const e of generateEvents({ events: 1_400_000, seed: 2024 })) {
      if (e.event_time >= dayEnd) break;
      rows++;
      users.add(e.user_id);
    }
    expect(rows).toBeGreaterThan(1_130_000);
    near(users.size, 209_000);
    near(rows / users.size, 6.7);
  }, 60_000);
});
