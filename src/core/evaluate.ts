/**
 * Detection quality against a generator's labels: recall, precision, human false-positive rate and
 * time to detect, per attack profile, per rule and overall, for one set of alerts (a "system").
 * Pure: labels and alerts in, a report out (docs/evaluate.md defines every figure).
 */
import { type Alert, ITEM_KEY_TYPES, KEY_TYPES, type KeyType } from './alert.js';
import { beyond, distributionsOver, type Feature, noFigure } from './rules/features.js';
import { nearestRank } from './percentile.js';
import { type ItemFigures, itemQuantile } from './rules/item-features.js';
import { REFERENCE_RULE } from './rules/reference.js';

/** One labelled attack instance, as `storepulse generate` writes it (extra fields are ignored). */
export interface LabelledAttack {
  profile: string;
  instance?: number;
  user_ids: number[];
  sessions: string[];
  /** user_id of each session, same order as `sessions` (optional: see sessionOwners). */
  session_users?: number[];
  start: string;
  end: string;
  events?: number;
  /** 0–1: how hard the instance pushed (generator labels); instances are banded by it. */
  intensity?: number;
  /** Items the instance converges on: a product/category/brand alert naming one while it runs is a hit. */
  targets?: { key_type: string; key: string }[];
  /** Items the instance's events reached (per key type): an item alert on one of them is collateral. */
  touched?: Partial<Record<string, string[]>>;
}

export interface EvaluationLabels {
  attacks: LabelledAttack[];
  /** Distinct human user ids in the data set (the false-positive rate's denominator). */
  human_users?: number;
}

/** The fields scoring reads; stored alerts and stream-2 records both have them. */
export type ScoredAlert = Pick<
  Alert,
  'id' | 'rule' | 'key_type' | 'key' | 'user_id' | 'window_start' | 'window_end' | 'detected_event_time'
>;

/**
 * The users of the labelled data set (the data file the labels belong to). Only alerts on them are
 * scored: a shared data folder holds alerts of other runs on other data, and their users are not the
 * labels' humans.
 */
export interface Population {
  /** Where the users come from, for the report (the data file). */
  source: string;
  users: ReadonlySet<number>;
}

export interface Targets {
  recall: number;
  precision: number;
  humanFpRate: number;
  /** Time-to-detect p95 per profile: burst styles, and the slow ones (SLOW_PROFILES). */
  ttdP95Seconds: number;
  slowTtdP95Seconds: number;
}

const TARGETS: Targets = {
  recall: 0.95,
  precision: 0.95,
  humanFpRate: 0.001,
  ttdP95Seconds: 10,
  slowTtdP95Seconds: 60,
};

/**
 * Without the humans' figures: profiles whose whole point is to look human for minutes, held to the
 * slow time-to-detect target. With them, each attacker is judged by its own figures (BURST_SECONDS).
 */
const SLOW_PROFILES: readonly string[] = ['low-and-slow'];

/**
 * An attacker beyond the humans' p99.9 on a figure over at most this many seconds is a burst: held
 * to the burst time-to-detect target; any other attacker needs minutes to stand out (slow target).
 */
const BURST_SECONDS = 15;

export interface ProfileScore {
  profile: string;
  instances: number;
  attacker_users: number;
  detected: number;
  recall: number | null;
  ttd_p50_s: number | null;
  ttd_p95_s: number | null;
  /** detected / (detected + humans flagged by the rules that flagged this profile's attackers). */
  precision: number | null;
  rules: string[];
  /** The profile's attacker user ids that were flagged, and each one's time to detect (s). */
  detected_users: number[];
  ttd_by_user: Record<number, number>;
  /**
   * Instances caught: any of their users flagged or one of their targets named by an item alert while
   * they ran; per intensity band (labels with `intensity`). `by_item`: caught by an item alert.
   */
  instances_caught: number;
  instances_by_item: number;
  bands: IntensityBand[];
  /** Per instance (label order): caught, and time to detect (s) of the earliest alert that caught it. */
  instance_ttd_s: (number | null)[];
}

/** Instances of a profile within an intensity band [from, to) (the last band includes 1). */
export interface IntensityBand {
  band: string;
  instances: number;
  caught: number;
  recall: number | null;
}

