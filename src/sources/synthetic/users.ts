/**
 * Who shows up when: session starts as a Poisson process following the hourly curve, and the user of
 * each session, either one coming back or a new one. Users come back in real time, whatever the
 * data set's length: a user is active on some days (an "active day" has one or a few sessions, minutes
 * to hours apart), and after each active day either comes back a few days later or is gone for good.
 * Memory is bounded by the users waiting to come back (at most MAX_GAP_DAYS days of them: it follows
 * the density, never the number of rows).
 */
import { ARRIVAL_NORM, nextHour, startRate } from './clock.js';
import { KeyHeap } from './heap.js';
import { Rng } from './rng.js';
import { DAY, HOUR, MINUTE } from './session.js';

// --- model constants (tuned against rees46-profile.md; see docs/generator.md) ---

/** Sessions on an active day: one on 74 % of them, else 2 + ⌊Exp(1.1)⌋ (≈ 1.44 a day: 298k / 209k). */
const ONE_SESSION_DAY = 0.74;
const EXTRA_SESSIONS_MEAN = 1.1;
/** Time to the next session of the same day: often minutes (same visit), else a couple of hours. */
const SHORT_RETURN_SHARE = 0.6;
const SHORT_RETURN_MEAN = 20 * MINUTE;
const LONG_RETURN_MEAN = 150 * MINUTE;
/**
 * After an active day a user comes back on another day with this chance: rarely after the first one,
 * usually once they have come back (a loyal core), which gives the month's heavy tail of sessions per
 * user (49 % one session, median 2, mean ~3.1) and the day-7 return close to the next-day one.
 */
const CONTINUE_FIRST = 0.27;
const CONTINUE_LATER = 0.88;
/** Days until that next active day: 1 (the next day) for 25 %, else 2 + ⌊Exp(5)⌋, at most 28. */
const NEXT_DAY_SHARE = 0.25;
const GAP_DAYS_MEAN = 5;
const MAX_GAP_DAYS = 28;

/** Human user ids: 512,000,000 + 8·j + r with r in 0..6; attackers take r = 7, so ids never collide. */
export const USER_ID_BASE = 512_000_000;
export const USER_ID_STRIDE = 8;

/** A waiting user is packed as userId × CODE + code; userId 0: someone from before the data set. */
const CODE = 4096;
/** Code bit: the user has come back on another day before (CONTINUE_LATER applies). */
const LOYAL = 2048;
/** Code low bits: sessions left today after the coming one, or NEW_DAY (draw the day's sessions). */
const NEW_DAY = 2047;
/** Someone from before the data set, due on some day: the id is drawn when they show up. */
const ANONYMOUS = LOYAL + NEW_DAY;

const ARRIVAL_CUM = (() => {
  const cum = new Float64Array(24);
  let s = 0;
  ARRIVAL_NORM.forEach((share, h) => (cum[h] = s += share));
  cum[23] = 1;
  return cum;
})();

/** Mean sessions per active day. */
const SESSIONS_PER_DAY =
  ONE_SESSION_DAY + (1 - ONE_SESSION_DAY) * (2 + 1 / Math.expm1(1 / EXTRA_SESSIONS_MEAN));
/** Mean active days per user (over their whole life). */
const ACTIVE_DAYS = 1 + CONTINUE_FIRST / (1 - CONTINUE_LATER);

/** P(gap in days > j). */
function gapSurvival(j: number): number {
  if (j < 1) return 1;
  if (j >= MAX_GAP_DAYS) return 0;
  return (1 - NEXT_DAY_SHARE) * Math.exp(-(j - 1) / GAP_DAYS_MEAN);
}

export class Arrivals {
  /** Start of the next session, epoch ms (not rounded). */
  nextStart: number;
  /** Later sessions of today's visits (and any backlog): key = when, value = packed user. */
  private readonly returning = new KeyHeap<number>();
  /** Users coming back on a later day, one bucket per day (day mod the ring size); time of day drawn later. */
  private readonly days: number[][] = Array.from({ length: MAX_GAP_DAYS + 1 }, () => []);
  /** Per bucket: users from before the data set coming back that day (ids drawn when they show up). */
  private readonly anonymous = new Float64Array(MAX_GAP_DAYS + 1);
  /** The first day whose bucket is still waiting to be opened. */
  private nextDay = 0;
  /**
   * Users coming back on the open day, in random order, and their times of day, sorted: the i-th of
   * them comes at the i-th time (a sort of plain numbers instead of a heap of the day's ~150k returns).
   */
  private todayUsers: number[] = [];
  private todayTimes = new Float64Array(1024);
  private todayLength = 0;
  private todayCursor = 0;
  /** When the next user of the open day is due (Infinity when none is left). */
  private todayNext = Infinity;
  private readonly sessionScale: number;
  private newUsers = 0;

  constructor(
    private readonly rng: Rng,
    from: number,
    private readonly perDay: number,
    meanSessionSize: number,
  ) {
    this.sessionScale = 1 / meanSessionSize;
    this.prefill(from);
    this.nextStart = from;
    this.advance();
  }

