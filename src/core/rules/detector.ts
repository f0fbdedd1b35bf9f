/**
 * The detector: runs the configured rules over micro-batches of events in event time.
 *
 * - Early firing: a keyed rule fires on the event that crosses its threshold, not when a window closes.
 *   Windows slide (bucketed to the second), so a burst split across a tumbling boundary still counts.
 * - Watermark: the caller passes the minimum newest event time over its inputs; events older than it
 *   minus the allowed lateness (`watermarkSeconds`) are late: counted per reason, not applied.
 * - Alerts: deterministic id from (rule, key type, key, window bucket of the crossing), a per-key
 *   cooldown per rule, and one escalation to high severity when a rule's `highThreshold` is reached.
 * - The reference rule (tumbling, fires at window close) runs beside them when `reference` is on.
 *
 * - Key surges (surge.ts) count per product, category or brand, where many users' traffic meets.
 *
 * Pure: no I/O; state is bounded by the keys active within the longest rule horizon (item keys:
 * within 1.25 × their baseline).
 */
import { type Alert, alertId, type KeyType, type Severity } from '../alert.js';
import type { DetectConfig } from '../config.js';
import type { ClickEvent } from '../event.js';
import { isoUtc } from '../time.js';
import { FloatReader, Floats, History, TYPE_NAMES } from './history.js';
import { REFERENCE_RULE, ReferenceRule } from './reference.js';
import { type Hit, type KeyedSignal, keyedSignal, type KeyedSpec } from './signals.js';
import { TrafficSpike } from './spike.js';
import { KeySurge, type SurgeHit, type SurgeSpec } from './surge.js';
import type { RuleSpec } from './spec.js';

type ParticipantSpec = Extract<RuleSpec, { type: 'spike-participant' }>;
type SpikeSpec = Extract<RuleSpec, { type: 'traffic-spike' }>;

interface KeyedRule {
  spec: KeyedSpec;
  signal: KeyedSignal;
  slot: number;
}

interface ParticipantRule {
  spec: ParticipantSpec;
  spike: TrafficSpike;
  slot: number;
}

export interface RuleCounters {
  alerts: number;
  /** Crossings inside the cooldown of an earlier alert. */
  suppressed: number;
}

export interface DetectorStats {
  events: number;
  late: number;
  missingTime: number;
  alerts: number;
  /** Keys held: users, sessions and the key-surge rules' products, categories and brands. */
  openKeys: number;
  /** Of them, the key-surge rules' keys. */
  itemKeys: number;
  watermark: string | null;
  rules: Record<string, RuleCounters>;
}

const SAMPLE_EVENTS = 5;

export class Detector {
  private readonly timeField: DetectConfig['timeField'];
  private readonly latenessMs: number;
  private readonly users: KeyedRule[] = [];
  private readonly sessions: KeyedRule[] = [];
  private readonly participants: ParticipantRule[] = [];
  private readonly spikes: { spec: SpikeSpec; spike: TrafficSpike; lastAt: number }[] = [];
  private readonly surges: KeySurge[] = [];
  private surgeEvictedAt = -Infinity;
  private surgeSweepMs = Infinity;
  private readonly reference: ReferenceRule | undefined;
  private readonly userKeys = new Map<number, History>();
  private readonly sessionKeys = new Map<string, History>();
  private readonly horizonMs: number;
  private watermark = -Infinity;
  private evictedAt = -Infinity;
  private readonly counters = { events: 0, late: 0, missingTime: 0, alerts: 0 };
  private readonly perRule: Record<string, RuleCounters> = {};