const BANDS: readonly [number, number][] = [
  [0, 0.25],
  [0.25, 0.5],
  [0.5, 0.75],
  [0.75, 1],
];

function bandsOf(instances: readonly LabelledAttack[], caught: readonly boolean[]): IntensityBand[] {
  if (!instances.every((l) => typeof l.intensity === 'number')) return [];
  return BANDS.map(([from, to], b) => {
    const inBand = instances
      .map((l, i) => ({ l, i }))
      .filter(
        ({ l }) =>
          l.intensity! >= from && (l.intensity! < to || (b === BANDS.length - 1 && l.intensity! <= to)),
      );
    const hit = inBand.filter(({ i }) => caught[i]).length;
    return {
      band: `${from}-${to}`,
      instances: inBand.length,
      caught: hit,
      recall: ratio(hit, inBand.length),
    };
  });
}

export interface RuleScore {
  rule: string;
  alerts: number;
  users_flagged: number;
  attackers_flagged: number;
  humans_flagged: number;
  precision: number | null;
}

export interface SystemScore {
  name: string;
  /** Alerts scored: deduplicated, without the left-out ones. */
  alerts: number;
  profiles: ProfileScore[];
  overall: {
    attacker_users: number;
    users_flagged: number;
    attackers_flagged: number;
    humans_flagged: number;
    precision: number | null;
    recall: number | null;
    human_users: number | null;
    human_fp_rate: number | null;
    ttd_p50_s: number | null;
    ttd_p95_s: number | null;
  };
  rules: RuleScore[];
  global: { alerts: number; true: number; false: number; ddos_instances: number; ddos_instances_hit: number };
  /**
   * Product, category and brand alerts: true when they name a target of an instance they overlap in
   * time; `collateral` when they name no target but an item that the events of an instance they
   * overlap reached (a flooded category's products and brands, the popular products of a DDoS);
   * else false.
   */
  items: { alerts: number; true: number; collateral: number; false: number };
  /** Alerts (deduplicated) on users outside the population, and those users; not in any other figure. */
  left_out: { alerts: number; users: number };
  /** Session alerts without user_id whose session is in no label: each counts as one flagged human. */
  unattributed_session_alerts: number;
}

export interface TargetCheck {
  target: string;
  value: number | null;
  /** value must be at least ('>=') or at most ('<=') the limit. */
  op: '>=' | '<=';
  limit: number;
  pass: boolean;
}

/** Nearest-rank percentile (the smallest value with at least q of the values at or below it). */
export function percentile(values: readonly number[], q: number): number | null {
  return nearestRank(
    [...values].sort((a, b) => a - b),
    q,
  );
}

/** Keeps the first alert of each id. */
export function dedupeAlerts<T extends { id: string }>(alerts: Iterable<T>): T[] {
  const seen = new Set<string>();
  const out: T[] = [];
  for (const a of alerts) {
    if (seen.has(a.id)) continue;
    seen.add(a.id);
    out.push(a);
  }
  return out;
}

/** storepulse = every rule but the reference one; reference = `reference-user-rate` alerts. */
export function splitSystems<T extends { rule: string }>(
  alerts: readonly T[],
): { storepulse: T[]; reference: T[] } {
  return {
    storepulse: alerts.filter((a) => a.rule !== REFERENCE_RULE),
    reference: alerts.filter((a) => a.rule === REFERENCE_RULE),
  };
}

const isText = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/**
 * An alert from a JSON record: a stored alert, or a stream-2 record (an alert plus
 * `num_actions_per_watermark`). Returns a reason string when the record is not an alert.
 */
export function parseAlertRecord(value: unknown): ScoredAlert | string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'not a JSON object';
  const r = value as Record<string, unknown>;
  for (const f of ['id', 'rule', 'key_type', 'window_start', 'window_end'] as const) {
    if (!isText(r[f])) return `missing ${f}`;
  }
  if (!(KEY_TYPES as readonly string[]).includes(r.key_type as string))
    return `unknown key_type ${JSON.stringify(r.key_type)}`;
  let userId: number | null = null;
  if (r.user_id !== null && r.user_id !== undefined) {
    userId = typeof r.user_id === 'string' ? Number(r.user_id) : (r.user_id as number);
    if (!Number.isSafeInteger(userId)) return `bad user_id ${JSON.stringify(r.user_id)}`;
  }
  const key = r.key === undefined || r.key === null ? '' : String(r.key as string | number);
  return {
    id: r.id as string,
    rule: r.rule as string,
    key_type: r.key_type as KeyType,
    key,
    user_id: userId,
    window_start: r.window_start as string,
    window_end: r.window_end as string,
    detected_event_time: isText(r.detected_event_time) ? r.detected_event_time : (r.window_end as string),
  };
}