  /**
   * The users who were active before `from` and will come back after it, as in a steady state: R users
   * a day come back (R = new users a day × (ACTIVE_DAYS − 1)), and one coming back on day j (0 = the
   * day of `from`) was last active before that day if the gap is longer than j days.
   */
  private prefill(from: number): void {
    const sessionsPerDay = this.perDay * this.sessionScale;
    const newPerDay = sessionsPerDay / (SESSIONS_PER_DAY * ACTIVE_DAYS);
    const returnsPerDay = newPerDay * (ACTIVE_DAYS - 1);
    const first = Math.floor(from / DAY);
    for (let j = 0; j < MAX_GAP_DAYS; j++) {
      const expected = returnsPerDay * gapSurvival(j);
      const n = Math.floor(expected) + (this.rng.chance(expected % 1) ? 1 : 0);
      if (j === 0) {
        // The day of `from`: only those coming back after it.
        for (let i = 0; i < n; i++) {
          const t = this.timeOfDay(first);
          if (t >= from) this.returning.push(t, ANONYMOUS);
        }
      } else this.anonymous[(first + j) % this.days.length] = n;
    }
    this.nextDay = first + 1;
  }

  /** Distinct users so far. */
  get users(): number {
    return this.newUsers;
  }

  /** Draws the start of the next session (piecewise-constant rate per hour; the clock carries over). */
  advance(): void {
    let need = this.rng.exp(1);
    let t = this.nextStart;
    for (;;) {
      const rate = startRate(t, this.perDay) * this.sessionScale;
      const end = nextHour(t);
      const here = rate * (end - t);
      if (here >= need) {
        this.nextStart = t + need / rate;
        return;
      }
      need -= here;
      t = end;
    }
  }

  /** A time on `day` (days since the epoch) following the session-start curve. */
  private timeOfDay(day: number): number {
    const u = this.rng.next();
    let h = 0;
    while (h < 23 && ARRIVAL_CUM[h]! <= u) h++;
    return day * DAY + (h + this.rng.next()) * HOUR;
  }

  /**
   * Opens the days up to `start`'s: the users due that day, shuffled, meet that day's times drawn from
   * the session-start curve and sorted. Users of the previous day not served yet join the heap.
   */
  private openDays(start: number): void {
    const rng = this.rng;
    while (this.nextDay * DAY <= start) {
      for (; this.todayCursor < this.todayLength; this.todayCursor++) {
        this.returning.push(this.todayTimes[this.todayCursor]!, this.todayUsers[this.todayCursor]!);
      }
      const day = this.nextDay++;
      const slot = day % this.days.length;
      const users = this.days[slot]!;
      this.days[slot] = this.todayUsers;
      this.days[slot]!.length = 0;
      this.todayUsers = users;
      for (let i = this.anonymous[slot]!; i > 0; i--) users.push(ANONYMOUS);
      this.anonymous[slot] = 0;
      const n = users.length;
      for (let i = n - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        const u = users[i]!;
        users[i] = users[j]!;
        users[j] = u;
      }
      if (this.todayTimes.length < n)
        this.todayTimes = new Float64Array(Math.max(n, 2 * this.todayTimes.length));
      const times = this.todayTimes.subarray(0, n);
      for (let i = 0; i < n; i++) times[i] = this.timeOfDay(day);
      times.sort();
      this.todayLength = n;
      this.todayCursor = 0;
      this.todayNext = n > 0 ? times[0]! : Infinity;
    }
  }

  private newUserId(): number {
    const j = this.newUsers++;
    return USER_ID_BASE + USER_ID_STRIDE * j + this.rng.int(USER_ID_STRIDE - 1);
  }

  /** The user of a session starting at `start`: one due to come back, else a new one. */
  userFor(start: number): number {
    const rng = this.rng;
    if (this.nextDay * DAY <= start) this.openDays(start);
    let userId: number;
    let code: number;
    if (this.todayNext <= start && this.todayNext <= this.returning.peekKey()) {
      const packed = this.todayUsers[this.todayCursor++]!;
      userId = Math.floor(packed / CODE);
      code = packed - userId * CODE;
      if (userId === 0) userId = this.newUserId();
      this.todayNext = this.todayCursor < this.todayLength ? this.todayTimes[this.todayCursor]! : Infinity;
    } else if (this.returning.peekKey() <= start) {
      const packed = this.returning.pop();
      userId = Math.floor(packed / CODE);
      code = packed - userId * CODE;
      if (userId === 0) userId = this.newUserId();
    } else {
      userId = this.newUserId();
      code = NEW_DAY;
    }
    const loyal = code & LOYAL;
    let left = code & NEW_DAY;
    if (left === NEW_DAY) {
      const today = rng.chance(ONE_SESSION_DAY) ? 1 : 2 + Math.floor(rng.exp(EXTRA_SESSIONS_MEAN));
      left = Math.min(NEW_DAY - 1, today - 1);
    }
    if (left > 0) {
      const gap = rng.chance(SHORT_RETURN_SHARE) ? rng.exp(SHORT_RETURN_MEAN) : rng.exp(LONG_RETURN_MEAN);
      this.returning.push(start + gap, userId * CODE + loyal + (left - 1));
    } else if (rng.chance(loyal !== 0 ? CONTINUE_LATER : CONTINUE_FIRST)) {
      const gap = rng.chance(NEXT_DAY_SHARE)
        ? 1
        : Math.min(MAX_GAP_DAYS, 2 + Math.floor(rng.exp(GAP_DAYS_MEAN)));
      const day = Math.max(Math.floor(start / DAY) + gap, this.nextDay);
      this.days[day % this.days.length]!.push(userId * CODE + LOYAL + NEW_DAY);
    }
    return userId;
  }
}