  constructor(
    cfg: DetectConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.timeField = cfg.timeField;
    this.latenessMs = cfg.watermarkSeconds * 1000;
    if (cfg.reference) {
      this.reference = new ReferenceRule(cfg, now);
      this.perRule[REFERENCE_RULE] = { alerts: 0, suppressed: 0 };
    }
    const spikeByName = new Map<string, TrafficSpike>();
    for (const spec of cfg.rules) {
      if (!spec.enabled || spec.type !== 'traffic-spike') continue;
      const spike = new TrafficSpike(spec);
      spikeByName.set(spec.name, spike);
      this.spikes.push({ spec, spike, lastAt: -Infinity });
    }
    let userSlot = 0;
    let sessionSlot = 0;
    let horizon = 0;
    for (const spec of cfg.rules) {
      if (!spec.enabled) continue;
      this.perRule[spec.name] = { alerts: 0, suppressed: 0 };
      if (spec.type === 'traffic-spike') continue;
      if (spec.type === 'key-surge') {
        const surge = new KeySurge(spec);
        this.surges.push(surge);
        this.surgeSweepMs = Math.min(this.surgeSweepMs, surge.horizonMs / 4);
        continue;
      }
      if (spec.type === 'spike-participant') {
        this.participants.push({ spec, spike: spikeByName.get(spec.spikeRule)!, slot: userSlot++ });
        horizon = Math.max(horizon, spec.windowSeconds * 1000, spec.newForSeconds * 1000);
        continue;
      }
      const signal = keyedSignal(spec);
      horizon = Math.max(horizon, signal.horizonMs);
      if (spec.key === 'user') this.users.push({ spec, signal, slot: userSlot++ });
      else this.sessions.push({ spec, signal, slot: sessionSlot++ });
    }
    this.horizonMs = horizon;
  }

  get allowedLatenessMs(): number {
    return this.latenessMs;
  }

  timeOf(e: ClickEvent): number | undefined {
    return this.timeField === 'event_time' ? e.event_time : e.txn_timestamp;
  }

  /** Runs a batch through every rule; returns the alerts fired by it and the newest time seen. */
  add(events: readonly ClickEvent[]): { alerts: Alert[]; newest: number } {
    const alerts: Alert[] = [];
    const closing = this.watermark - this.latenessMs;
    let newest = -Infinity;
    const detectedAt = isoUtc(this.now());
    if (this.reference) this.reference.add(events);
    const trackUsers = this.users.length > 0 || this.participants.length > 0;
    for (const e of events) {
      const t = this.timeOf(e);
      if (t === undefined) {
        this.counters.missingTime++;
        continue;
      }
      this.counters.events++;
      if (t > newest) newest = t;
      if (t < closing) {
        this.counters.late++;
        continue;
      }
      for (const s of this.spikes) {
        const hit = s.spike.add(e, t);
        if (hit && t >= s.lastAt + s.spec.cooldownSeconds * 1000) {
          s.lastAt = t;
          alerts.push(this.spikeAlert(s.spec, hit, t, detectedAt));
        } else if (hit) this.perRule[s.spec.name]!.suppressed++;
      }
      if (this.surges.length > 0) this.addToItems(e, t, detectedAt, alerts);
      if (trackUsers) {
        let h = this.userKeys.get(e.user_id);
        if (!h) {
          h = new History(t, e.user_id);
          this.userKeys.set(e.user_id, h);
        }
        h.push(e, t);
        for (const r of this.users) {
          const hit = r.signal.check(h, t, r.slot);
          if (hit) this.fire(e, r.spec, r.slot, 'user', String(e.user_id), h, hit, t, detectedAt, alerts);
        }
        for (const p of this.participants) {
          const hit = this.participation(p, h, t);
          if (hit) this.fire(e, p.spec, p.slot, 'user', String(e.user_id), h, hit, t, detectedAt, alerts);
        }
      }
      if (this.sessions.length > 0 && e.user_session !== null) {
        let h = this.sessionKeys.get(e.user_session);
        if (!h) {
          h = new History(t, e.user_id);
          this.sessionKeys.set(e.user_session, h);
        }
        h.push(e, t);
        for (const r of this.sessions) {
          const hit = r.signal.check(h, t, r.slot);
          if (hit) this.fire(e, r.spec, r.slot, 'session', e.user_session, h, hit, t, detectedAt, alerts);
        }
      }
    }
    this.counters.alerts += alerts.length;
    return { alerts, newest };
  }