interface Attacker {
  profile: string;
  start: number;
}

/** Who owns each labelled session: `session_users`, else by position when there is one session per user, else the only user. */
function sessionOwners(labels: EvaluationLabels): Map<string, number> {
  const owners = new Map<string, number>();
  for (const l of labels.attacks) {
    l.sessions.forEach((s, i) => {
      const owner =
        l.session_users?.[i] ??
        (l.sessions.length === l.user_ids.length
          ? l.user_ids[i]
          : l.user_ids.length === 1
            ? l.user_ids[0]
            : undefined);
      if (owner !== undefined && !owners.has(s)) owners.set(s, owner);
    });
  }
  return owners;
}

const isItem = (t: string) => (ITEM_KEY_TYPES as readonly string[]).includes(t);

/** The user an alert flags, a `session:<id>` stand-in for an unlabelled session, or null (global, items). */
function flaggedKey(a: ScoredAlert, owners: Map<string, number>): number | string | null {
  if (a.key_type === 'global' || isItem(a.key_type)) return null;
  if (a.user_id !== null) return a.user_id;
  if (a.key_type === 'user') {
    const n = Number(a.key);
    return Number.isSafeInteger(n) ? n : `user:${a.key}`;
  }
  return owners.get(a.key) ?? `session:${a.key}`;
}

const ms = (iso: string) => Date.parse(iso);
const ratio = (a: number, b: number) => (b > 0 ? a / b : null);

/**
 * Scores one system's alerts (deduplicated by id first) against the labels. With a population, alerts
 * on users outside it are left out (counted in `left_out`); without one, every flagged user that is
 * not a labelled attacker counts as a human.
 */
