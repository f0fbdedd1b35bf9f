/**
 * Synthetic REES46-shaped clickstream with optional attack injection: the public entry points.
 * Same options and seed ⇒ the same rows, byte for byte.
 */
import { createWriteStream, mkdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip, constants as zlibConstants } from 'node:zlib';
import { StorepulseError, ioError } from '../../core/errors.js';
import { type ClickEvent, csvField } from '../../core/event.js';
import { formatEventTime, isoUtc } from '../../core/time.js';
import {
  ATTACK_PROFILES,
  type AttackLabel,
  type AttackPlan,
  type AttackProfile,
  defaultAttackRepeats,
  MIN_ATTACK_SPAN,
  planAttacks,
} from './attacks.js';
import { buildCatalog, type Catalog } from './catalog.js';
import { eventsBetween, timeForEvents } from './clock.js';
import { Engine } from './engine.js';
import { HumanTraffic } from './humans.js';
import { DEFAULT_EVENTS_PER_DAY, DEFAULT_START, DUPLICATE_SHARE } from './profile.js';
import { CsvEncoder } from './csv.js';
import { HOUR, TYPE_NAMES, uuidOf } from './session.js';

export type { AttackLabel, AttackProfile } from './attacks.js';
export { ATTACK_PROFILES, parseAttackList } from './attacks.js';

export interface GenerateOptions {
  /** Rows to produce, attack events and duplicates included (exact). */
  events: number;
  seed: number;
  /** First day, `YYYY-MM-DD` (UTC); default 2019-10-01. */
  start?: string;
  attacks?: AttackProfile[];
  /**
   * Instances of each attack profile, each in its own place in time (default
   * max(1, ⌊events / 50,000⌋)); capped so they fit the time range, and fewer DDoS bursts run when
   * their shared volume cap (2.5 % of rows) would be exceeded.
   */
  attackRepeats?: number;
  /**
   * Attack intensities drawn, [min, max] within [0, 1]: 1 is each profile's strongest (machine
   * speed), 0 its gentlest (where fast humans are); default the whole range, spread evenly over the
   * instances of each profile (docs/generator.md, "Attacks").
   */
  attackIntensity?: readonly [number, number];
  /** Average events per day of human traffic (default 1,400,000, the real density); sets the time span. */
  eventsPerDay?: number;
}

export interface GenerateSummary {
  rows: number;
  duplicates: number;
  attackEvents: number;
  /** First and last event time written, ISO-8601 UTC. */
  first: string;
  last: string;
  labels: AttackLabel[];
  /** Distinct human user ids and human sessions in the rows written. */
  humanUsers: number;
  humanSessions: number;
  out: string;
  labelsPath?: string;
  seconds: number;
}

/** What a labels file holds. */
export interface LabelsFile {
  generator: 'storepulse generate';
  seed: number;
  events: number;
  start: string;
  eventsPerDay: number;
  first: string;
  last: string;
  /** Instances per profile asked for (the labels show how many ran). */
  attackRepeats: number;
  /** The intensity range asked for; each label has its instance's own. */
  attackIntensity: readonly [number, number];
  /** Distinct human user ids (users in no label) and human sessions in the file. */
  human_users: number;
  human_sessions: number;
  attacks: AttackLabel[];
}

/**
 * Warm-up traffic before the data set starts, so the first hours have sessions in flight: 8 h back for
 * sessions with idle pauses (at most 6 h), 4 h back for all others.
 */
const WARMUP = 8 * HOUR;
const WARMUP_FULL = 4 * HOUR;

interface Run {
  catalog: Catalog;
  plan: AttackPlan;
  engine: Engine;
  startMs: number;
  perDay: number;
}

function parseStart(start: string | undefined): number {
  const s = start ?? DEFAULT_START;
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  const t = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : NaN;
  if (!m || Number.isNaN(t) || new Date(t).toISOString().slice(0, 10) !== s) {
    throw new StorepulseError('USAGE', `start must be a date like 2019-10-01, got ${JSON.stringify(s)}`);
  }
  return t;
}

