import { describe, expect, it } from 'vitest';
import {
  checkTargets,
  dedupeAlerts,
  evaluate,
  intensities,
  type EvaluationLabels,
  parseAlertRecord,
  percentile,
  type ScoredAlert,
  scoreSystem,
  splitSystems,
} from '../../src/core/evaluate.js';
import { type Feature } from '../../src/core/rules/features.js';
import { REFERENCE_RULE } from '../../src/core/rules/reference.js';

const T = (s: number) => new Date(Date.UTC(2019, 9, 1, 10) + s * 1000).toISOString();

/** Two DDoS sources in one burst, a scraper with two sessions, a low-and-slow user; 1,000 humans. */
const labels: EvaluationLabels = {
  human_users: 1000,
  attacks: [
    {
      profile: 'ddos-burst',
      instance: 1,
      user_ids: [11, 12],
      sessions: ['d1', 'd2'],
      start: T(0),
      end: T(40),
    },
    {
      profile: 'scraper',
      instance: 1,
      user_ids: [21],
      sessions: ['s1', 's2'],
      start: T(100),
      end: T(400),
    },
    {
      profile: 'scraper',
      instance: 2,
      user_ids: [22, 23],
      sessions: ['s3', 's4', 's5'],
      session_users: [22, 22, 23],
      start: T(1000),
      end: T(1300),
    },
    { profile: 'low-and-slow', instance: 1, user_ids: [31], sessions: ['l1'], start: T(2000), end: T(3000) },
  ],
};

let n = 0;
function alert(a: Partial<ScoredAlert> & { rule: string }): ScoredAlert {
  n++;
  return {
    id: a.id ?? `a${n}`,
    key_type: 'user',
    key: a.user_id === undefined || a.user_id === null ? '' : String(a.user_id),
    user_id: null,
    window_start: T(0),
    window_end: T(10),
    detected_event_time: T(20),
    ...a,
  };
}