export function scoreSystem(
  name: string,
  labels: EvaluationLabels,
  input: readonly ScoredAlert[],
  population?: Population,
): SystemScore {
  const owners = sessionOwners(labels);
  const leftOutUsers = new Set<number>();
  let leftOutAlerts = 0;
  const alerts: { a: ScoredAlert; key: number | string | null }[] = [];
  for (const a of dedupeAlerts(input)) {
    const key = flaggedKey(a, owners);
    // No user id to test (a session in no label): kept as a flagged human, as without a population,
    // since leaving it out would let a source hide false positives by omitting user_id (storepulse's
    // own alerts always carry it).
    if (typeof key !== 'number' || !population || population.users.has(key)) alerts.push({ a, key });
    else {
      leftOutAlerts++;
      leftOutUsers.add(key);
    }
  }
  const attackers = new Map<number, Attacker>();
  for (const l of labels.attacks) {
    for (const u of l.user_ids)
      if (!attackers.has(u)) attackers.set(u, { profile: l.profile, start: ms(l.start) });
  }
  const bursts = labels.attacks
    .filter((l) => l.profile === 'ddos-burst')
    .map((l) => [ms(l.start), ms(l.end)] as const);

  /** Per flagged key: earliest detection and the rules that flagged it. */
  const flagged = new Map<number | string, { detected: number; rules: Set<string> }>();
  const rules = new Map<string, { alerts: number; keys: Set<number | string> }>();
  const global = { alerts: 0, true: 0, false: 0, ddos_instances: bursts.length, ddos_instances_hit: 0 };
  const hit = new Set<number>();
  const items = { alerts: 0, true: 0, collateral: 0, false: 0 };
  const touched = labels.attacks.map((l) => {
    const m = new Map<string, Set<string>>();
    for (const [type, keys] of Object.entries(l.touched ?? {})) m.set(type, new Set(keys));
    return m;
  });
  const touchedBy = (type: string, key: string, ws: number, we: number) =>
    labels.attacks.some(
      (l, i) => ws <= ms(l.end) && we >= ms(l.start) && touched[i]!.get(type)?.has(key) === true,
    );
  /** Instance index (in labels.attacks) → earliest item alert naming its target while it ran. */
  const instanceHit = new Map<number, number>();
  let unattributed = 0;
  const unattributedKeys = new Set<string>();
  for (const { a, key } of alerts) {
    let r = rules.get(a.rule);
    if (!r) rules.set(a.rule, (r = { alerts: 0, keys: new Set() }));
    r.alerts++;
    if (key === null && isItem(a.key_type)) {
      items.alerts++;
      const [ws, we] = [ms(a.window_start), ms(a.window_end)];
      let named = false;
      labels.attacks.forEach((l, i) => {
        if (!l.targets?.some((x) => x.key_type === a.key_type && x.key === a.key)) return;
        if (ws > ms(l.end) || we < ms(l.start)) return;
        named = true;
        const d = ms(a.detected_event_time);
        const before = instanceHit.get(i);
        if (before === undefined || d < before) instanceHit.set(i, d);
      });
      if (named) items.true++;
      else if (touchedBy(a.key_type, a.key, ws, we)) items.collateral++;
      else items.false++;
      continue;
    }
    if (key === null) {
      global.alerts++;
      const [ws, we] = [ms(a.window_start), ms(a.window_end)];
      let match = false;
      bursts.forEach(([s, e], i) => {
        if (ws <= e && we >= s) {
          match = true;
          hit.add(i);
        }
      });
      if (match) global.true++;
      else global.false++;
      continue;
    }
    if (typeof key === 'string' && key.startsWith('session:') && !unattributedKeys.has(key)) {
      unattributedKeys.add(key);
      unattributed++;
    }
    r.keys.add(key);
    const detected = ms(a.detected_event_time);
    const f = flagged.get(key);
    if (!f) flagged.set(key, { detected, rules: new Set([a.rule]) });
    else {
      if (detected < f.detected) f.detected = detected;
      f.rules.add(a.rule);
    }
  }
  global.ddos_instances_hit = hit.size;

  const isAttacker = (k: number | string) => typeof k === 'number' && attackers.has(k);
  const ttdOf = (k: number) => Math.max(0, (flagged.get(k)!.detected - attackers.get(k)!.start) / 1000);
  const humansFlaggedBy = (ruleSet: Set<string>) => {
    let n = 0;
    for (const [k, f] of flagged) if (!isAttacker(k) && [...f.rules].some((x) => ruleSet.has(x))) n++;
    return n;
  };

  const profileNames = [...new Set(labels.attacks.map((l) => l.profile))];
  const profiles: ProfileScore[] = profileNames.map((profile) => {
    const instances = labels.attacks.filter((l) => l.profile === profile);
    const users = [...new Set(instances.flatMap((l) => l.user_ids))].filter(
      (u) => attackers.get(u)?.profile === profile,
    );
    const detected = users.filter((u) => flagged.has(u));
    const ruleSet = new Set(detected.flatMap((u) => [...flagged.get(u)!.rules]));
    const ttd = detected.map(ttdOf);
    const humans = humansFlaggedBy(ruleSet);
    // Instances: caught by an item alert on a target, or by flagging any of their users.
    const indexed = labels.attacks.map((l, i) => ({ l, i })).filter(({ l }) => l.profile === profile);
    const instanceTtd = indexed.map(({ l, i }) => {
      const times = l.user_ids.filter((u) => flagged.has(u)).map((u) => flagged.get(u)!.detected);
      const byItem = instanceHit.get(i);
      if (byItem !== undefined) times.push(byItem);
      return times.length === 0 ? null : Math.max(0, (Math.min(...times) - ms(l.start)) / 1000);
    });
    const caughtInstances = instanceTtd.map((x) => x !== null);
    return {
      profile,
      instances: instances.length,
      attacker_users: users.length,
      detected: detected.length,
      recall: ratio(detected.length, users.length),
      ttd_p50_s: percentile(ttd, 0.5),
      ttd_p95_s: percentile(ttd, 0.95),
      precision: ratio(detected.length, detected.length + humans),
      rules: [...ruleSet].sort(),
      detected_users: detected,
      ttd_by_user: Object.fromEntries(detected.map((u, i) => [u, ttd[i]!])),
      instances_caught: caughtInstances.filter(Boolean).length,
      instances_by_item: indexed.filter(({ i }) => instanceHit.has(i)).length,
      bands: bandsOf(
        indexed.map(({ l }) => l),
        caughtInstances,
      ),
      instance_ttd_s: instanceTtd,
    };
  });

  const detectedAttackers = [...flagged.keys()].filter(isAttacker) as number[];
  const humansFlagged = flagged.size - detectedAttackers.length;
  const ttdAll = detectedAttackers.map(ttdOf);
  const humanUsers = labels.human_users ?? null;
  return {
    name,
    alerts: alerts.length,
    profiles,
    overall: {
      attacker_users: attackers.size,
      users_flagged: flagged.size,
      attackers_flagged: detectedAttackers.length,
      humans_flagged: humansFlagged,
      precision: ratio(detectedAttackers.length, flagged.size),
      recall: ratio(detectedAttackers.length, attackers.size),
      human_users: humanUsers,
      human_fp_rate: humanUsers === null ? null : ratio(humansFlagged, humanUsers),
      ttd_p50_s: percentile(ttdAll, 0.5),
      ttd_p95_s: percentile(ttdAll, 0.95),
    },
    rules: [...rules]
      .map(([rule, r]) => {
        const attackersFlagged = [...r.keys].filter(isAttacker).length;
        return {
          rule,
          alerts: r.alerts,
          users_flagged: r.keys.size,
          attackers_flagged: attackersFlagged,
          humans_flagged: r.keys.size - attackersFlagged,
          precision: ratio(attackersFlagged, r.keys.size),
        };
      })
      .sort((a, b) => a.rule.localeCompare(b.rule)),
    global,
    items,
    left_out: { alerts: leftOutAlerts, users: leftOutUsers.size },
    unattributed_session_alerts: unattributed,
  };
}