  /** A user new to the site since a spike began, with more than `threshold` events in the window. */
  private participation(p: ParticipantRule, h: History, t: number): Hit | null {
    const start = p.spike.spikeAt(t);
    if (start === undefined || h.first < start - p.spec.newForSeconds * 1000) return null;
    const from = Math.max(start, t - p.spec.windowSeconds * 1000);
    let count = 0;
    let earliest = t;
    for (let i = 0; i < h.size; i++) {
      const x = h.times[h.index(i)]!;
      if (x >= from && x <= t) {
        count++;
        if (x < earliest) earliest = x;
      }
    }
    if (count <= p.spec.threshold) return null;
    return {
      count,
      score: count / p.spec.threshold,
      from: earliest,
      evidence: { spike_started: isoUtc(start), first_seen_on_site: isoUtc(h.first) },
    };
  }

  private fire(
    e: ClickEvent,
    spec: KeyedSpec | ParticipantSpec,
    slot: number,
    keyType: KeyType,
    key: string,
    h: History,
    hit: Hit,
    t: number,
    detectedAt: string,
    out: Alert[],
  ): void {
    const high =
      'highThreshold' in spec && spec.highThreshold !== undefined && hit.count >= spec.highThreshold;
    const level = high || spec.severity === 'high' ? 2 : 1;
    const firedAt = h.firedAt[slot] ?? -Infinity;
    const cooling = t < firedAt + spec.cooldownSeconds * 1000;
    // Within the cooldown only an escalation to high severity speaks again.
    if (cooling && level <= (h.level[slot] ?? 0)) {
      this.perRule[spec.name]!.suppressed++;
      return;
    }
    h.firedAt[slot] = cooling ? firedAt : t;
    h.level[slot] = level;
    const windowMs = 'windowSeconds' in spec ? spec.windowSeconds * 1000 : 1000;
    const bucket = Math.floor(t / windowMs) * windowMs;
    const severity: Severity = level === 2 ? 'high' : spec.severity;
    const idRule = cooling ? `${spec.name}:escalated` : spec.name;
    this.perRule[spec.name]!.alerts++;
    out.push({
      id: alertId(idRule, keyType, key, cooling ? firedAt : bucket),
      rule: spec.name,
      severity,
      key_type: keyType,
      key,
      user_id: e.user_id,
      window_start: isoUtc(hit.from),
      window_end: isoUtc(t),
      count: hit.count,
      score: Math.round(hit.score * 100) / 100,
      first_seen: isoUtc(h.first),
      last_seen: isoUtc(h.newest),
      detected_event_time: isoUtc(t),
      detected_at: detectedAt,
      evidence: {
        threshold: spec.threshold,
        ...('windowSeconds' in spec ? { window_seconds: spec.windowSeconds } : {}),
        ...hit.evidence,
        // The event that crossed the threshold, with its send time when the simulator stamped it.
        trigger: {
          event_time: isoUtc(t),
          ...(e.txn_timestamp !== undefined ? { txn_timestamp: isoUtc(e.txn_timestamp) } : {}),
        },
        samples: h.samples(SAMPLE_EVENTS).map((s) => ({
          event_time: isoUtc(s.time),
          event_type: TYPE_NAMES[s.type],
          product_id: s.product_id,
          category_id: s.category_id,
        })),
        time_field: this.timeField,
      },
    });
  }

