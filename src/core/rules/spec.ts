/**
 * Detection rules as configuration: the schema of one rule, and the default set (docs/detection.md).
 * Every rule names its key, window, threshold and severity; the `type` says which signal it counts.
 */
import { z } from 'zod';
import { ITEM_KEY_TYPES } from '../alert.js';

const severity = z.enum(['low', 'medium', 'high']);
const name = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]*$/, 'rule names are lower-case letters, digits and dashes')
  .max(64);

/** How many recent events of one key the ring-based signals look back over (their thresholds' ceiling). */
export const HISTORY_EVENTS = 32;

const common = {
  name,
  enabled: z.boolean().default(true),
  severity: severity.default('medium'),
  /** After an alert, the same rule stays quiet for this key this long (event time), then may fire again. */
  cooldownSeconds: z.number().nonnegative().default(600),
  description: z.string().optional(),
};
const keyed = { key: z.enum(['user', 'session']).default('user') };
/** count ≥ highThreshold raises the severity to high. */
const high = { highThreshold: z.number().int().positive().optional() };
/** A count the key's history can answer: it holds the last HISTORY_EVENTS events. */
const inHistory = (min: number) =>
  z
    .number()
    .int()
    .min(min)
    .max(HISTORY_EVENTS - 1);

const rate = z
  .object({
    ...common,
    ...keyed,
    ...high,
    type: z.literal('rate'),
    windowSeconds: z.number().int().min(1).max(3600),
    /** Fires when the events in the sliding window exceed this. */
    threshold: z.number().int().positive(),
  })
  .strict();

const trafficSpike = z
  .object({
    ...common,
    type: z.literal('traffic-spike'),
    key: z.literal('global').default('global'),
    /** Totals per bucket of this many seconds. */
    windowSeconds: z.number().int().min(1).max(60).default(1),
    /** The baseline is a moving average over about this long (event time). */
    baselineSeconds: z.number().int().min(10).default(300),
    /** Fires when a bucket's total exceeds factor × baseline (and the two floors below). */
    threshold: z.number().positive().default(3),
    /** …and baseline + zScore × sqrt(baseline), so quiet hours' noise does not fire. */
    zScore: z.number().nonnegative().default(8),
    /** …and at least this many events in the bucket. */
    minEvents: z.number().int().positive().default(30),
    /** Buckets of normal traffic before the baseline is trusted. */
    warmupSeconds: z.number().int().nonnegative().default(120),
    /** A spike ends after this many buckets back under the threshold. */
    quietSeconds: z.number().int().min(1).default(10),
    /** Contributors (users, sessions, categories) named in the alert's evidence. */
    top: z.number().int().min(1).max(100).default(5),
  })
  .strict();

const spikeParticipant = z
  .object({
    ...common,
    ...high,
    type: z.literal('spike-participant'),
    key: z.literal('user').default('user'),
    /** The traffic-spike rule whose spikes this rule looks into. */
    spikeRule: name,
    /** Window over which a participant's events are counted. */
    windowSeconds: z.number().int().min(1).max(600).default(10),
    /** Fires when a user new to the site during a spike makes more than this many events in the window. */
    threshold: inHistory(1),
    /** "New": no event in this many seconds before the spike began. */
    newForSeconds: z.number().int().nonnegative().default(60),
  })
  .strict();

const regularTiming = z
  .object({
    ...common,
    ...keyed,
    type: z.literal('regular-timing'),
    /** Gaps between this many + 1 consecutive events are compared. */
    threshold: inHistory(4),
    /** Only gaps this short on average count: the key is active, not idle. */
    windowSeconds: z.number().positive().default(30),
    /** Fires when the gaps' coefficient of variation (std / mean) is at most this. */
    maxVariation: z.number().positive().default(0.3),
  })
  .strict();