/**
 * The targets: precision, human false-positive rate, and per profile recall and time-to-detect p95
 * (slow profiles to the slow target). With the humans' figures the per-profile ones are
 * checkIntensity's: an attacker no figure tells from people is not a miss, and whether an attacker
 * bursts is read from its own figures.
 */
export function checkTargets(
  s: SystemScore,
  t: Targets = TARGETS,
  { perProfile = true } = {},
): TargetCheck[] {
  const atLeast = (target: string, value: number | null, limit: number): TargetCheck => ({
    target,
    value,
    op: '>=',
    limit,
    pass: value !== null && value >= limit,
  });
  const atMost = (target: string, value: number | null, limit: number): TargetCheck => ({
    target,
    value,
    op: '<=',
    limit,
    pass: value !== null && value <= limit,
  });
  return [
    ...(perProfile ? s.profiles.map((p) => atLeast(`recall ${p.profile}`, p.recall, t.recall)) : []),
    atLeast('precision', s.overall.precision, t.precision),
    atMost('human false-positive rate', s.overall.human_fp_rate, t.humanFpRate),
    // Item alerts flag nobody: their precision is their own (true / named or not, DDoS aside).
    ...(s.items.true + s.items.false > 0
      ? [atLeast('precision of item alerts', ratio(s.items.true, s.items.true + s.items.false), t.precision)]
      : []),
    ...(perProfile ? s.profiles : []).map((p) =>
      atMost(
        `time-to-detect p95 (s) ${p.profile}`,
        p.ttd_p95_s,
        SLOW_PROFILES.includes(p.profile) ? t.slowTtdP95Seconds : t.ttdP95Seconds,
      ),
    ),
  ];
}

/** The keyed rules' figures per user over the labelled data set (core/rules/features.ts). */
export interface Figures {
  features: readonly Feature[];
  figures: ReadonlyMap<number, Float64Array>;
  /** The data set's users (labelled attackers are taken out for the human distributions). */
  users: Iterable<number>;
  /** The key-surge rules' figures per product, category and brand (item-features.ts), watching labels.attacks in order. */
  items?: ItemFigures;
}

/** One item rule's figure for a profile's instances against the humans' per-key distribution. */
export interface ItemFigureBand {
  rule: string;
  figure: string;
  /** Over the keys with human traffic. */
  humans_p99: number | null;
  humans_p999: number | null;
  humans_most: number | null;
  /** Instances whose target went beyond the humans' p99.9, and how many of them were caught. */
  beyond_p999: number;
  caught: number;
  gentlest: number | null;
  gentlest_caught: number | null;
}

