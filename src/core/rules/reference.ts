/**
 * The reference rule ("Flink SQL in Zeppelin"): per user_id, tumbling windows of `windowSeconds` on the
 * configured time field; `count(*) > threshold` raises an alert, `> highThreshold` is high severity.
 * As in the reference, a window fires when the watermark passes its end. The caller owns the watermark
 * (with several shards it is the minimum over them); `add` + `advance(maxSeen - lateness)` is the
 * single-input case. Events for a window that has already fired are counted as late, not applied.
 *
 * Pure: state is bounded by the users active in the open windows.
 */
import { type Alert, alertId } from '../alert.js';
import type { DetectConfig } from '../config.js';
import type { ClickEvent } from '../event.js';
import { isoUtc } from '../time.js';

export const REFERENCE_RULE = 'reference-user-rate';

interface KeyState {
  count: number;
  first: number;
  last: number;
}

export interface DetectorStats {
  events: number;
  late: number;
  missingTime: number;
  windowsClosed: number;
  alerts: number;
  openWindows: number;
  openKeys: number;
  watermark: string | null;
}

export class ReferenceRule {
  private readonly windowMs: number;
  /** window start (ms) → user_id → counts */
  private readonly windows = new Map<number, Map<number, KeyState>>();
  /** Windows ending at or before this have fired. */
  private closedUntil = -Infinity;
  private watermark = -Infinity;
  private readonly counters = { events: 0, late: 0, missingTime: 0, windowsClosed: 0, alerts: 0 };

  constructor(
    private readonly cfg: DetectConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.windowMs = cfg.windowSeconds * 1000;
  }

  get latenessMs(): number {
    return this.cfg.watermarkSeconds * 1000;
  }

  /** The configured time field of an event, or undefined (no `txn_timestamp` on a raw row). */
  timeOf(e: ClickEvent): number | undefined {
    return this.cfg.timeField === 'event_time' ? e.event_time : e.txn_timestamp;
  }

  /** Counts a batch into its windows. Returns the newest time seen in the batch (or -Infinity). */
  add(events: readonly ClickEvent[]): number {
    const w = this.windowMs;
    let newest = -Infinity;
    for (const e of events) {
      const t = this.timeOf(e);
      if (t === undefined) {
        this.counters.missingTime++;
        continue;
      }
      this.counters.events++;
      if (t > newest) newest = t;
      const start = t - (((t % w) + w) % w);
      if (start + w <= this.closedUntil) {
        this.counters.late++;
        continue;
      }
      let users = this.windows.get(start);
      if (!users) {
        users = new Map();
        this.windows.set(start, users);
      }
      const s = users.get(e.user_id);
      if (s) {
        s.count++;
        if (t < s.first) s.first = t;
        if (t > s.last) s.last = t;
      } else users.set(e.user_id, { count: 1, first: t, last: t });
    }
    return newest;
  }

  /** Moves the watermark to `wm` (never back) and returns the alerts of the windows that closed. */
  advance(wm: number): Alert[] {
    if (wm <= this.watermark) return [];
    this.watermark = wm;
    const w = this.windowMs;
    const starts = [...this.windows.keys()].filter((s) => s + w <= wm).sort((a, b) => a - b);
    const alerts: Alert[] = [];
    const detectedAt = isoUtc(this.now());
    for (const start of starts) {
      const users = this.windows.get(start)!;
      this.windows.delete(start);
      this.counters.windowsClosed++;
      // The window fires once event time reaches its end plus the lateness allowed.
      const detectedEventTime = isoUtc(start + w + this.latenessMs);
      for (const [userId, s] of users) {
        if (s.count <= this.cfg.threshold) continue;
        const key = String(userId);
        alerts.push({
          id: alertId(REFERENCE_RULE, 'user', key, start),
          rule: REFERENCE_RULE,
          severity: s.count > this.cfg.highThreshold ? 'high' : 'medium',
          key_type: 'user',
          key,
          user_id: userId,
          window_start: isoUtc(start),
          window_end: isoUtc(start + w),
          count: s.count,
          score: s.count / Math.max(1, this.cfg.threshold),
          first_seen: isoUtc(s.first),
          last_seen: isoUtc(s.last),
          detected_event_time: detectedEventTime,
          detected_at: detectedAt,
          evidence: { threshold: this.cfg.threshold, time_field: this.cfg.timeField },
        });
      }
    }
    const boundary = Number.isFinite(wm) ? wm - (((wm % w) + w) % w) : Infinity;
    this.closedUntil = Math.max(this.closedUntil, boundary);
    this.counters.alerts += alerts.length;
    return alerts;
  }

  /** Fires every open window (end of input). */
  flush(): Alert[] {
    return this.advance(Infinity);
  }

  /** The rule's state as JSON, for a checkpoint: open windows, the watermark and the counters. */
  snapshot(): string {
    const windows: [number, [number, number, number, number][]][] = [];
    for (const [start, users] of this.windows) {
      windows.push([start, [...users].map(([u, s]) => [u, s.count, s.first, s.last])]);
    }
    return JSON.stringify({
      v: 1,
      windows,
      closedUntil: Number.isFinite(this.closedUntil) ? this.closedUntil : null,
      watermark: Number.isFinite(this.watermark) ? this.watermark : null,
      counters: this.counters,
    });
  }

  /** Restores a `snapshot()` into a fresh rule (before any `add`). */
  restore(snapshot: string): void {
    const s = JSON.parse(snapshot) as {
      v: number;
      windows: [number, [number, number, number, number][]][];
      closedUntil: number | null;
      watermark: number | null;
      counters: ReferenceRule['counters'];
    };
    if (s.v !== 1) throw new Error(`unknown reference rule snapshot version ${String(s.v)}`);
    this.windows.clear();
    for (const [start, users] of s.windows) {
      this.windows.set(start, new Map(users.map(([u, count, first, last]) => [u, { count, first, last }])));
    }
    this.closedUntil = s.closedUntil ?? -Infinity;
    this.watermark = s.watermark ?? -Infinity;
    Object.assign(this.counters, s.counters);
  }

  getStats(): DetectorStats {
    let openKeys = 0;
    for (const u of this.windows.values()) openKeys += u.size;
    return {
      ...this.counters,
      openWindows: this.windows.size,
      openKeys,
      watermark: Number.isFinite(this.watermark) ? isoUtc(this.watermark) : null,
    };
  }
}