  private spikeAlert(
    spec: SpikeSpec,
    hit: ReturnType<TrafficSpike['add']> & object,
    t: number,
    detectedAt: string,
  ): Alert {
    this.perRule[spec.name]!.alerts++;
    return {
      id: alertId(spec.name, 'global', 'all', hit.start),
      rule: spec.name,
      severity: spec.severity,
      key_type: 'global',
      key: 'all',
      user_id: null,
      window_start: isoUtc(hit.start),
      window_end: isoUtc(hit.start + spec.windowSeconds * 1000),
      count: hit.count,
      score: Math.round((hit.count / Math.max(1, hit.baseline)) * 100) / 100,
      first_seen: isoUtc(hit.start),
      last_seen: isoUtc(t),
      detected_event_time: isoUtc(t),
      detected_at: detectedAt,
      evidence: {
        baseline_per_window: Math.round(hit.baseline * 100) / 100,
        limit: Math.round(hit.limit * 100) / 100,
        window_seconds: spec.windowSeconds,
        ...hit.evidence,
        time_field: this.timeField,
      },
    };
  }

  /** The key-surge rules (kept out of add() so that its hot loop stays small). */
  private addToItems(e: ClickEvent, t: number, detectedAt: string, alerts: Alert[]): void {
    const surges = this.surges;
    for (let i = 0; i < surges.length; i++) {
      const s = surges[i]!;
      const hit = s.add(e, t);
      if (hit === null) continue;
      if (hit.cooling) this.perRule[s.spec.name]!.suppressed++;
      else alerts.push(this.surgeAlert(s, e, hit, t, detectedAt));
    }
  }

  private surgeAlert(s: KeySurge, e: ClickEvent, hit: SurgeHit, t: number, detectedAt: string): Alert {
    const spec: SurgeSpec = s.spec;
    this.perRule[spec.name]!.alerts++;
    const windowMs = spec.windowSeconds * 1000;
    const key = String(hit.key);
    const round = (x: number) => Math.round(x * 100) / 100;
    // What the key is, for a person reading the alert: a product's category and brand, a category's code.
    const item =
      s.keyType === 'product'
        ? { category_id: e.category_id, category_code: e.category_code, brand: e.brand }
        : s.keyType === 'category'
          ? { category_code: e.category_code }
          : {};
    return {
      id: alertId(spec.name, s.keyType, key, Math.floor(t / windowMs) * windowMs),
      rule: spec.name,
      severity: spec.severity,
      key_type: s.keyType,
      key,
      user_id: null,
      // The recent count weighs events by exp(-age / window): 95 % of its weight is in the last 3 windows.
      window_start: isoUtc(t - 3 * windowMs),
      window_end: isoUtc(t),
      count: Math.round(hit.count),
      score: round(hit.count / Math.max(1, hit.limit)),
      first_seen: isoUtc(hit.first),
      last_seen: isoUtc(t),
      detected_event_time: isoUtc(t),
      detected_at: detectedAt,
      evidence: {
        recent_events: round(hit.count),
        baseline_per_window: round(hit.baseline),
        limit: round(hit.limit),
        window_seconds: spec.windowSeconds,
        events: spec.events,
        ...item,
        trigger: {
          event_time: isoUtc(t),
          user_id: e.user_id,
          ...(e.txn_timestamp !== undefined ? { txn_timestamp: isoUtc(e.txn_timestamp) } : {}),
        },
        time_field: this.timeField,
      },
    };
  }

  /**
   * Moves the watermark (the minimum newest time over the inputs; never back). Returns the reference
   * rule's alerts for windows that closed; completes spike buckets and forgets quiet keys.
   */
  advance(wm: number): Alert[] {
    if (wm <= this.watermark) return [];
    this.watermark = wm;
    const closing = wm - this.latenessMs;
    for (const s of this.spikes) s.spike.advance(closing);
    if (closing - this.evictedAt >= 10_000 || !Number.isFinite(closing)) {
      this.evictedAt = closing;
      const before = closing - this.horizonMs;
      for (const [k, h] of this.userKeys) if (h.newest < before) this.userKeys.delete(k);
      for (const [k, h] of this.sessionKeys) if (h.newest < before) this.sessionKeys.delete(k);
    }
    // Item keys are many and quiet: swept every quarter of their horizon, so each lives ≤ 1.25 × it.
    if (
      this.surges.length > 0 &&
      (closing - this.surgeEvictedAt >= this.surgeSweepMs || !Number.isFinite(closing))
    ) {
      this.surgeEvictedAt = closing;
      for (const x of this.surges) x.evict(closing - x.horizonMs);
    }
    const alerts = this.reference?.advance(closing) ?? [];
    this.counters.alerts += alerts.length;
    if (this.reference) this.perRule[REFERENCE_RULE]!.alerts += alerts.length;
    return alerts;
  }