/** A profile aimed at items, judged per instance by its targets' figures. */
export interface ItemIntensity {
  instances: number;
  figures: ItemFigureBand[];
  beyond_p999: number;
  caught_beyond_p999: number;
  recall_beyond_p999: number | null;
  /** Instances within the humans' p99.9 on every item rule of their targets' key types. */
  indistinguishable: number;
  /** Intensity of the gentlest instance caught, and of the strongest one missed. */
  gentlest_caught_intensity: number | null;
  strongest_missed_intensity: number | null;
  /** Time to detect (p95, s) of the caught instances beyond p99.9. */
  ttd_p95_s: number | null;
}

/** One figure of a profile against the humans'. */
export interface FigureBand {
  rule: string;
  figure: string;
  humans_p99: number | null;
  humans_p999: number | null;
  /** The profile's attackers beyond the humans' p99.9 on this figure, and how many storepulse caught. */
  beyond_p999: number;
  caught: number;
  /** The gentlest figure among the profile's attackers, and among those caught. */
  gentlest: number | null;
  gentlest_caught: number | null;
}

/**
 * How strong a profile's attackers were, on the figures that define it, against the humans: the
 * target is stated against humans, not against the generator (docs/evaluate.md, "Intensity").
 */
export interface ProfileIntensity {
  profile: string;
  attacker_users: number;
  /** The figures on which at least half the profile's attackers are beyond the humans' p99 (else every figure). */
  figures: FigureBand[];
  /** Attackers beyond the humans' p99.9 on any of those figures; caught of them; recall. */
  beyond_p999: number;
  caught_beyond_p999: number;
  recall_beyond_p999: number | null;
  /** Attackers within the humans' p99.9 on every figure of every rule: these rules cannot tell them from people. */
  indistinguishable: number;
  /** Attackers the reference rule caught and storepulse missed; of them, how many are indistinguishable. */
  reference_only: number;
  reference_only_indistinguishable: number;
  /**
   * Time to detect (p95, s) of the caught attackers that burst (beyond the humans' p99.9 on a figure
   * over ≤ BURST_SECONDS) and of the other caught ones (slow); with how many each.
   */
  burst: { caught: number; ttd_p95_s: number | null };
  slow: { caught: number; ttd_p95_s: number | null };
  /** For profiles whose labels name targets (and item figures were measured): per instance. */
  items: ItemIntensity | null;
}

function itemIntensity(labels: EvaluationLabels, p: ProfileScore, items: ItemFigures): ItemIntensity | null {
  const indexed = labels.attacks.map((l, i) => ({ l, i })).filter(({ l }) => l.profile === p.profile);
  const instances = indexed.map(({ l }) => l);
  if (instances.length === 0 || !instances.every((l) => (l.targets?.length ?? 0) > 0)) return null;
  const types = new Set(instances.flatMap((l) => l.targets!.map((x) => x.key_type)));
  const ks = items.features.map((_, k) => k).filter((k) => types.has(items.features[k]!.key));
  if (ks.length === 0) return null;
  const p999 = ks.map((k) => itemQuantile(items.humans[k]!, 0.999));
  const figureOf = (i: number, k: number) => items.watched[k]![indexed[i]!.i] ?? 0;
  const aims = (i: number, k: number) =>
    instances[i]!.targets!.some((x) => x.key_type === items.features[k]!.key);
  const caught = p.instance_ttd_s.map((x) => x !== null);
  const past = (i: number, j: number) => p999[j] !== null && figureOf(i, ks[j]!) > p999[j]!;
  const idx = instances.map((_, i) => i);
  const strong = idx.filter((i) => ks.some((_, j) => past(i, j)));
  const caughtStrong = strong.filter((i) => caught[i]);
  const intensity = (i: number) => instances[i]!.intensity ?? null;
  const caughtIntensities = idx
    .filter((i) => caught[i])
    .map(intensity)
    .filter((x) => x !== null);
  const missedIntensities = idx
    .filter((i) => !caught[i])
    .map(intensity)
    .filter((x) => x !== null);
  const min = (xs: number[]) => (xs.length === 0 ? null : Math.min(...xs));
  const max = (xs: number[]) => (xs.length === 0 ? null : Math.max(...xs));
  return {
    instances: instances.length,
    figures: ks.map((k, j) => {
      const over = idx.filter((i) => past(i, j));
      return {
        rule: items.features[k]!.rule,
        figure: items.features[k]!.figure,
        humans_p99: itemQuantile(items.humans[k]!, 0.99),
        humans_p999: p999[j]!,
        humans_most: itemQuantile(items.humans[k]!, 1),
        beyond_p999: over.length,
        caught: over.filter((i) => caught[i]).length,
        gentlest: min(idx.filter((i) => aims(i, k)).map((i) => figureOf(i, k))),
        gentlest_caught: min(idx.filter((i) => caught[i] && aims(i, k)).map((i) => figureOf(i, k))),
      };
    }),
    beyond_p999: strong.length,
    caught_beyond_p999: caughtStrong.length,
    recall_beyond_p999: ratio(caughtStrong.length, strong.length),
    indistinguishable: instances.length - strong.length,
    gentlest_caught_intensity: min(caughtIntensities),
    strongest_missed_intensity: max(missedIntensities),
    ttd_p95_s: percentile(
      caughtStrong.map((i) => p.instance_ttd_s[i]!),
      0.95,
    ),
  };
}

