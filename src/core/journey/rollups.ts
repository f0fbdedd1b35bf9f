/**
 * Live shopping-journey rollups, kept by the processor beside detection (docs/journey.md).
 *
 * Events are added in event-time order as the processor releases them under its watermark. Each goes
 * into the minute bucket of its time, in the layer of people or of flagged traffic (a user or session
 * that detection has flagged by then). A session (a `user_session` id) ends when it has been quiet for
 * the session gap (30 minutes of event time, Google Analytics' rule; a later event of the same id
 * starts a new one) and is counted then, in the bucket of its last event: funnel, cart abandonment,
 * length. A minute is final once the watermark is a session gap past its end (no session
 * can end in it any more), and an hour the same way.
 *
 * The store gets every minute whole, written again while it changes (takeChanges), and an hour once,
 * when final; until then the query reads an hour as its minutes. Each final minute is merged into its
 * hour here as it goes, but hours are not checkpointed (a month of products would make every
 * checkpoint heavy): an hour begun before a restart is merged from its minutes in the store instead,
 * where they all are once it is final (pipeline/journey-feed.ts). The state
 * is checkpointed with the processor's (snapshot/restore): a run restarted from an older checkpoint
 * recomputes the same buckets and overwrites them, so figures are exact across restarts. Events for a
 * minute already final are counted as `tooLate`, not applied.
 */
import type { Alert } from '../alert.js';
import type { ClickEvent } from '../event.js';
import { cents, type ClosedSession, Layer, type LayerJSON } from './layer.js';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export type Grain = 'minute' | 'hour';

export class Bucket {
  human = new Layer();
  flagged: Layer | undefined;

  constructor(
    readonly grain: Grain,
    readonly start: number,
  ) {}

  layer(flagged: boolean): Layer {
    if (!flagged) return this.human;
    return (this.flagged ??= new Layer());
  }

  merge(o: Bucket): void {
    this.human.merge(o.human);
    if (o.flagged) this.layer(true).merge(o.flagged);
  }

  toJSON(topK?: number): BucketJSON {
    return { h: this.human.toJSON(topK), ...(this.flagged && { f: this.flagged.toJSON(topK) }) };
  }

  static fromJSON(grain: Grain, start: number, j: BucketJSON): Bucket {
    const b = new Bucket(grain, start);
    b.human = Layer.fromJSON(j.h);
    if (j.f) b.flagged = Layer.fromJSON(j.f);
    return b;
  }
}

export interface BucketJSON {
  h: LayerJSON;
  f?: LayerJSON;
}

/** The row of a final hour, its products cut to the top `topK` per measure. */
export function hourRow(hour: Bucket, topK: number): StoredBucket {
  return { grain: 'hour', start: hour.start, final: true, data: hour.toJSON(topK) };
}

/** An hour merged from its (final) minutes as the store holds them. */
export function hourOfMinutes(start: number, minutes: readonly StoredBucket[]): Bucket {
  const hour = new Bucket('hour', start);
  for (const m of minutes) hour.merge(Bucket.fromJSON('minute', m.start, m.data));
  return hour;
}

/** An hour that became final: its minutes merged, or none when some were merged before a restart. */
export interface FinalHour {
  start: number;
  bucket?: Bucket;
}

/** A bucket as the store keeps it: the whole of it, final or still changing. */
export interface StoredBucket {
  grain: Grain;
  start: number;
  final: boolean;
  data: BucketJSON;
}

/** Figures about the rollups themselves, stored beside the buckets. */
export interface RollupStats {
  /** Events added (with a time). */
  events: number;
  /** Events counted in the flagged layer. */
  flaggedEvents: number;
  /** Events for a minute already final: not applied. */
  tooLate: number;
  /** Sessions ending in a minute already final (their events were counted): not applied. */
  sessionsTooLate: number;
  flaggedUsers: number;
  flaggedSessions: number;
  openSessions: number;
  /** The newest event time added (epoch ms); null before the first. */
  newest: number | null;
}

export interface RollupOptions {
  timeOf: (e: ClickEvent) => number | undefined;
  /** A session ends after this much event time without an event (ms). */
  sessionGapMs: number;
}

interface OpenSession extends ClosedSession {
  user: number;
  /** The minute under which it waits to end (`Rollups.ending`). */
  queued: number;
}

