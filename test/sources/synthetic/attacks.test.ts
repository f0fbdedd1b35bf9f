import { beforeAll, describe, expect, it } from 'vitest';
import type { ClickEvent } from '../../../src/core/event.js';
import {
  ATTACK_PROFILES,
  type AttackLabel,
  type AttackProfile,
  generateEvents,
  generateLabels,
  type GenerateOptions,
  parseAttackList,
} from '../../../src/sources/synthetic/generator.js';

/** Each profile at its strongest: the shapes the defaults were first built against. */
const opts: GenerateOptions = {
  events: 100_000,
  seed: 31,
  attacks: parseAttackList('all'),
  attackRepeats: 1,
  attackIntensity: [1, 1],
};
let events: ClickEvent[];
let labels: AttackLabel[];
const byProfile = new Map<AttackProfile, ClickEvent[]>();

beforeAll(() => {
  labels = generateLabels(opts);
  events = [...generateEvents(opts)];
  const owner = new Map<number, AttackProfile>();
  for (const l of labels) for (const u of l.user_ids) owner.set(u, l.profile);
  for (const e of events) {
    const p = owner.get(e.user_id);
    if (p === undefined) continue;
    if (!byProfile.has(p)) byProfile.set(p, []);
    byProfile.get(p)!.push(e);
  }
});

const label = (p: AttackProfile) => labels.find((l) => l.profile === p)!;
const ms = (iso: string) => Date.parse(iso);