const viewSweep = z
  .object({
    ...common,
    ...keyed,
    ...high,
    type: z.literal('view-sweep'),
    windowSeconds: z.number().int().min(1).max(600),
    /** Fires when more than this many distinct products are viewed in the window with nothing but views. */
    threshold: inHistory(1),
    /** …spread over at least this many categories. */
    minCategories: z.number().int().min(1).default(1),
    /**
     * …walking the catalog: at least this many steps between consecutive views of one category go the
     * same way through product ids (net of steps the other way). A shopper's views wander; a crawler's
     * follow the listing order. 0 turns the test off.
     */
    minOrdered: inHistory(0).default(7),
  })
  .strict();

const cartStuffing = z
  .object({
    ...common,
    ...keyed,
    ...high,
    type: z.literal('cart-stuffing'),
    windowSeconds: z.number().int().min(1).max(600),
    /** Fires when cart adds in the window exceed this and none of the window's events is a purchase. */
    threshold: inHistory(1),
  })
  .strict();

const keySurge = z
  .object({
    ...common,
    type: z.literal('key-surge'),
    /** Where many users' traffic meets: a product, a category (its category_id) or a brand. */
    key: z.enum(ITEM_KEY_TYPES),
    /** Which event types count. */
    events: z
      .array(z.enum(['view', 'cart', 'remove_from_cart', 'purchase']))
      .min(1)
      .default(['view']),
    /** The recent count: events of the key weighted by exp(-age / windowSeconds). */
    windowSeconds: z.number().int().min(5).max(3600).default(60),
    /** The key's own baseline: the same, per windowSeconds, over about this long (event time). */
    baselineSeconds: z.number().int().min(60).max(86_400).default(3600),
    /** Fires when the recent count exceeds factor × the key's baseline (and the two floors below). */
    threshold: z.number().positive().default(4),
    /** …and baseline + zScore × sqrt(baseline), so a busy key's noise does not fire. */
    zScore: z.number().nonnegative().default(6),
    /**
     * …and this many events: the floor every key must pass, set from the store's distribution of
     * per-key figures (storepulse calibrate), since most keys have next to no baseline.
     */
    minEvents: z.number().positive(),
    /** Event time after the rule's first event before it fires, so baselines exist. */
    warmupSeconds: z.number().int().nonnegative().default(900),
  })
  .strict();

export const ruleSpecSchema = z.discriminatedUnion('type', [
  keySurge,
  rate,
  trafficSpike,
  spikeParticipant,
  regularTiming,
  viewSweep,
  cartStuffing,
]);
export type RuleSpec = z.infer<typeof ruleSpecSchema>;
export type RuleSpecInput = z.input<typeof ruleSpecSchema>;

/**
 * The default set. Windows say what each rule looks at; thresholds come from people, not from attacks:
 * `storepulse calibrate` over 2,000,000 events of the generator's humans alone (seed 100, no attacks;
 * the humans reproduce the REES46 profile, fast shoppers, comparison shoppers and bulk buyers
 * included) with a false-positive budget of 0.02 % of users for the keyed rules together
 * (docs/detection.md, "Calibration"; bench/RESULTS.md, "Detection quality"). A store should
 * calibrate on its own traffic. Spikes are relative to their own live baseline and not calibrated.
 */