describe('evaluate: scoring alerts against labels', () => {
  it('recall, precision and the human false-positive rate per profile and overall', () => {
    const alerts = [
      alert({ rule: 'rate', user_id: 11, detected_event_time: T(5) }),
      alert({ rule: 'rate', user_id: 12, detected_event_time: T(15) }),
      alert({ rule: 'rate', user_id: 900 }), // a human
      alert({ rule: 'sweep', user_id: 21, detected_event_time: T(130) }),
      alert({ rule: 'sweep', user_id: 22, detected_event_time: T(1010) }),
      alert({ rule: 'other', user_id: 901 }), // a human flagged by a rule that flagged no scraper
    ];
    const s = scoreSystem('x', labels, alerts);
    const ddos = s.profiles.find((p) => p.profile === 'ddos-burst')!;
    expect(ddos).toMatchObject({ instances: 1, attacker_users: 2, detected: 2, recall: 1, rules: ['rate'] });
    // Precision of a profile: its attackers flagged / (those + humans flagged by the same rules).
    expect(ddos.precision).toBeCloseTo(2 / 3);
    const scraper = s.profiles.find((p) => p.profile === 'scraper')!;
    expect(scraper).toMatchObject({ instances: 2, attacker_users: 3, detected: 2, precision: 1 });
    expect(scraper.recall).toBeCloseTo(2 / 3);
    const slow = s.profiles.find((p) => p.profile === 'low-and-slow')!;
    expect(slow).toMatchObject({ detected: 0, recall: 0, precision: null, ttd_p95_s: null });
    expect(s.overall).toMatchObject({
      attacker_users: 6,
      users_flagged: 6,
      attackers_flagged: 4,
      humans_flagged: 2,
      human_users: 1000,
      human_fp_rate: 0.002,
    });
    expect(s.overall.precision).toBeCloseTo(4 / 6);
    expect(s.overall.recall).toBeCloseTo(4 / 6);
    expect(s.rules).toEqual([
      { rule: 'other', alerts: 1, users_flagged: 1, attackers_flagged: 0, humans_flagged: 1, precision: 0 },
      {
        rule: 'rate',
        alerts: 3,
        users_flagged: 3,
        attackers_flagged: 2,
        humans_flagged: 1,
        precision: 2 / 3,
      },
      { rule: 'sweep', alerts: 2, users_flagged: 2, attackers_flagged: 2, humans_flagged: 0, precision: 1 },
    ]);
  });

  it('time to detect: earliest detection per attacker minus its instance start, clipped at 0; nearest-rank percentiles', () => {
    const alerts = [
      alert({ rule: 'r', user_id: 11, detected_event_time: T(30) }),
      alert({ rule: 'r2', user_id: 11, detected_event_time: T(8) }), // the earliest counts
      alert({ rule: 'r', user_id: 12, detected_event_time: T(-5) }), // before the start: 0
      alert({ rule: 'r', user_id: 21, detected_event_time: T(112) }),
      alert({ rule: 'r', user_id: 22, detected_event_time: T(1004) }), // its own instance's start
    ];
    const s = scoreSystem('x', labels, alerts);
    const ddos = s.profiles.find((p) => p.profile === 'ddos-burst')!;
    expect([ddos.ttd_p50_s, ddos.ttd_p95_s]).toEqual([0, 8]);
    const scraper = s.profiles.find((p) => p.profile === 'scraper')!;
    expect([scraper.ttd_p50_s, scraper.ttd_p95_s]).toEqual([4, 12]);
    expect([s.overall.ttd_p50_s, s.overall.ttd_p95_s]).toEqual([4, 12]);
    expect(percentile([5, 1, 4, 2, 3], 0.5)).toBe(3);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 100], 0.95)).toBe(
      19,
    );
    expect(percentile([], 0.5)).toBeNull();
  });

  it('session alerts map to users through the labels; unlabelled sessions count as one human each', () => {
    const alerts = [
      alert({ rule: 's', key_type: 'session', key: 'd2' }), // one session per user: by position → 12
      alert({ rule: 's', key_type: 'session', key: 's2' }), // the only user of the instance → 21
      alert({ rule: 's', key_type: 'session', key: 's5' }), // session_users → 23
      alert({ rule: 's', key_type: 'session', key: 'l1', user_id: 31 }), // carries its user
      alert({ rule: 's', key_type: 'session', key: 'human-a' }),
      alert({ rule: 's', key_type: 'session', key: 'human-a', window_start: T(60) }),
      alert({ rule: 's', key_type: 'session', key: 'human-b' }),
    ];
    const s = scoreSystem('x', labels, alerts);
    expect(s.overall).toMatchObject({ attackers_flagged: 4, humans_flagged: 2, users_flagged: 6 });
    expect(s.unattributed_session_alerts).toBe(2);
    expect(s.profiles.map((p) => [p.profile, p.detected])).toEqual([
      ['ddos-burst', 1],
      ['scraper', 2],
      ['low-and-slow', 1],
    ]);
  });

  it('global alerts are not user flags: true when the window overlaps a DDoS burst', () => {
    const alerts = [
      alert({ rule: 'g', key_type: 'global', key: 'all', window_start: T(-10), window_end: T(0) }), // touches
      alert({ rule: 'g', key_type: 'global', key: 'all', window_start: T(30), window_end: T(40) }),
      alert({ rule: 'g', key_type: 'global', key: 'all', window_start: T(500), window_end: T(510) }),
    ];
    const s = scoreSystem('x', labels, alerts);
    expect(s.global).toEqual({ alerts: 3, true: 2, false: 1, ddos_instances: 1, ddos_instances_hit: 1 });
    expect(s.overall.users_flagged).toBe(0);
    expect(s.rules[0]).toMatchObject({ rule: 'g', alerts: 3, users_flagged: 0 });
  });

  it('item alerts: a hit for the instance whose target they name while it runs, collateral, or false', () => {
    const items: EvaluationLabels = {
      human_users: 1000,
      attacks: [
        ...[0.1, 0.3, 0.6, 0.9].map((intensity, i) => ({
          profile: 'skewing',
          instance: i + 1,
          user_ids: [100 + i],
          sessions: [`k${i}`],
          start: T(i * 1000),
          end: T(i * 1000 + 600),
          intensity,
          targets: [{ key_type: i === 3 ? 'brand' : 'product', key: i === 3 ? 'acme' : `${500 + i}` }],
          touched: { product: [`${500 + i}`, '999'], category: ['c1'], brand: ['acme'] },
        })),
      ],
    };
    const alerts = [
      // Instance 2 (0.3): its product, during it; detected 120 s in.
      alert({
        rule: 'p',
        key_type: 'product',
        key: '501',
        window_start: T(1060),
        window_end: T(1120),
        detected_event_time: T(1120),
      }),
      // Instance 4 (0.9): its brand.
      alert({
        rule: 'b',
        key_type: 'brand',
        key: 'acme',
        window_start: T(3000),
        window_end: T(3060),
        detected_event_time: T(3060),
      }),
      // Instance 1's product, but long after it ended: not a hit, and nothing touched it then.
      alert({ rule: 'p', key_type: 'product', key: '500', window_start: T(5000), window_end: T(5060) }),
      // Another product its events reached while it ran: collateral.
      alert({ rule: 'p', key_type: 'product', key: '999', window_start: T(2100), window_end: T(2160) }),
      // The right key, the wrong key type: a category named 501 is not product 501.
      alert({ rule: 'c', key_type: 'category', key: '501', window_start: T(1060), window_end: T(1120) }),
    ];
    const s = scoreSystem('x', items, alerts);
    expect(s.items).toEqual({ alerts: 5, true: 2, collateral: 1, false: 2 });
    expect(s.overall.users_flagged).toBe(0);
    const p = s.profiles[0]!;
    expect(p).toMatchObject({ instances: 4, instances_caught: 2, instances_by_item: 2, detected: 0 });
    expect(p.instance_ttd_s).toEqual([null, 120, null, 60]);
    expect(p.bands).toEqual([
      { band: '0-0.25', instances: 1, caught: 0, recall: 0 },
      { band: '0.25-0.5', instances: 1, caught: 1, recall: 1 },
      { band: '0.5-0.75', instances: 1, caught: 0, recall: 0 },
      { band: '0.75-1', instances: 1, caught: 1, recall: 1 },
    ]);
    // A user flag catches an instance too, at its time.
    const withUser = scoreSystem('x', items, [
      alert({ rule: 'u', user_id: 100, detected_event_time: T(30) }),
    ]);
    expect(withUser.profiles[0]!.instance_ttd_s[0]).toBe(30);
    // Item alert precision is a target of its own.
    const check = checkTargets(s).find((c) => c.target === 'precision of item alerts')!;
    expect(check).toMatchObject({ value: 0.5, pass: false });
    expect(
      parseAlertRecord({
        id: 'x',
        rule: 'p',
        key_type: 'brand',
        key: 'acme',
        window_start: T(0),
        window_end: T(1),
      }),
    ).toMatchObject({ key_type: 'brand', user_id: null });
  });

  it('dedupes by alert id, and splits storepulse from the reference rule', () => {
    const a = alert({ id: 'same', rule: 'rate', user_id: 900 });
    const alerts = [a, { ...a }, alert({ id: 'same', rule: 'rate', user_id: 901 })];
    expect(dedupeAlerts(alerts)).toHaveLength(1);
    expect(scoreSystem('x', labels, alerts).overall.humans_flagged).toBe(1);
    const ref = alert({ rule: REFERENCE_RULE, user_id: 11 });
    const split = splitSystems([a, ref]);
    expect(split.storepulse).toEqual([a]);
    expect(split.reference).toEqual([ref]);
  });

  it('with a population, alerts on users outside it are left out and counted, per system', () => {
    const ours = [
      alert({ rule: 'rate', user_id: 11, detected_event_time: T(5) }),
      alert({ rule: 'rate', user_id: 12, detected_event_time: T(15) }),
      alert({ rule: 'rate', user_id: 900 }), // a human of the data set
      alert({ rule: 'sweep', user_id: 21, detected_event_time: T(130) }),
    ];
    // Left in a shared store by a run on other data: users 7001 and 7002 are not in the data set.
    const others = [
      alert({ rule: 'rate', user_id: 7001 }),
      alert({ rule: 'rate', user_id: 7001, window_start: T(60) }),
      alert({ rule: 'other', key_type: 'session', key: 'x9', user_id: 7002 }),
    ];
    const unattributed = alert({ rule: 'rate', key_type: 'session', key: 'human-a' });
    const global = alert({ rule: 'g', key_type: 'global', key: 'all', window_start: T(0) });
    const users = new Set([11, 12, 21, 22, 23, 31, 900, 901]);
    const population = { source: 'gen.csv', users };
    const clean = scoreSystem('x', labels, [...ours, unattributed, global]);
    const mixed = scoreSystem('x', labels, [...ours, ...others, unattributed, global], population);
    expect(mixed.left_out).toEqual({ alerts: 3, users: 2 });
    expect(clean.left_out).toEqual({ alerts: 0, users: 0 });
    // Everything else is as if the other run's alerts were never there.
    expect({ ...mixed, left_out: null }).toEqual({ ...clean, left_out: null });
    expect(mixed.overall).toMatchObject({ users_flagged: 5, humans_flagged: 2, human_fp_rate: 0.002 });
    expect(mixed.overall.precision).toBeCloseTo(3 / 5);
    expect(mixed.global.alerts).toBe(1);
    expect(mixed.unattributed_session_alerts).toBe(1);

    const r = evaluate(labels, [...ours, ...others], [alert({ rule: REFERENCE_RULE, user_id: 7001 })], {
      population,
    });
    expect(r.population).toEqual({ source: 'gen.csv', users: 8 });
    expect(r.systems.storepulse.left_out).toEqual({ alerts: 3, users: 2 });
    expect(r.systems.reference!.left_out).toEqual({ alerts: 1, users: 1 });
    expect(r.systems.reference!.overall.users_flagged).toBe(0);
    expect(evaluate(labels, ours, null).population).toBeNull();
  });

  it('reads stored alerts and stream-2 records, and says why a record is not an alert', () => {
    const record = {
      id: 'x1',
      rule: 'r',
      severity: 'high',
      key_type: 'user',
      key: '11',
      user_id: 11,
      window_start: T(0),
      window_end: T(10),
      count: 7,
      detected_event_time: T(20),
      num_actions_per_watermark: 7,
    };
    expect(parseAlertRecord(record)).toMatchObject({ id: 'x1', user_id: 11, detected_event_time: T(20) });
    expect(parseAlertRecord({ ...record, user_id: '12' })).toMatchObject({ user_id: 12 });
    expect(parseAlertRecord({ ...record, detected_event_time: undefined })).toMatchObject({
      detected_event_time: T(10),
    });
    expect(parseAlertRecord({ ...record, id: undefined })).toBe('missing id');
    expect(parseAlertRecord({ ...record, key_type: 'ip' })).toMatch(/unknown key_type/);
    expect(parseAlertRecord([1])).toBe('not a JSON object');
  });

  it('checks the targets; evaluate puts both systems side by side', () => {
    const perfect = [11, 12, 21, 22, 23, 31].map((u) =>
      alert({
        rule: 'good',
        user_id: u,
        detected_event_time: u === 31 ? T(2005) : T(u < 20 ? 3 : u === 21 ? 105 : 1005),
      }),
    );
    const r = evaluate(labels, perfect, [alert({ rule: REFERENCE_RULE, user_id: 11 })]);
    expect(r.passed).toBe(true);
    expect(r.checks.storepulse.map((c) => c.target)).toEqual([
      'recall ddos-burst',
      'recall scraper',
      'recall low-and-slow',
      'precision',
      'human false-positive rate',
      'time-to-detect p95 (s) ddos-burst',
      'time-to-detect p95 (s) scraper',
      'time-to-detect p95 (s) low-and-slow',
    ]);
    // Slow styles are held to 60 s, bursts to 10 s.
    const slow = r.checks.storepulse.find((c) => c.target === 'time-to-detect p95 (s) low-and-slow')!;
    expect(slow).toMatchObject({ value: 5, limit: 60, op: '<=', pass: true });
    expect(r.systems.reference!.overall.attackers_flagged).toBe(1);
    expect(r.checks.reference!.find((c) => c.target === 'recall scraper')!.pass).toBe(false);
    // Two humans in 1,000 is 0.2 %: over the 0.1 % limit.
    const noisy = scoreSystem('x', labels, [
      ...perfect,
      alert({ rule: 'good', user_id: 5 }),
      alert({ rule: 'good', user_id: 6 }),
    ]);
    const fp = checkTargets(noisy).find((c) => c.target === 'human false-positive rate')!;
    expect(fp).toMatchObject({ value: 0.002, pass: false });
    expect(evaluate(labels, [], null).systems.reference).toBeNull();
    expect(
      evaluate({ attacks: labels.attacks }, perfect, null).systems.storepulse.overall.human_fp_rate,
    ).toBeNull();
  });
});