/** Largest count of one user's events in a 10 s tumbling window (the reference rule's window). */
function maxPerWindow(list: ClickEvent[]): number {
  const counts = new Map<string, number>();
  for (const e of list) {
    const k = `${e.user_id}|${Math.floor(e.event_time / 10_000)}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return Math.max(...counts.values());
}

describe('attack injection', () => {
  it('labels every profile with its users, sessions, bounds and exact event count', () => {
    expect(labels.map((l) => l.profile)).toEqual([...ATTACK_PROFILES]);
    for (const l of labels) {
      const list = byProfile.get(l.profile)!;
      expect(l.user_ids.length).toBeGreaterThan(0);
      expect(l.sessions.length).toBeGreaterThan(0);
      expect(list).toHaveLength(l.events);
      expect(new Set(list.map((e) => e.user_session))).toEqual(new Set(l.sessions));
      expect(new Set(list.map((e) => e.user_id))).toEqual(new Set(l.user_ids));
      // Every event of an attacker id lies within the labelled bounds, which are its first and last.
      expect(Math.min(...list.map((e) => e.event_time))).toBe(ms(l.start));
      expect(Math.max(...list.map((e) => e.event_time))).toBe(ms(l.end));
      // Every item its events reached is listed as touched, and nothing else.
      expect(new Set(l.touched.product)).toEqual(new Set(list.map((e) => String(e.product_id))));
      expect(new Set(l.touched.category)).toEqual(new Set(list.map((e) => e.category_id)));
      expect(new Set(l.touched.brand)).toEqual(
        new Set(list.flatMap((e) => (e.brand === null ? [] : [e.brand]))),
      );
    }
  });

  it('attacks sit inside the data set, do not overlap, and are a small share of rows', () => {
    const spans = labels.map((l) => [ms(l.start), ms(l.end)] as const).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThan(spans[i - 1]![1]);
    expect(spans[0]![0]).toBeGreaterThan(events[0]!.event_time);
    expect(spans.at(-1)![1]).toBeLessThan(events.at(-1)!.event_time);
    const attackRows = labels.reduce((a, l) => a + l.events, 0);
    expect(attackRows / events.length).toBeGreaterThan(0.005);
    // Eight profiles at their strongest, once each, in 100k rows.
    expect(attackRows / events.length).toBeLessThan(0.1);
  });

  it('ddos-burst: many sources, each firing several requests a second, a visible spike in per-second totals', () => {
    const l = label('ddos-burst');
    const list = byProfile.get('ddos-burst')!;
    expect(l.user_ids.length).toBeGreaterThanOrEqual(8);
    const duration = (ms(l.end) - ms(l.start)) / 1000;
    expect(duration).toBeGreaterThanOrEqual(25);
    expect(duration).toBeLessThanOrEqual(65);
    for (const u of l.user_ids) expect(maxPerWindow(list.filter((e) => e.user_id === u))).toBeGreaterThan(5);
    const perSecond = new Map<number, number>();
    for (const e of events) perSecond.set(e.event_time, (perSecond.get(e.event_time) ?? 0) + 1);
    const total = (from: number, to: number) => {
      let n = 0;
      for (let t = from; t < to; t += 1000) n += perSecond.get(t) ?? 0;
      return n;
    };
    const during = total(ms(l.start), ms(l.end) + 1000) / (duration + 1);
    const before = total(ms(l.start) - 600_000, ms(l.start)) / 600;
    expect(during / before).toBeGreaterThanOrEqual(5);
  });

  it('scraper: views only, many distinct products, a steady machine rate for minutes', () => {
    const l = label('scraper');
    const list = byProfile.get('scraper')!;
    expect(l.user_ids.length).toBeLessThanOrEqual(3);
    expect(list.every((e) => e.event_type === 'view')).toBe(true);
    expect(new Set(list.map((e) => e.product_id)).size).toBeGreaterThan(0.95 * list.length);
    const minutes = (ms(l.end) - ms(l.start)) / 60_000;
    expect(minutes).toBeGreaterThanOrEqual(3);
    for (const u of l.user_ids) {
      const mine = list.filter((e) => e.user_id === u);
      const rate = mine.length / ((mine.at(-1)!.event_time - mine[0]!.event_time) / 1000);
      expect(rate).toBeGreaterThanOrEqual(1);
      expect(rate).toBeLessThanOrEqual(3);
      // Very regular: every 10 s window of the sweep holds nearly the same count.
      const windows = new Map<number, number>();
      for (const e of mine.slice(10, -10)) {
        const w = Math.floor(e.event_time / 10_000);
        windows.set(w, (windows.get(w) ?? 0) + 1);
      }
      const counts = [...windows.values()].slice(1, -1);
      expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(3);
    }
  });

  it('cart-bot: mostly carts on a few hot products, few or no purchases, 1-5 a second', () => {
    const l = label('cart-bot');
    const list = byProfile.get('cart-bot')!;
    expect(list.filter((e) => e.event_type === 'cart').length / list.length).toBeGreaterThan(0.75);
    expect(list.filter((e) => e.event_type === 'purchase').length).toBeLessThanOrEqual(2 * l.user_ids.length);
    expect(new Set(list.map((e) => e.product_id)).size).toBeLessThanOrEqual(5);
    // Its hoarded products are its targets.
    expect(new Set(l.targets!.map((x) => x.key))).toEqual(new Set(list.map((e) => String(e.product_id))));
    expect(list.every((e) => e.price > 0)).toBe(true);
    const seconds = (ms(l.end) - ms(l.start)) / 1000;
    expect(seconds).toBeGreaterThanOrEqual(55);
    const rate = list.length / l.user_ids.length / seconds;
    expect(rate).toBeGreaterThanOrEqual(0.9);
    expect(rate).toBeLessThanOrEqual(5);
  });

  it('low-and-slow: never more than 5 per 10 s window, yet for 10+ minutes, view-heavy', () => {
    const l = label('low-and-slow');
    const list = byProfile.get('low-and-slow')!;
    expect(maxPerWindow(list)).toBeLessThanOrEqual(5);
    expect(maxPerWindow(list)).toBeGreaterThanOrEqual(4);
    expect((ms(l.end) - ms(l.start)) / 60_000).toBeGreaterThanOrEqual(10);
    expect(list.filter((e) => e.event_type === 'view').length / list.length).toBeGreaterThan(0.85);
  });

  it('attackers use user ids no human uses', () => {
    const sessions = new Set(labels.flatMap((l) => l.sessions));
    const attackers = new Set(labels.flatMap((l) => l.user_ids));
    for (const e of events) {
      if (attackers.has(e.user_id)) expect(sessions.has(e.user_session!)).toBe(true);
    }
    // And the humans' own fast bursts are not labelled: some humans trip the rule too.
    const humans = events.filter((e) => !attackers.has(e.user_id));
    expect(maxPerWindow(humans)).toBeGreaterThan(5);
  });

  it('parses attack lists and rejects unknown profiles, naming the known ones', () => {
    expect(parseAttackList('scraper, cart-bot,scraper')).toEqual(['scraper', 'cart-bot']);
    expect(parseAttackList('all')).toEqual([...ATTACK_PROFILES]);
    expect(() => parseAttackList('scraper,botnet')).toThrow(
      /botnet.*ddos-burst, scraper, cart-bot, low-and-slow, skewing, item-flood, distributed-hoard, distributed-sweep/,
    );
  });
});

describe('attack intensity: each profile spans a range, down to where fast humans are', () => {
  const gentle: GenerateOptions = { ...opts, seed: 32, attackIntensity: [0, 0] };
  let rows: Map<AttackProfile, ClickEvent[]>;
  let ls: AttackLabel[];
  beforeAll(() => {
    ls = generateLabels(gentle);
    const owner = new Map<number, AttackProfile>();
    for (const l of ls) for (const u of l.user_ids) owner.set(u, l.profile);
    rows = new Map();
    for (const e of generateEvents(gentle)) {
      const p = owner.get(e.user_id);
      if (p !== undefined) rows.set(p, [...(rows.get(p) ?? []), e]);
    }
  });
  /** Events per second of each user of a profile, over the user's own span. */
  const rates = (p: AttackProfile) => {
    const byUser = new Map<number, ClickEvent[]>();
    for (const e of rows.get(p)!) byUser.set(e.user_id, [...(byUser.get(e.user_id) ?? []), e]);
    return [...byUser.values()]
      .filter((l) => l.length > 1)
      .map((l) => (l.length - 1) / ((l.at(-1)!.event_time - l[0]!.event_time) / 1000));
  };

  it('labels each instance with its intensity and the parameters drawn', () => {
    for (const l of ls) expect(l.intensity).toBe(0);
    expect(Object.keys(label('scraper').params).sort()).toEqual([
      'jitter',
      'ordered',
      'period_s',
      'session_pages',
      'users',
    ]);
    expect(ls.find((l) => l.profile === 'cart-bot')!.params).toHaveProperty('per_s');
  });

  it('at intensity 0: a scraper every few seconds, a cart bot every few seconds, low-and-slow every ~10 s, slow DDoS sources', () => {
    for (const r of rates('scraper')) expect(r).toBeLessThan(0.5);
    for (const r of rates('cart-bot')) expect(r).toBeLessThan(0.35);
    for (const r of rates('low-and-slow')) expect(r).toBeLessThan(0.15);
    const ddos = rates('ddos-burst');
    expect(ddos.reduce((a, b) => a + b, 0) / ddos.length).toBeLessThan(0.6);
    // Each at its strongest is several times faster.
    expect(label('scraper').events).toBeGreaterThan(2 * ls.find((l) => l.profile === 'scraper')!.events);
  });

  it('spreads intensities evenly over the instances of a profile', () => {
    const many = generateLabels({ events: 400_000, seed: 5, attacks: ['scraper'] });
    const xs = many.map((l) => l.intensity).sort((a, b) => a - b);
    expect(xs).toHaveLength(8);
    xs.forEach((x, k) => {
      expect(x).toBeGreaterThanOrEqual(Math.floor((k / 8) * 100) / 100);
      expect(x).toBeLessThanOrEqual(Math.ceil(((k + 1) / 8) * 100) / 100);
    });
    expect(() => generateLabels({ ...gentle, attackIntensity: [0.8, 0.2] })).toThrow(/intensity/);
  });
});

describe('repeated attacks', () => {
  const all = parseAttackList('all');
  const spans = (ls: AttackLabel[]) =>
    ls.map((l) => [ms(l.start), ms(l.end)] as const).sort((a, b) => a[0] - b[0]);
  const overlapping = (ls: AttackLabel[]) => {
    const s = spans(ls);
    let n = 0;
    for (let i = 1; i < s.length; i++) if (s[i]![0] <= s[i - 1]![1]) n++;
    return n;
  };

  it('injects each profile n times, one label per instance, numbered in time order, rows matching', () => {
    const o: GenerateOptions = { events: 150_000, seed: 8, attacks: all, attackRepeats: 3 };
    const ls = generateLabels(o);
    for (const p of ['scraper', 'cart-bot', 'low-and-slow'] as const) {
      const mine = ls.filter((l) => l.profile === p);
      expect(mine.map((l) => l.instance)).toEqual([1, 2, 3]);
      for (let i = 1; i < mine.length; i++) expect(ms(mine[i]!.start)).toBeGreaterThan(ms(mine[i - 1]!.end));
    }
    const bursts = ls.filter((l) => l.profile === 'ddos-burst');
    expect(bursts.length).toBeGreaterThanOrEqual(1);
    expect(bursts.length).toBeLessThanOrEqual(3);
    expect(overlapping(bursts)).toBe(0);
    // Every instance has its own users and sessions, and the rows say exactly what the labels say.
    const owner = new Map<number, AttackLabel>();
    for (const l of ls) {
      expect(l.session_users).toHaveLength(l.sessions.length);
      for (const u of l.user_ids) {
        expect(owner.has(u)).toBe(false);
        owner.set(u, l);
      }
    }
    const count = new Map<AttackLabel, { n: number; first: number; last: number }>();
    const rows = new Map<AttackLabel, ClickEvent[]>();
    for (const e of generateEvents(o)) {
      const l = owner.get(e.user_id);
      if (!l) continue;
      rows.set(l, [...(rows.get(l) ?? []), e]);
      const c = count.get(l) ?? { n: 0, first: Infinity, last: -Infinity };
      c.n++;
      c.first = Math.min(c.first, e.event_time);
      c.last = Math.max(c.last, e.event_time);
      count.set(l, c);
      expect(l.session_users[l.sessions.indexOf(e.user_session!)]).toBe(e.user_id);
    }
    for (const l of ls) expect(count.get(l)).toEqual({ n: l.events, first: ms(l.start), last: ms(l.end) });
    // Same shapes in every instance.
    for (const l of ls) {
      const list = rows.get(l)!;
      const minutes = (ms(l.end) - ms(l.start)) / 60_000;
      if (l.profile === 'low-and-slow') {
        expect(maxPerWindow(list)).toBeLessThanOrEqual(5);
        expect(minutes).toBeGreaterThanOrEqual(11);
      }
      if (l.profile === 'scraper') expect(list.every((e) => e.event_type === 'view')).toBe(true);
      if (l.profile === 'ddos-burst') {
        expect(l.user_ids.length).toBeGreaterThanOrEqual(8);
        for (const u of l.user_ids)
          expect(maxPerWindow(list.filter((e) => e.user_id === u))).toBeGreaterThan(5);
      }
    }
  });

  it('defaults to max(1, events / 50,000) instances, keeps attacks a few % of rows and DDoS under 2.5 %', () => {
    const ls = generateLabels({ events: 400_000, seed: 2, attacks: all });
    expect(ls.filter((l) => l.profile === 'scraper')).toHaveLength(8);
    expect(ls.filter((l) => l.profile === 'low-and-slow')).toHaveLength(8);
    const share = (p?: string) =>
      ls.filter((l) => p === undefined || l.profile === p).reduce((a, l) => a + l.events, 0) / 400_000;
    expect(share('ddos-burst')).toBeLessThanOrEqual(0.025);
    expect(share()).toBeLessThan(0.07);
    expect(generateLabels({ events: 40_000, seed: 2, attacks: ['scraper'] })).toHaveLength(1);
  });

  it('runs instances side by side when they do not fit one after another, never two DDoS bursts at once', () => {
    const o: GenerateOptions = {
      events: 300_000,
      seed: 4,
      eventsPerDay: 4_000_000,
      attacks: all,
      attackRepeats: 6,
    };
    const ls = generateLabels(o);
    expect(overlapping(ls)).toBeGreaterThan(0);
    expect(overlapping(ls.filter((l) => l.profile === 'ddos-burst'))).toBe(0);
    expect(ls.filter((l) => l.profile === 'low-and-slow')).toHaveLength(6);
  });

  it('caps the repeats so every instance fits between 10 % and 85 % of the range, shapes unchanged', () => {
    const o: GenerateOptions = { events: 100_000, seed: 6, attacks: all, attackRepeats: 1000 };
    const ls = generateLabels(o);
    const slow = ls.filter((l) => l.profile === 'low-and-slow');
    expect(slow.length).toBeGreaterThan(1);
    expect(slow.length).toBeLessThan(10);
    for (const l of slow) expect((ms(l.end) - ms(l.start)) / 60_000).toBeGreaterThanOrEqual(11);
    const events = [...generateEvents(o)];
    const from = events[0]!.event_time;
    const span = events.at(-1)!.event_time - from;
    for (const l of ls) {
      expect(ms(l.start)).toBeGreaterThanOrEqual(from + 0.09 * span);
      expect(ms(l.end)).toBeLessThanOrEqual(from + 0.87 * span);
    }
    expect(() => generateLabels({ ...o, attackRepeats: 0 })).toThrow(/attackRepeats/);
  });
});