export const DEFAULT_RULES: RuleSpecInput[] = [
  {
    name: 'user-rate',
    type: 'rate',
    key: 'user',
    windowSeconds: 10,
    threshold: 16,
    highThreshold: 32,
    description: 'a user faster than nearly every human shopper',
  },
  {
    name: 'session-rate',
    type: 'rate',
    key: 'session',
    windowSeconds: 60,
    threshold: 22,
    highThreshold: 44,
    description: 'one session keeping up a pace few people hold for a minute',
  },
  {
    name: 'traffic-spike',
    type: 'traffic-spike',
    severity: 'high',
    // One alert per spike already; the cooldown only keeps a flapping spike from paging every minute.
    cooldownSeconds: 60,
    description: 'site-wide events per second far above the rolling baseline (DDoS)',
  },
  {
    name: 'spike-participant',
    type: 'spike-participant',
    spikeRule: 'traffic-spike',
    windowSeconds: 10,
    threshold: 5,
    severity: 'high',
    description: 'a user who arrived with a traffic spike and is driving it',
  },
  {
    name: 'machine-timing',
    type: 'regular-timing',
    key: 'user',
    threshold: 24,
    windowSeconds: 30,
    maxVariation: 0.2525,
    severity: 'high',
    description: 'inter-arrival times too regular for a human (low-and-slow bots)',
  },
  {
    name: 'view-sweep',
    type: 'view-sweep',
    key: 'user',
    windowSeconds: 15,
    // No person walks the catalog 7 steps in order within 15 s: the walk decides, not the count.
    threshold: 1,
    minOrdered: 7,
    severity: 'high',
    description: 'views only, products walked in catalog order (scrapers)',
  },
  {
    name: 'slow-sweep',
    type: 'view-sweep',
    key: 'user',
    windowSeconds: 60,
    threshold: 12,
    minOrdered: 7,
    severity: 'high',
    description: 'views only, many products walked in catalog order over a minute (slower scrapers)',
  },
  {
    name: 'cart-stuffing',
    type: 'cart-stuffing',
    key: 'user',
    windowSeconds: 10,
    threshold: 6,
    severity: 'high',
    description: 'cart adds at machine speed with no purchase (inventory hoarding)',
  },
  {
    name: 'slow-cart-stuffing',
    type: 'cart-stuffing',
    key: 'user',
    windowSeconds: 60,
    threshold: 10,
    severity: 'high',
    description: 'cart adds held up for a minute with no purchase (hoarding at a human pace)',
  },
  {
    name: 'low-and-slow',
    type: 'rate',
    key: 'user',
    windowSeconds: 300,
    threshold: 73,
    description: 'volume over minutes that no single burst shows',
  },
  // Item keys: the floors (minEvents) are the most any key reached in the same 2M events of humans
  // (storepulse calibrate at a budget under one key: ~7,900 products, ~580 brands, ~590 categories), so
  // the humans there flag none; a store's own month is the better source.
  {
    name: 'product-view-surge',
    type: 'key-surge',
    key: 'product',
    events: ['view'],
    windowSeconds: 60,
    minEvents: 24,
    description: 'views of one product far above its own level (skewing, a flood aimed at one product)',
  },
  {
    name: 'product-cart-surge',
    type: 'key-surge',
    key: 'product',
    events: ['cart'],
    windowSeconds: 300,
    minEvents: 6,
    severity: 'high',
    description: 'cart adds on one product far above its own level (denial of inventory, many users or one)',
  },
  {
    name: 'brand-view-surge',
    type: 'key-surge',
    key: 'brand',
    events: ['view'],
    windowSeconds: 60,
    minEvents: 26,
    description: "views of one brand's products far above its own level (skewing a brand)",
  },
  {
    name: 'category-view-surge',
    type: 'key-surge',
    key: 'category',
    events: ['view'],
    windowSeconds: 60,
    minEvents: 29,
    description: 'views in one category far above its own level (a category flooded or swept by many users)',
  },
];

/** Cross-rule checks zod cannot express: unique names, spike-participant pointing at a spike rule. */
export function ruleSetProblems(rules: readonly RuleSpec[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const r of rules) {
    if (seen.has(r.name)) problems.push(`rule name ${JSON.stringify(r.name)} is used twice`);
    seen.add(r.name);
  }
  for (const r of rules) {
    if (r.type !== 'spike-participant') continue;
    const target = rules.find((x) => x.name === r.spikeRule);
    if (!target || target.type !== 'traffic-spike')
      problems.push(`rule ${r.name}: spikeRule ${JSON.stringify(r.spikeRule)} is not a traffic-spike rule`);
    else if (r.enabled && !target.enabled)
      problems.push(`rule ${r.name}: its spike rule ${target.name} is disabled`);
  }
  return problems;
}