/** Per profile: its attackers' figures against the humans' distributions, recall by band, the reference's extra catches. */
export function intensities(
  labels: EvaluationLabels,
  sp: SystemScore,
  ref: SystemScore | null,
  f: Figures,
): ProfileIntensity[] {
  const attackers = new Set(labels.attacks.flatMap((l) => l.user_ids));
  const humans = [...f.users].filter((u) => !attackers.has(u));
  const dists = distributionsOver(f.features, f.figures, humans);
  const p99 = dists.map((d) => d.quantile(0.99));
  const p999 = dists.map((d) => d.quantile(0.999));
  const figureOf = (u: number, k: number) => f.figures.get(u)?.[k] ?? noFigure(f.features[k]!);
  const past = (u: number, k: number, limit: (number | null)[]) =>
    limit[k] !== null && beyond(f.features[k]!, figureOf(u, k), limit[k]!);
  const gentlest = (users: number[], k: number) => {
    if (users.length === 0) return null;
    const values = users.map((u) => figureOf(u, k));
    return f.features[k]!.direction === 'above' ? Math.min(...values) : Math.max(...values);
  };
  return sp.profiles.map((p) => {
    const users = [
      ...new Set(labels.attacks.filter((l) => l.profile === p.profile).flatMap((l) => l.user_ids)),
    ];
    const caught = new Set(p.detected_users);
    let defining = f.features
      .map((_, k) => k)
      .filter((k) => 2 * users.filter((u) => past(u, k, p99)).length >= users.length);
    if (defining.length === 0) defining = f.features.map((_, k) => k);
    const strong = users.filter((u) => defining.some((k) => past(u, k, p999)));
    const weak = (u: number) => !f.features.some((_, k) => past(u, k, p999));
    const refOnly = (ref?.profiles.find((x) => x.profile === p.profile)?.detected_users ?? []).filter(
      (u) => !caught.has(u),
    );
    const bursts = (u: number) =>
      f.features.some((x, k) => x.windowSeconds <= BURST_SECONDS && past(u, k, p999));
    const ttd = (burst: boolean) => {
      const times = p.detected_users.filter((u) => bursts(u) === burst).map((u) => p.ttd_by_user[u]!);
      return { caught: times.length, ttd_p95_s: percentile(times, 0.95) };
    };
    return {
      profile: p.profile,
      attacker_users: users.length,
      figures: defining.map((k) => {
        const over = users.filter((u) => past(u, k, p999));
        return {
          rule: f.features[k]!.rule,
          figure: f.features[k]!.figure,
          humans_p99: p99[k]!,
          humans_p999: p999[k]!,
          beyond_p999: over.length,
          caught: over.filter((u) => caught.has(u)).length,
          gentlest: gentlest(users, k),
          gentlest_caught: gentlest(
            users.filter((u) => caught.has(u)),
            k,
          ),
        };
      }),
      beyond_p999: strong.length,
      caught_beyond_p999: strong.filter((u) => caught.has(u)).length,
      recall_beyond_p999: ratio(strong.filter((u) => caught.has(u)).length, strong.length),
      indistinguishable: users.filter(weak).length,
      reference_only: refOnly.length,
      reference_only_indistinguishable: refOnly.filter(weak).length,
      burst: ttd(true),
      slow: ttd(false),
      items: f.items ? itemIntensity(labels, p, f.items) : null,
    };
  });
}