function validate(opts: GenerateOptions): void {
  if (!Number.isSafeInteger(opts.events) || opts.events < 1) {
    throw new StorepulseError('USAGE', `events must be a whole number >= 1, got ${opts.events}`);
  }
  if (!Number.isSafeInteger(opts.seed) || opts.seed < 0) {
    throw new StorepulseError('USAGE', `seed must be a whole number >= 0, got ${opts.seed}`);
  }
  const perDay = opts.eventsPerDay ?? DEFAULT_EVENTS_PER_DAY;
  if (!Number.isFinite(perDay) || perDay < 1) {
    throw new StorepulseError('USAGE', `eventsPerDay must be >= 1, got ${perDay}`);
  }
  const repeats = opts.attackRepeats;
  if (repeats !== undefined && (!Number.isSafeInteger(repeats) || repeats < 1)) {
    throw new StorepulseError('USAGE', `attackRepeats must be a whole number >= 1, got ${repeats}`);
  }
  const i = opts.attackIntensity;
  if (i && !(i[0] >= 0 && i[0] <= i[1] && i[1] <= 1)) {
    throw new StorepulseError(
      'USAGE',
      `attack intensity must be MIN-MAX with 0 <= MIN <= MAX <= 1, got ${i.join('-')}`,
    );
  }
  for (const a of opts.attacks ?? []) {
    if (!ATTACK_PROFILES.includes(a)) {
      throw new StorepulseError(
        'USAGE',
        `unknown attack profile ${JSON.stringify(a)}; known: ${ATTACK_PROFILES.join(', ')}`,
      );
    }
  }
}

function attackRepeatsOf(opts: GenerateOptions): number {
  return opts.attackRepeats ?? defaultAttackRepeats(opts.events);
}

/** Resolves the time span and the attack plan: the part of a run that does not depend on human traffic. */
function prepare(opts: GenerateOptions): {
  catalog: Catalog;
  plan: AttackPlan;
  startMs: number;
  perDay: number;
} {
  validate(opts);
  const startMs = parseStart(opts.start);
  const catalog = buildCatalog(opts.seed, opts.events);
  const profiles = [...new Set(opts.attacks ?? [])];
  let perDay = opts.eventsPerDay ?? DEFAULT_EVENTS_PER_DAY;
  let plan: AttackPlan = { labels: [], sessions: [], events: 0 };
  if (profiles.length === 0) return { catalog, plan, startMs, perDay };
  const base = perDay;
  let human = opts.events;
  // Twice: the span depends on how many rows are left for humans once the attacks are planned.
  for (let round = 0; round < 2; round++) {
    const expected = Math.max(1, human * (1 - DUPLICATE_SHARE));
    perDay = base;
    let end = timeForEvents(startMs, expected, perDay);
    if (end - startMs < MIN_ATTACK_SPAN) {
      // Too few events for the attacks to fit at this density: spread them over the minimum span.
      perDay = (base * expected) / eventsBetween(startMs, startMs + MIN_ATTACK_SPAN, base);
      end = startMs + MIN_ATTACK_SPAN;
    }
    plan = planAttacks(profiles, catalog, opts.seed, {
      from: startMs,
      to: end,
      perDay,
      events: opts.events,
      repeats: attackRepeatsOf(opts),
      intensity: opts.attackIntensity,
    });
    human = Math.max(1, opts.events - plan.events);
  }
  return { catalog, plan, startMs, perDay };
}

function createRun(opts: GenerateOptions): Run {
  const { catalog, plan, startMs, perDay } = prepare(opts);
  const humans = new HumanTraffic(catalog, opts.seed, {
    from: startMs - WARMUP,
    skipBefore: startMs - WARMUP_FULL,
    perDay,
  });
  const engine = new Engine(humans, plan.sessions, plan.labels.length, startMs, opts.events, opts.seed);
  return { catalog, plan, engine, startMs, perDay };
}

function currentEvent(run: Run): ClickEvent {
  const { catalog, engine } = run;
  const p = engine.product;
  const category = catalog.categories[catalog.category[p]!]!;
  const b = catalog.brand[p]!;
  return {
    event_time: engine.time,
    event_type: TYPE_NAMES[engine.type]!,
    product_id: catalog.productId[p]!,
    category_id: category.id,
    category_code: category.code,
    brand: b < 0 ? null : catalog.brands[b]!,
    price: catalog.cents[p]! / 100,
    user_id: engine.session.userId,
    user_session: engine.nullSession ? null : uuidOf(engine.session),
  };
}

