/**
 * Global traffic spike: site-wide events per bucket (1 s by default) against a moving-average baseline
 * of the buckets that the watermark has completed. A bucket fires the moment its running total passes
 * the limit (early firing), naming the users, sessions and categories that drive it. While a spike is
 * on, the baseline stands still, so an attack does not teach it that attacks are normal.
 */
import type { ClickEvent } from '../event.js';
import type { RuleSpec } from './spec.js';

type SpikeSpec = Extract<RuleSpec, { type: 'traffic-spike' }>;

export interface SpikeHit {
  start: number;
  count: number;
  limit: number;
  baseline: number;
  evidence: Record<string, unknown>;
}

/** Buckets back from the firing one whose events name the contributors. */
const CONTRIBUTOR_BUCKETS = 3;

export class TrafficSpike {
  private readonly width: number;
  private readonly alpha: number;
  /** Open buckets (not yet completed by the watermark): totals and their events. */
  private readonly totals = new Map<number, number>();
  private readonly events = new Map<number, ClickEvent[]>();
  private baseline = 0;
  private trained = 0;
  /** Buckets before this one are complete. */
  private completed = -Infinity;
  /** The spike in progress: its first bucket and the last bucket over the limit. */
  private spike: { start: number; hot: number } | null = null;
  /** Spikes that ended: [start ms, end ms], the latest few, for participants' late events. */
  private readonly past: [number, number][] = [];

  constructor(private readonly spec: SpikeSpec) {
    this.width = spec.windowSeconds * 1000;
    this.alpha = spec.windowSeconds / spec.baselineSeconds;
  }

  limit(): number {
    const b = this.baseline;
    return Math.max(this.spec.threshold * b, b + this.spec.zScore * Math.sqrt(b), this.spec.minEvents);
  }

  /** Counts one event; returns a hit when this event starts a spike. */
  add(e: ClickEvent, t: number): SpikeHit | null {
    const bucket = Math.floor(t / this.width);
    if (bucket < this.completed) return null;
    const total = (this.totals.get(bucket) ?? 0) + 1;
    this.totals.set(bucket, total);
    let list = this.events.get(bucket);
    if (!list) {
      list = [];
      this.events.set(bucket, list);
    }
    list.push(e);
    if (this.trained < this.spec.warmupSeconds / this.spec.windowSeconds) return null;
    const limit = this.limit();
    if (total <= limit) return null;
    if (this.spike) {
      if (bucket > this.spike.hot) this.spike.hot = bucket;
      return null;
    }
    this.spike = { start: bucket, hot: bucket };
    return {
      start: bucket * this.width,
      count: total,
      limit,
      baseline: this.baseline,
      evidence: this.contributors(bucket),
    };
  }

  /** The start (ms) of the spike covering event time t, if any. */
  spikeAt(t: number): number | undefined {
    const bucket = Math.floor(t / this.width);
    if (this.spike && bucket >= this.spike.start) return this.spike.start * this.width;
    for (const [start, end] of this.past) if (t >= start && t < end) return start;
    return undefined;
  }

  /** Completes the buckets before `closing` (event time): they train the baseline or end the spike. */
  advance(closing: number): void {
    const until = Math.floor(closing / this.width);
    if (!Number.isFinite(this.completed)) {
      const open = [...this.totals.keys()];
      if (open.length === 0) return;
      this.completed = Math.min(...open);
    }
    if (until <= this.completed) return;
    // A long silence: decay the baseline in one step rather than bucket by bucket.
    const limitSteps = 100_000;
    if (until - this.completed > limitSteps) {
      for (const b of this.totals.keys()) if (b < until) this.complete(b, this.totals.get(b)!);
      if (!this.spike) {
        this.baseline *= Math.pow(1 - this.alpha, until - this.completed);
        this.trained += until - this.completed;
      }
      this.completed = until;
      return;
    }
    for (let b = this.completed; b < until; b++) this.complete(b, this.totals.get(b) ?? 0);
    this.completed = until;
  }

  private complete(bucket: number, total: number): void {
    this.totals.delete(bucket);
    this.events.delete(bucket);
    if (this.spike) {
      if (total > this.limit()) this.spike.hot = Math.max(this.spike.hot, bucket);
      else if (bucket - this.spike.hot >= this.spec.quietSeconds / this.spec.windowSeconds) {
        this.past.push([this.spike.start * this.width, (this.spike.hot + 1) * this.width]);
        if (this.past.length > 8) this.past.shift();
        this.spike = null;
      }
      return;
    }
    // A plain mean until the window of the moving average is full, so the start is not biased to 0.
    this.trained++;
    this.baseline += Math.max(this.alpha, 1 / this.trained) * (total - this.baseline);
  }

  private contributors(bucket: number): Record<string, unknown> {
    const users = new Map<number, number>();
    const sessions = new Map<string, number>();
    const categories = new Map<string, number>();
    for (let b = bucket - CONTRIBUTOR_BUCKETS + 1; b <= bucket; b++) {
      for (const e of this.events.get(b) ?? []) {
        users.set(e.user_id, (users.get(e.user_id) ?? 0) + 1);
        if (e.user_session !== null) sessions.set(e.user_session, (sessions.get(e.user_session) ?? 0) + 1);
        const c = e.category_code ?? e.category_id;
        categories.set(c, (categories.get(c) ?? 0) + 1);
      }
    }
    const top = <K>(m: Map<K, number>) =>
      [...m]
        .sort((a, b) => b[1] - a[1])
        .slice(0, this.spec.top)
        .map(([key, events]) => ({ key, events }));
    return {
      distinct_users: users.size,
      top_users: top(users),
      top_sessions: top(sessions),
      top_categories: top(categories),
    };
  }

  openBuckets(): number {
    return this.totals.size;
  }

  toJSON(): unknown {
    return {
      totals: [...this.totals],
      events: [...this.events],
      baseline: this.baseline,
      trained: this.trained,
      completed: Number.isFinite(this.completed) ? this.completed : null,
      spike: this.spike,
      past: this.past,
    };
  }

  restore(v: unknown): void {
    const s = v as {
      totals: [number, number][];
      events: [number, ClickEvent[]][];
      baseline: number;
      trained: number;
      completed: number | null;
      spike: { start: number; hot: number } | null;
      past: [number, number][];
    };
    for (const [b, n] of s.totals) this.totals.set(b, n);
    for (const [b, list] of s.events) this.events.set(b, list);
    this.baseline = s.baseline;
    this.trained = s.trained;
    this.completed = s.completed ?? -Infinity;
    this.spike = s.spike;
    this.past.push(...s.past);
  }
}