  /** End of input: closes every window (the reference rule fires its open windows). */
  flush(): Alert[] {
    return this.advance(Infinity);
  }

  snapshot(): string {
    const categories = new Map<string, number>();
    const histories = new Floats();
    for (const h of this.userKeys.values()) h.writeTo(histories, categories);
    for (const h of this.sessionKeys.values()) h.writeTo(histories, categories);
    return JSON.stringify({
      v: 3,
      watermark: Number.isFinite(this.watermark) ? this.watermark : null,
      evictedAt: Number.isFinite(this.evictedAt) ? this.evictedAt : null,
      counters: this.counters,
      perRule: this.perRule,
      categories: [...categories.keys()],
      users: [...this.userKeys.keys()],
      sessions: [...this.sessionKeys.keys()],
      // The keys' histories in that order (History.writeTo).
      histories: histories.toBase64(),
      spikes: this.spikes.map((s) => [
        s.spec.name,
        s.spike.toJSON(),
        Number.isFinite(s.lastAt) ? s.lastAt : null,
      ]),
      surges: this.surges.map((s) => [s.spec.name, s.toJSON()]),
      surgeEvictedAt: Number.isFinite(this.surgeEvictedAt) ? this.surgeEvictedAt : null,
      reference: this.reference?.snapshot() ?? null,
    });
  }

  /** Restores a snapshot into a fresh detector with the same rules. */
  restore(snapshot: string): void {
    const s = JSON.parse(snapshot) as {
      v: number;
      watermark: number | null;
      evictedAt: number | null;
      counters: Detector['counters'];
      perRule: Record<string, RuleCounters>;
      categories: string[];
      users: number[];
      sessions: string[];
      histories: string;
      spikes: [string, unknown, number | null][];
      /** Absent in snapshots taken before key-surge rules existed. */
      surges?: [string, unknown][];
      surgeEvictedAt?: number | null;
      reference: string | null;
    };
    if (s.v !== 3) throw new Error(`unknown detector snapshot version ${String(s.v)}`);
    this.watermark = s.watermark ?? -Infinity;
    this.evictedAt = s.evictedAt ?? -Infinity;
    Object.assign(this.counters, s.counters);
    for (const [name, c] of Object.entries(s.perRule)) if (this.perRule[name]) this.perRule[name] = c;
    const histories = new FloatReader(s.histories);
    for (const k of s.users) this.userKeys.set(k, History.readFrom(histories, s.categories));
    for (const k of s.sessions) this.sessionKeys.set(k, History.readFrom(histories, s.categories));
    if (!histories.done) throw new Error('detector snapshot has more histories than keys');
    for (const [name, state, lastAt] of s.spikes) {
      const x = this.spikes.find((y) => y.spec.name === name);
      if (!x) continue;
      x.spike.restore(state);
      x.lastAt = lastAt ?? -Infinity;
    }
    for (const [name, state] of s.surges ?? []) this.surges.find((x) => x.spec.name === name)?.restore(state);
    this.surgeEvictedAt = s.surgeEvictedAt ?? -Infinity;
    if (this.reference && s.reference) this.reference.restore(s.reference);
  }

  private itemKeys(): number {
    let n = 0;
    for (const s of this.surges) n += s.size;
    return n;
  }

  getStats(): DetectorStats {
    return {
      ...this.counters,
      openKeys: this.userKeys.size + this.sessionKeys.size + this.itemKeys(),
      itemKeys: this.itemKeys(),
      watermark: Number.isFinite(this.watermark) ? isoUtc(this.watermark) : null,
      rules: this.perRule,
    };
  }
}