/** All rows in event-time order: human traffic, attacks and duplicates. Bad options throw right away. */
export function generateEvents(opts: GenerateOptions): Generator<ClickEvent> {
  const run = createRun(opts);
  return (function* () {
    while (run.engine.step()) yield currentEvent(run);
  })();
}

/** The attacks `generateEvents` / `generateToFile` inject for these options (planned, without generating). */
export function generateLabels(opts: GenerateOptions): AttackLabel[] {
  return prepare(opts).plan.labels;
}

/** One dataset CSV row (no newline); text fields are quoted only when they need it. */
export function formatCsvRow(e: ClickEvent): string {
  return [
    formatEventTime(e.event_time),
    e.event_type,
    String(e.product_id),
    csvField(e.category_id),
    csvField(e.category_code ?? ''),
    csvField(e.brand ?? ''),
    e.price.toFixed(2),
    String(e.user_id),
    csvField(e.user_session ?? ''),
  ].join(',');
}

function labelsFrom(run: Run): AttackLabel[] {
  // The plan, with counts and bounds as actually written (identical unless the rows ran out first).
  return run.plan.labels.map((label, i) => {
    const c = run.engine.attackCounts[i]!;
    if (c.events === label.events) return label;
    return {
      ...label,
      events: c.events,
      start: c.events > 0 ? isoUtc(c.first) : label.start,
      end: c.events > 0 ? isoUtc(c.last) : label.start,
    };
  });
}

/** Writes the data set as `.csv` or `.csv.gz` (by extension) and, with attacks, its labels file. */
export async function generateToFile(
  opts: GenerateOptions & { out: string; labelsPath?: string; onProgress?: (rows: number) => void },
): Promise<GenerateSummary> {
  const started = performance.now();
  const run = createRun(opts);
  const { engine, catalog } = run;
  let first = NaN;
  let lastTime = NaN;

  function* chunks(): Generator<Buffer> {
    const csv = new CsvEncoder(catalog);
    while (engine.step()) {
      if (Number.isNaN(first)) first = engine.time;
      csv.row(engine.time, engine.type, engine.product, engine.session, engine.nullSession);
      if (csv.full) {
        yield csv.take();
        opts.onProgress?.(engine.rows);
      }
    }
    lastTime = engine.time;
    if (csv.size > 0) yield csv.take();
    opts.onProgress?.(engine.rows);
  }

  const out = opts.out;
  const gz = /\.gz$/i.test(out);
  try {
    mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
    const file = createWriteStream(out);
    if (gz)
      await pipeline(
        Readable.from(chunks(), { objectMode: false }),
        createGzip({ level: zlibConstants.Z_BEST_SPEED, chunkSize: 1 << 18 }),
        file,
      );
    else await pipeline(Readable.from(chunks(), { objectMode: false }), file);
  } catch (err) {
    if (err instanceof StorepulseError) throw err;
    throw ioError(`cannot write ${out}`, err);
  }

  const labels = labelsFrom(run);
  const summary: GenerateSummary = {
    rows: engine.rows,
    duplicates: engine.duplicates,
    attackEvents: engine.attackEvents,
    first: isoUtc(first),
    last: isoUtc(lastTime),
    labels,
    humanUsers: engine.humanUsers,
    humanSessions: engine.humanSessions,
    out,
    seconds: 0,
  };
  const wantLabels = opts.labelsPath !== undefined || (opts.attacks?.length ?? 0) > 0;
  if (wantLabels) {
    const labelsPath = opts.labelsPath ?? `${out}.labels.json`;
    const file: LabelsFile = {
      generator: 'storepulse generate',
      seed: opts.seed,
      events: opts.events,
      start: opts.start ?? DEFAULT_START,
      eventsPerDay: run.perDay,
      first: summary.first,
      last: summary.last,
      attackRepeats: attackRepeatsOf(opts),
      attackIntensity: opts.attackIntensity ?? [0, 1],
      human_users: summary.humanUsers,
      human_sessions: summary.humanSessions,
      attacks: labels,
    };
    try {
      mkdirSync(path.dirname(path.resolve(labelsPath)), { recursive: true });
      await writeFile(labelsPath, `${JSON.stringify(file, null, 2)}\n`);
    } catch (err) {
      throw ioError(`cannot write ${labelsPath}`, err);
    }
    summary.labelsPath = labelsPath;
  }
  summary.seconds = (performance.now() - started) / 1000;
  return summary;
}
