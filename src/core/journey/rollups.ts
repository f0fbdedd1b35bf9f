/**
 * Live shopping-journey rollups, kept by the processor beside detection (docs/journey.md).
 *
 * Events are added in event-time order as the processor releases them under its watermark. Each goes
 * into the minute bucket of its time, in the layer of people or of flagged traffic (a user or session
 * that detection has flagged by then). A session (a `user_session` id) ends when it has been quiet for
 * the session gap (30 minutes of event time, Google Analytics' rule; a later event of the same id
 * starts a new one) and is counted then, in the bucket of its last event: funnel, cart abandonment,
 * length. A minute is final once the watermark is a session gap past its end (no session
 * can end in it any more); it is then merged into its hour, and an hour is final the same way.
 *
 * The state is checkpointed with the processor's (snapshot/restore), and what the store holds is
 * always the whole of a bucket, written again when it changes (takeChanges): a run restarted from an
 * older checkpoint recomputes the same buckets and overwrites them, so figures are exact across
 * restarts. Events for a minute already final are counted as `tooLate`, not applied.
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
  /** Products kept per measure in a stored bucket (layer.ts `toJSON`). */
  topK: number;
}

interface OpenSession extends ClosedSession {
  user: number;
}

/** Checkpointed state (see the module comment). */
interface Snapshot {
  v: 1;
  m: [number, BucketJSON][];
  h: [number, BucketJSON][];
  s: [string, OpenSession][];
  fu: number[];
  fs: string[];
  wm: number | null;
  nw: number | null;
  st: Pick<RollupStats, 'events' | 'flaggedEvents' | 'tooLate' | 'sessionsTooLate'>;
}

export class Rollups {
  private minutes = new Map<number, Bucket>();
  private hours = new Map<number, Bucket>();
  /** Open sessions, least recently active first (an update moves a session to the end). */
  private sessions = new Map<string, OpenSession>();
  private flaggedUsers = new Set<number>();
  private flaggedSessions = new Set<string>();
  private watermark = -Infinity;
  private newest = -Infinity;
  private changedMinutes = new Set<number>();
  private changedHours = new Set<number>();
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
      const start = t - (((t % MINUTE_MS) + MINUTE_MS) % MINUTE_MS);
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
    for (const [id, s] of this.sessions) {
      if (s.last + gap > watermark) break;
      this.end(id, s);
    }
    for (const [start, b] of this.minutes) {
      if (start + MINUTE_MS + gap <= watermark) this.finishMinute(start, b);
    }
    for (const start of this.hours.keys()) {
      if (start + HOUR_MS + gap <= watermark) this.changedHours.add(start);
    }
  }

  /** End of input: every session ends and every bucket is final. */
  drain(): void {
    for (const [id, s] of this.sessions) this.end(id, s);
    for (const [start, b] of this.minutes) this.finishMinute(start, b);
    this.watermark = Infinity;
    for (const start of this.hours.keys()) this.changedHours.add(start);
  }

  /**
   * The buckets changed since the last call, whole, for the store; final ones leave memory. An hour
   * not final yet is written as its final minutes plus its open ones.
   */
  takeChanges(): StoredBucket[] {
    const out: StoredBucket[] = [];
    const gap = this.opts.sessionGapMs;
    for (const start of this.changedMinutes) {
      const b = this.minutes.get(start);
      if (b) out.push({ grain: 'minute', start, final: false, data: b.toJSON(this.opts.topK) });
      this.changedHours.add(hourOf(start));
    }
    this.changedMinutes.clear();
    // The next event marks its minute changed again.
    this.last = undefined;
    for (const start of this.changedHours) {
      const b = this.hours.get(start);
      const final = start + HOUR_MS + gap <= this.watermark;
      const whole = new Bucket('hour', start);
      if (b) whole.merge(b);
      if (!final) for (const [m, mb] of this.minutes) if (hourOf(m) === start) whole.merge(mb);
      out.push({ grain: 'hour', start, final, data: whole.toJSON(this.opts.topK) });
      if (final) this.hours.delete(start);
    }
    this.changedHours.clear();
    out.push(...this.finalMinutes.splice(0));
    return out;
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

  snapshot(): string {
    return JSON.stringify({
      v: 1,
      m: [...this.minutes].map(([k, b]) => [k, b.toJSON()]),
      h: [...this.hours].map(([k, b]) => [k, b.toJSON()]),
      s: [...this.sessions],
      fu: [...this.flaggedUsers],
      fs: [...this.flaggedSessions],
      wm: Number.isFinite(this.watermark) ? this.watermark : null,
      nw: Number.isFinite(this.newest) ? this.newest : null,
      st: this.counters,
    } satisfies Snapshot);
  }

  /** Restores a snapshot into fresh rollups. */
  restore(text: string): void {
    const s = JSON.parse(text) as Snapshot;
    this.minutes = new Map(s.m.map(([k, j]) => [k, Bucket.fromJSON('minute', k, j)]));
    this.hours = new Map(s.h.map(([k, j]) => [k, Bucket.fromJSON('hour', k, j)]));
    this.sessions = new Map(s.s);
    this.flaggedUsers = new Set(s.fu);
    this.flaggedSessions = new Set(s.fs);
    this.watermark = s.wm ?? -Infinity;
    this.newest = s.nw ?? -Infinity;
    this.counters = { ...s.st };
    this.last = undefined;
  }

  /** Final minutes waiting for takeChanges (already merged into their hours). */
  private finalMinutes: StoredBucket[] = [];

  private finishMinute(start: number, b: Bucket): void {
    this.finalMinutes.push({ grain: 'minute', start, final: true, data: b.toJSON(this.opts.topK) });
    this.changedMinutes.delete(start);
    this.minutes.delete(start);
    if (this.last === b) this.last = undefined;
    const h = hourOf(start);
    let hour = this.hours.get(h);
    if (!hour) this.hours.set(h, (hour = new Bucket('hour', h)));
    hour.merge(b);
    this.changedHours.add(h);
  }

  private isFlagged(user: number, session: string | null): boolean {
    return this.flaggedUsers.has(user) || (session !== null && this.flaggedSessions.has(session));
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
    if (s) this.sessions.delete(id);
    else s = { user: e.user_id, first: t, last: t, events: 0, viewed: false, carts: [], purchased: false };
    this.sessions.set(id, s);
    s.events++;
    if (t < s.first) s.first = t;
    if (t > s.last) s.last = t;
    if (e.event_type === 'view') s.viewed = true;
    else if (e.event_type === 'cart') s.carts.push([e.product_id, cents(e.price)]);
    else if (e.event_type === 'purchase') s.purchased = true;
  }

  private end(id: string, s: OpenSession): void {
    this.sessions.delete(id);
    const start = s.last - (((s.last % MINUTE_MS) + MINUTE_MS) % MINUTE_MS);
    const bucket = this.minutes.get(start);
    if (!bucket) {
      this.counters.sessionsTooLate++;
      return;
    }
    bucket.layer(this.isFlagged(s.user, id)).addSession(s);
    this.changedMinutes.add(start);
  }
}

const hourOf = (t: number) => t - (((t % HOUR_MS) + HOUR_MS) % HOUR_MS);