/** Checkpointed state (see the module comment), a plain JSON value. */
export interface RollupsSnapshot {
  v: 1;
  m: [number, BucketJSON][];
  /** Hours with minutes, not final yet. */
  h: number[];
  s: [string, OpenSession][];
  e: [number, string[]][];
  fu: number[];
  fs: string[];
  wm: number | null;
  nw: number | null;
  st: Pick<RollupStats, 'events' | 'flaggedEvents' | 'tooLate' | 'sessionsTooLate'>;
}

export class Rollups {
  private minutes = new Map<number, Bucket>();
  /** Hours with a final minute, not final yet: their minutes merged, or null when some are in the store only. */
  private hours = new Map<number, Bucket | null>();
  private sessions = new Map<string, OpenSession>();
  /**
   * Session ids by the minute of their last event, to end them without scanning every session: a
   * session can end once the watermark is a gap past that minute. A session that moves on to a later
   * minute is queued again there, and skipped where it was queued before.
   */
  private ending = new Map<number, string[]>();
  private flaggedUsers = new Set<number>();
  private flaggedSessions = new Set<string>();
  private watermark = -Infinity;
  private newest = -Infinity;
  private changedMinutes = new Set<number>();
  /** Final minutes and hours waiting for takeChanges. */
  private finals: StoredBucket[] = [];
  private finalHours: FinalHour[] = [];
  private counters = { events: 0, flaggedEvents: 0, tooLate: 0, sessionsTooLate: 0 };
  private last: Bucket | undefined;

  constructor(private readonly opts: RollupOptions) {}

  /** Users and sessions named by these alerts count as flagged traffic from now on. */
  flag(alerts: readonly Alert[]): void {
    for (const a of alerts) {
      if (a.user_id !== null) this.flaggedUsers.add(a.user_id);
      if (a.key_type === 'session') this.flaggedSessions.add(a.key);
    }
  }

  add(events: readonly ClickEvent[]): void {
    const gap = this.opts.sessionGapMs;
    for (const e of events) {
      const t = this.opts.timeOf(e);
      if (t === undefined) continue;
      const start = minuteOf(t);
      let bucket = this.last;
      if (bucket?.start !== start) {
        bucket = this.minutes.get(start);
        if (!bucket) {
          if (start + MINUTE_MS + gap <= this.watermark) {
            this.counters.tooLate++;
            continue;
          }
          bucket = new Bucket('minute', start);
          this.minutes.set(start, bucket);
        }
        this.last = bucket;
        this.changedMinutes.add(start);
      }
      this.counters.events++;
      if (t > this.newest) this.newest = t;
      const flagged = this.isFlagged(e.user_id, e.user_session);
      if (flagged) this.counters.flaggedEvents++;
      bucket.layer(flagged).addEvent(e);
      if (e.user_session) this.track(e, t);
    }
  }

  /** Ends the sessions quiet for the session gap and makes final the buckets no session can end in. */
  advance(watermark: number): void {
    if (watermark <= this.watermark) return;
    this.watermark = watermark;
    const gap = this.opts.sessionGapMs;
    for (const [minute, ids] of this.ending) {
      if (minute + MINUTE_MS + gap > watermark) continue;
      for (const id of ids) {
        const s = this.sessions.get(id);
        if (s?.queued === minute) this.end(id, s);
      }
      this.ending.delete(minute);
    }
    for (const [start, b] of this.minutes) {
      if (start + MINUTE_MS + gap <= watermark) this.finishMinute(start, b);
    }
    for (const start of this.hours.keys()) {
      if (start + HOUR_MS + gap <= watermark) this.finishHour(start);
    }
  }

  /** End of input: every session ends and every bucket is final. */
  drain(): void {
    for (const [id, s] of this.sessions) this.end(id, s);
    this.ending.clear();
    for (const [start, b] of this.minutes) this.finishMinute(start, b);
    for (const start of this.hours.keys()) this.finishHour(start);
    this.watermark = Infinity;
  }

  /**
   * The minutes changed since the last call, whole, for the store (open ones, then final ones), and
   * the hours that became final: every minute of theirs is final and among these or earlier ones.
   */
  takeChanges(): { minutes: StoredBucket[]; finalHours: FinalHour[] } {
    const minutes: StoredBucket[] = [];
    for (const start of this.changedMinutes) {
      const b = this.minutes.get(start)!;
      minutes.push({ grain: 'minute', start, final: false, data: b.toJSON() });
    }
    this.changedMinutes.clear();
    // The next event marks its minute changed again.
    this.last = undefined;
    minutes.push(...this.finals.splice(0));
    return { minutes, finalHours: this.finalHours.splice(0) };
  }

