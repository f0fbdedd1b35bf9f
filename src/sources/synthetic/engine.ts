/**
 * Merges human and attack sessions into one stream in event-time order, adds exact duplicate rows and
 * the odd empty user_session, and stops after exactly `limit` rows. Sessions in flight wait in a
 * calendar queue (one bucket per second for the next ~68 minutes, a heap beyond), so memory follows
 * the number of concurrent sessions, never the number of rows, and each row costs O(1).
 */
import { KeyHeap } from './heap.js';
import { Rng } from './rng.js';
import type { HumanTraffic } from './humans.js';
import { DUPLICATE_SHARE, DUPLICATE_TYPE_SPLIT, EMPTY_SESSION_SHARE, EVENT_MIX } from './profile.js';
import { SECOND, type SimSession, TYPE_NAMES } from './session.js';
import { USER_ID_BASE, USER_ID_STRIDE } from './users.js';

/** Copies per duplicated row: mostly one extra, sometimes a few, rarely a long run (up to 78 in October). */
const EXTRA_COPY_MEAN = 0.35;
const LONG_RUN_CHANCE = 1 / 3000;
const LONG_RUN: readonly [number, number] = [20, 78];

const q = Math.exp(-1 / EXTRA_COPY_MEAN);
const MEAN_COPIES =
  (1 - LONG_RUN_CHANCE) * (1 + q / (1 - q)) + LONG_RUN_CHANCE * ((LONG_RUN[0] + LONG_RUN[1]) / 2);

/** Chance that a human event of each type is duplicated, so duplicates are DUPLICATE_SHARE of rows. */
const DUP_CHANCE = TYPE_NAMES.map(
  (t) => (DUPLICATE_SHARE * DUPLICATE_TYPE_SPLIT[t]) / EVENT_MIX[t] / MEAN_COPIES,
);

/** Seconds covered by the calendar ring; sessions waiting longer (idle pauses) wait in a heap. */
const RING = 4096;

export class Engine {
  rows = 0;
  duplicates = 0;
  attackEvents = 0;
  /** Distinct human users and sessions with at least one row written. */
  humanUsers = 0;
  humanSessions = 0;
  /** The current row. */
  time = 0;
  type = 0;
  product = 0;
  session!: SimSession;
  nullSession = false;
  /** Per attack: events emitted, first and last event time. */
  readonly attackCounts: { events: number; first: number; last: number }[];

  /** Calendar queue: ring[sec % RING] holds the sessions whose next event is in that second. */
  private readonly ring: SimSession[][] = Array.from({ length: RING }, () => []);
  private readonly later = new KeyHeap<SimSession>();
  private inRing = 0;
  private current = NaN;
  /** Second of the next session start (human or attack). */
  private admitAt = NaN;
  private bucket: SimSession[] = [];
  private cursor = 0;
  private readonly rng: Rng;
  private nextAttack = 0;
  private pendingCopies = 0;
  /** A human session whose last row was the previous one: recycled once that row has been consumed. */
  private finished: SimSession | null = null;
  /** One bit per human user number j (ids are USER_ID_BASE + 8·j + r, j counting up from 0). */
  private userBits = new Uint8Array(1 << 16);

  constructor(
    private readonly humans: HumanTraffic,
    private readonly attacks: readonly SimSession[],
    attackCount: number,
    private readonly startMs: number,
    readonly limit: number,
    seed: number,
  ) {
    this.rng = new Rng(seed, 4);
    this.attackCounts = Array.from({ length: attackCount }, () => ({
      events: 0,
      first: Infinity,
      last: -Infinity,
    }));
  }