describe("evaluate: attackers against the humans' figures", () => {
  const features: Feature[] = [
    {
      rule: 'fast',
      type: 'rate',
      key: 'user',
      direction: 'above',
      threshold: 20,
      figure: 'events in 10 s',
      windowSeconds: 10,
      min: 1,
      max: 1e9,
    },
    {
      rule: 'timing',
      type: 'regular-timing',
      key: 'user',
      direction: 'below',
      threshold: 0.2,
      figure: 'variation',
      windowSeconds: 720,
      min: 0.001,
      max: 10,
    },
  ];
  // 1,000 humans: events in 10 s of 1…10 (user 1000+i has i % 10 + 1), variation 0.5…1.5.
  const figures = new Map<number, Float64Array>();
  for (let i = 0; i < 1000; i++) figures.set(1000 + i, Float64Array.of((i % 10) + 1, 0.5 + i / 1000));
  // DDoS sources: fast (40, 30); scrapers: one regular (0.05), two within the humans on both figures.
  figures.set(11, Float64Array.of(40, 1));
  figures.set(12, Float64Array.of(30, 1));
  figures.set(21, Float64Array.of(5, 0.05));
  figures.set(22, Float64Array.of(3, 0.9));
  figures.set(23, Float64Array.of(2, 0.8));
  const users = [...figures.keys(), 31];

  it("bands attackers by the humans' p99.9, finds the gentlest caught, and what only the reference caught", () => {
    const sp = scoreSystem('storepulse', labels, [
      alert({ rule: 'fast', user_id: 11 }),
      alert({ rule: 't', user_id: 21 }),
    ]);
    const ref = scoreSystem(
      'reference',
      labels,
      [12, 22, 23].map((u) => alert({ rule: REFERENCE_RULE, user_id: u })),
    );
    const rows = intensities(labels, sp, ref, { features, figures, users });
    const ddos = rows.find((r) => r.profile === 'ddos-burst')!;
    expect(ddos.figures.map((f) => f.rule)).toEqual(['fast']); // both sources beyond the humans' p99 only there
    expect(ddos.figures[0]).toMatchObject({
      humans_p99: 10,
      humans_p999: 10,
      beyond_p999: 2,
      caught: 1,
      gentlest: 30,
      gentlest_caught: 40,
    });
    expect(ddos).toMatchObject({
      beyond_p999: 2,
      caught_beyond_p999: 1,
      recall_beyond_p999: 0.5,
      reference_only: 1,
      reference_only_indistinguishable: 0,
      // Caught 20 s in, beyond the humans on a 10 s figure: a burst, held to the 10 s target.
      burst: { caught: 1, ttd_p95_s: 20 },
      slow: { caught: 0, ttd_p95_s: null },
    });
    const scraper = rows.find((r) => r.profile === 'scraper')!;
    // Only one of three scrapers stands out (on timing): fewer than half on any figure, so every figure is shown.
    expect(scraper.figures.map((f) => f.rule)).toEqual(['fast', 'timing']);
    expect(scraper).toMatchObject({
      beyond_p999: 1,
      caught_beyond_p999: 1,
      indistinguishable: 2,
      reference_only: 2,
      reference_only_indistinguishable: 2,
      // Stands out on timing only, a 12-minute figure: slow.
      burst: { caught: 0, ttd_p95_s: null },
      slow: { caught: 1, ttd_p95_s: 0 },
    });
    // Low-and-slow's user has no figure at all: indistinguishable, nothing beyond.
    expect(rows.find((r) => r.profile === 'low-and-slow')).toMatchObject({
      beyond_p999: 0,
      recall_beyond_p999: null,
      indistinguishable: 1,
    });

    const r = evaluate(
      labels,
      [alert({ rule: 'fast', user_id: 11 })],
      [alert({ rule: REFERENCE_RULE, user_id: 12 })],
      {
        figures: { features, figures, users },
      },
    );
    const check = (t: string) => r.checks.storepulse.find((c) => c.target === t)!;
    expect(check("recall beyond humans' p99.9 ddos-burst")).toMatchObject({ value: 0.5, pass: false });
    expect(check('caught by the reference only, distinguishable ddos-burst')).toMatchObject({
      value: 1,
      pass: false,
    });
    expect(check("recall beyond humans' p99.9 low-and-slow").pass).toBe(true);
    expect(check('time-to-detect p95 (s) ddos-burst, bursts')).toMatchObject({
      value: 20,
      limit: 10,
      pass: false,
    });
    expect(check('time-to-detect p95 (s) ddos-burst, slow')).toMatchObject({ value: null, pass: true });
    // The per-profile recall and time checks give way to these.
    expect(r.checks.storepulse.some((c) => c.target === 'recall ddos-burst')).toBe(false);
  });
});