/** Targets against humans: recall beyond their p99.9, and nothing the reference catches missed unless indistinguishable. */
function checkIntensity(rows: readonly ProfileIntensity[], t: Targets = TARGETS): TargetCheck[] {
  const ttd = (
    target: string,
    x: { caught: number; ttd_p95_s: number | null },
    limit: number,
  ): TargetCheck => ({
    target,
    value: x.ttd_p95_s,
    op: '<=',
    limit,
    // None caught of that kind: no time to hold to a target.
    pass: x.caught === 0 || (x.ttd_p95_s !== null && x.ttd_p95_s <= limit),
  });
  return rows.flatMap((r): TargetCheck[] => [
    ...(r.items
      ? [
          {
            target: `recall beyond humans' p99.9 ${r.profile}, instances by item`,
            value: r.items.recall_beyond_p999,
            op: '>=' as const,
            limit: t.recall,
            pass: r.items.recall_beyond_p999 === null || r.items.recall_beyond_p999 >= t.recall,
          },
          ttd(
            `time-to-detect p95 (s) ${r.profile}, instances by item`,
            { caught: r.items.caught_beyond_p999, ttd_p95_s: r.items.ttd_p95_s },
            t.slowTtdP95Seconds,
          ),
        ]
      : []),
    ttd(`time-to-detect p95 (s) ${r.profile}, bursts`, r.burst, t.ttdP95Seconds),
    ttd(`time-to-detect p95 (s) ${r.profile}, slow`, r.slow, t.slowTtdP95Seconds),
    {
      target: `recall beyond humans' p99.9 ${r.profile}`,
      value: r.recall_beyond_p999,
      op: '>=',
      limit: t.recall,
      // No attacker that strong: nothing to miss.
      pass: r.recall_beyond_p999 === null || r.recall_beyond_p999 >= t.recall,
    },
    {
      target: `caught by the reference only, distinguishable ${r.profile}`,
      value: r.reference_only - r.reference_only_indistinguishable,
      op: '<=',
      limit: 0,
      pass: r.reference_only - r.reference_only_indistinguishable <= 0,
    },
  ]);
}

export interface EvaluationReport {
  targets: Targets;
  human_users: number | null;
  /**
   * Whose alerts were scored: the `users` (their number) of `source`. Null when unknown: then every
   * flagged user that is not a labelled attacker counts as a human.
   */
  population: { source: string; users: number } | null;
  systems: { storepulse: SystemScore; reference: SystemScore | null };
  /** Per profile against the humans' figures; null without the data file's figures. */
  intensity: ProfileIntensity[] | null;
  checks: { storepulse: TargetCheck[]; reference: TargetCheck[] | null };
  /** storepulse meets every target. */
  passed: boolean;
}

/** Both systems side by side; `reference` null when there is no reference column. */
export function evaluate(
  labels: EvaluationLabels,
  storepulse: readonly ScoredAlert[],
  reference: readonly ScoredAlert[] | null,
  {
    population,
    figures,
    targets = TARGETS,
  }: { population?: Population; figures?: Figures; targets?: Targets } = {},
): EvaluationReport {
  const sp = scoreSystem('storepulse', labels, storepulse, population);
  const ref = reference === null ? null : scoreSystem('reference', labels, reference, population);
  const intensity = figures ? intensities(labels, sp, ref, figures) : null;
  const checks = {
    storepulse: [
      ...checkTargets(sp, targets, { perProfile: intensity === null }),
      ...(intensity ? checkIntensity(intensity, targets) : []),
    ],
    reference: ref === null ? null : checkTargets(ref, targets),
  };
  return {
    targets,
    human_users: labels.human_users ?? null,
    population: population ? { source: population.source, users: population.users.size } : null,
    systems: { storepulse: sp, reference: ref },
    intensity,
    checks,
    passed: checks.storepulse.every((c) => c.pass),
  };
}