  /** Moves to the next row; false once `limit` rows have been produced. */
  step(): boolean {
    if (this.rows >= this.limit) return false;
    if (this.pendingCopies > 0) {
      this.pendingCopies--;
      this.rows++;
      this.duplicates++;
      return true;
    }
    if (this.finished !== null) {
      this.humans.recycle(this.finished);
      this.finished = null;
    }
    if (Number.isNaN(this.current)) {
      this.admitAt = this.nextArrival();
      this.current = this.admitAt;
      this.bucket = this.ring[this.current % RING]!;
    }
    for (;;) {
      // Sessions starting in the current second join it first.
      const sec = this.current;
      while (this.admitAt <= sec) {
        const attack = this.attacks[this.nextAttack];
        if (attack !== undefined && attack.times[0]! / SECOND <= Math.floor(this.humans.nextStart / SECOND)) {
          this.schedule(attack);
          this.nextAttack++;
        } else {
          const s = this.humans.take();
          if (s !== null) this.schedule(s);
        }
        this.admitAt = this.nextArrival();
      }
      if (this.cursor >= this.bucket.length) {
        this.advance();
        continue;
      }
      const s = this.bucket[this.cursor++]!;
      this.inRing--;
      const i = s.i++;
      const t = s.times[i]!;
      const more = s.i < s.len;
      if (more) this.schedule(s);
      if (t < this.startMs) {
        // Warm-up traffic before the data set starts.
        if (!more && s.attack < 0) this.humans.recycle(s);
        continue;
      }
      if (!more && s.attack < 0) this.finished = s;
      this.time = t;
      this.type = s.types[i]!;
      this.product = s.products[i]!;
      this.session = s;
      this.rows++;
      if (s.attack >= 0) {
        this.nullSession = false;
        this.attackEvents++;
        const c = this.attackCounts[s.attack]!;
        c.events++;
        if (t < c.first) c.first = t;
        c.last = t;
      } else {
        if (!s.seen) {
          s.seen = true;
          this.humanSessions++;
          this.markUser(s.userId);
        }
        const u = this.rng.next();
        this.nullSession = u > 1 - EMPTY_SESSION_SHARE;
        if (u < DUP_CHANCE[this.type]!) this.pendingCopies = this.copies();
      }
      return true;
    }
  }

  private markUser(userId: number): void {
    const j = Math.floor((userId - USER_ID_BASE) / USER_ID_STRIDE);
    const byte = j >>> 3;
    if (byte >= this.userBits.length) {
      const grown = new Uint8Array(Math.max(byte + 1, 2 * this.userBits.length));
      grown.set(this.userBits);
      this.userBits = grown;
    }
    const bit = 1 << (j & 7);
    if ((this.userBits[byte]! & bit) === 0) {
      this.userBits[byte]! |= bit;
      this.humanUsers++;
    }
  }

  private copies(): number {
    if (this.rng.chance(LONG_RUN_CHANCE)) return this.rng.intIn(LONG_RUN[0], LONG_RUN[1]);
    return 1 + Math.floor(this.rng.exp(EXTRA_COPY_MEAN));
  }

  private nextArrival(): number {
    const attack = this.attacks[this.nextAttack];
    const attackAt = attack === undefined ? Infinity : attack.times[0]! / SECOND;
    return Math.min(attackAt, Math.floor(this.humans.nextStart / SECOND));
  }

  /** Files a session under the second of its next event. */
  private schedule(s: SimSession): void {
    const sec = s.times[s.i]! / SECOND;
    if (sec - this.current < RING) {
      this.ring[sec % RING]!.push(s);
      this.inRing++;
    } else this.later.push(sec, s);
  }

  /** Moves to the next second that has work: the next one, or a jump over empty time. */
  private advance(): void {
    this.bucket.length = 0;
    this.cursor = 0;
    let next = this.current + 1;
    if (this.inRing === 0) next = Math.max(next, Math.min(this.nextArrival(), this.later.peekKey()));
    this.current = next;
    while (this.later.peekKey() < next + RING) {
      const sec = this.later.peekKey();
      const s = this.later.pop();
      this.ring[sec % RING]!.push(s);
      this.inRing++;
    }
    this.bucket = this.ring[next % RING]!;
  }

  /** Sessions in flight right now (for memory checks). */
  get activeSessions(): number {
    return this.inRing + this.later.size;
  }
}
