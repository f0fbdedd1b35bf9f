/**
 * Humans who look a bit like bots: fast bursts, comparison shoppers, bulk buyers and marathon browsers
 * each show up in about their share of sessions (humans.ts), unlabelled.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { ClickEvent } from '../../../src/core/event.js';
import { generateEvents, generateToFile } from '../../../src/sources/synthetic/generator.js';
import {
  BULK_SESSION_SHARE,
  COMPARISON_SESSION_SHARE,
  FAST_SESSION_SHARE,
  MARATHON_SESSION_SHARE,
} from '../../../src/sources/synthetic/humans.js';

let sessions: ClickEvent[][];

beforeAll(() => {
  const bySession = new Map<string, ClickEvent[]>();
  for (const e of generateEvents({ events: 400_000, seed: 11, eventsPerDay: 400_000 })) {
    if (e.user_session === null) continue;
    const list = bySession.get(e.user_session);
    if (list) list.push(e);
    else bySession.set(e.user_session, [e]);
  }
  // Drop exact duplicate rows, which are modelled apart.
  sessions = [...bySession.values()].map((list) =>
    list.filter(
      (e, i) =>
        i === 0 ||
        e.event_time !== list[i - 1]!.event_time ||
        e.product_id !== list[i - 1]!.product_id ||
        e.event_type !== list[i - 1]!.event_type,
    ),
  );
}, 60_000);

const share = (pred: (s: ClickEvent[]) => boolean) => sessions.filter(pred).length / sessions.length;
const seconds = (s: ClickEvent[]) => (s.at(-1)!.event_time - s[0]!.event_time) / 1000;

function maxIn10s(s: ClickEvent[]): number {
  const counts = new Map<number, number>();
  for (const e of s)
    counts.set(Math.floor(e.event_time / 10_000), (counts.get(Math.floor(e.event_time / 10_000)) ?? 0) + 1);
  return Math.max(...counts.values());
}

describe('humans who look a bit like bots', () => {
  it('fast bursts: 6-15 views inside 10 s, about their share of sessions', () => {
    const fast = share((s) => maxIn10s(s) > 5);
    expect(fast).toBeGreaterThan(FAST_SESSION_SHARE * 0.6);
    expect(fast).toBeLessThan(FAST_SESSION_SHARE * 2);
    // The widest burst reaches 15 views in a window.
    expect(Math.max(...sessions.map(maxIn10s))).toBeGreaterThanOrEqual(13);
  });

  it('comparison shoppers: 10-30 views of distinct products of one category, 2-8 s apart', () => {
    const comparison = (s: ClickEvent[]) => {
      const views = s.filter((e) => e.event_type === 'view');
      if (views.length < 10 || views.length > 30) return false;
      if (new Set(views.map((e) => e.product_id)).size !== views.length) return false;
      if (new Set(views.map((e) => e.category_id)).size !== 1) return false;
      for (let i = 1; i < views.length; i++) {
        const gap = (views[i]!.event_time - views[i - 1]!.event_time) / 1000;
        if (gap < 1 || gap > 8) return false;
      }
      return maxIn10s(s) <= 5;
    };
    const found = share(comparison);
    expect(found).toBeGreaterThan(COMPARISON_SESSION_SHARE * 0.6);
    expect(found).toBeLessThan(COMPARISON_SESSION_SHARE * 1.6);
  });

  it('bulk buyers: 4-10 carts within 1-3 minutes, then a purchase', () => {
    const bulk = (s: ClickEvent[]) => {
      const carts = s.filter((e) => e.event_type === 'cart');
      if (carts.length < 4 || carts.length > 10) return false;
      const span = (carts.at(-1)!.event_time - carts[0]!.event_time) / 1000;
      // Each product viewed then carted, then the whole basket bought.
      const k = carts.length;
      const pairs = s.slice(0, 2 * k).every((e, i) => e.event_type === (i % 2 === 0 ? 'view' : 'cart'));
      const bought = s.slice(2 * k).filter((e) => e.event_type === 'purchase').length;
      return span <= 180 && pairs && bought === k && s.length === 3 * k;
    };
    const found = share(bulk);
    expect(found).toBeGreaterThan(BULK_SESSION_SHARE * 0.6);
    expect(found).toBeLessThan(BULK_SESSION_SHARE * 2);
  });

  it('marathon browsers: 100-300 events over 20-60 minutes, never a machine pace', () => {
    const marathon = (s: ClickEvent[]) => s.length >= 100 && seconds(s) >= 15 * 60 && seconds(s) <= 75 * 60;
    const found = sessions.filter(marathon);
    expect(found.length / sessions.length).toBeGreaterThan(MARATHON_SESSION_SHARE * 0.6);
    expect(found.length / sessions.length).toBeLessThan(MARATHON_SESSION_SHARE * 2.5);
    for (const s of found) {
      // Irregular: the gaps vary a lot (a bot's would not).
      const gaps = s.slice(1).map((e, i) => (e.event_time - s[i]!.event_time) / 1000);
      const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
      const sd = Math.sqrt(gaps.reduce((a, g) => a + (g - mean) ** 2, 0) / gaps.length);
      expect(sd / mean).toBeGreaterThan(0.4);
    }
  });

  it('counts the distinct human users and sessions it writes', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const dir = mkdtempSync(path.join(tmpdir(), 'storepulse-humans-'));
    try {
      const o = { events: 50_000, seed: 3, eventsPerDay: 300_000, attacks: ['cart-bot' as const] };
      const summary = await generateToFile({ ...o, out: path.join(dir, 'h.csv') });
      const attackers = new Set(summary.labels.flatMap((l) => l.user_ids));
      const users = new Set<number>();
      const ids = new Set<string>();
      for (const e of generateEvents(o)) {
        if (attackers.has(e.user_id)) continue;
        users.add(e.user_id);
        if (e.user_session !== null) ids.add(e.user_session);
      }
      expect(summary.humanUsers).toBe(users.size);
      // Sessions: all with a row (a row with an empty user_session still belongs to its session).
      expect(Math.abs(summary.humanSessions - ids.size)).toBeLessThanOrEqual(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