  stats(): RollupStats {
    return {
      ...this.counters,
      flaggedUsers: this.flaggedUsers.size,
      flaggedSessions: this.flaggedSessions.size,
      openSessions: this.sessions.size,
      newest: Number.isFinite(this.newest) ? this.newest : null,
    };
  }

  /**
   * The state as a plain JSON value. It shares arrays with these rollups (copying them would double
   * the work of a checkpoint): serialise it before they change, as the processor's checkpoint does.
   */
  snapshot(): RollupsSnapshot {
    return {
      v: 1,
      m: [...this.minutes].map(([k, b]) => [k, b.toJSON()]),
      h: [...this.hours.keys()],
      s: [...this.sessions],
      e: [...this.ending],
      fu: [...this.flaggedUsers],
      fs: [...this.flaggedSessions],
      wm: Number.isFinite(this.watermark) ? this.watermark : null,
      nw: Number.isFinite(this.newest) ? this.newest : null,
      st: { ...this.counters },
    };
  }

  /** Restores a snapshot into fresh rollups. */
  restore(s: RollupsSnapshot): void {
    this.minutes = new Map(s.m.map(([k, j]) => [k, Bucket.fromJSON('minute', k, j)]));
    this.hours = new Map(s.h.map((start) => [start, null]));
    this.sessions = new Map(s.s);
    this.ending = new Map(s.e);
    this.flaggedUsers = new Set(s.fu);
    this.flaggedSessions = new Set(s.fs);
    this.watermark = s.wm ?? -Infinity;
    this.newest = s.nw ?? -Infinity;
    this.counters = { ...s.st };
    this.last = undefined;
  }

  private finishMinute(start: number, b: Bucket): void {
    this.finals.push({ grain: 'minute', start, final: true, data: b.toJSON() });
    this.changedMinutes.delete(start);
    this.minutes.delete(start);
    if (this.last === b) this.last = undefined;
    const h = hourOf(start);
    const hour = this.hours.get(h);
    if (hour) hour.merge(b);
    else if (hour === undefined) {
      const fresh = new Bucket('hour', h);
      fresh.merge(b);
      this.hours.set(h, fresh);
    }
  }

  private finishHour(start: number): void {
    this.finalHours.push({ start, bucket: this.hours.get(start) ?? undefined });
    this.hours.delete(start);
  }

  private queue(id: string, s: OpenSession): void {
    const list = this.ending.get(s.queued);
    if (list) list.push(id);
    else this.ending.set(s.queued, [id]);
  }

  private isFlagged(user: number, session: string | null): boolean {
    if (this.flaggedUsers.has(user)) return true;
    return session !== null && this.flaggedSessions.size > 0 && this.flaggedSessions.has(session);
  }

  private track(e: ClickEvent, t: number): void {
    const id = e.user_session!;
    let s = this.sessions.get(id);
    // A session quiet for the gap has ended, whether or not the watermark has said so yet: the next
    // event of the same id starts a new one (as sql/session_funnel.sql splits them).
    if (s && t - s.last >= this.opts.sessionGapMs) {
      this.end(id, s);
      s = undefined;
    }
    if (!s) {
      s = {
        user: e.user_id,
        first: t,
        last: t,
        events: 0,
        viewed: false,
        carts: [],
        purchased: false,
        queued: NaN,
      };
      this.sessions.set(id, s);
    }
    s.events++;
    if (t < s.first) s.first = t;
    if (t > s.last) s.last = t;
    const minute = minuteOf(s.last);
    if (s.queued !== minute) {
      s.queued = minute;
      this.queue(id, s);
    }
    if (e.event_type === 'view') s.viewed = true;
    else if (e.event_type === 'cart') s.carts.push([e.product_id, cents(e.price)]);
    else if (e.event_type === 'purchase') s.purchased = true;
  }

  private end(id: string, s: OpenSession): void {
    this.sessions.delete(id);
    const start = minuteOf(s.last);
    const bucket = this.minutes.get(start);
    if (!bucket) {
      this.counters.sessionsTooLate++;
      return;
    }
    bucket.layer(this.isFlagged(s.user, id)).addSession(s);
    this.changedMinutes.add(start);
  }
}

const floorTo = (size: number) => (t: number) => t - (((t % size) + size) % size);
const minuteOf = floorTo(MINUTE_MS);
export const hourOf = floorTo(HOUR_MS);
