/**
 * Who shows up when: session starts as a Poisson process following the hourly curve, and the user of
 * each session, either new or one coming back. Memory is bounded by the users waiting to come back.
 */
import { nextHour, startRate } from './clock.js';
import { KeyHeap } from './heap.js';
import { Rng } from './rng.js';
import { HOUR, MINUTE } from './session.js';

/** Sessions per user: 49 % one session, median 2, mean ~3.1 (the published October figures). */
const ONE_SESSION = 0.49;
const TWO_SESSIONS = 0.19;
const MORE_SESSIONS_MEDIAN = 3;
/** Time until the next session: often minutes (same visit), else hours to days (scaled to the span). */
const SHORT_RETURN_SHARE = 0.45;
const SHORT_RETURN_MEAN = 20 * MINUTE;
const LONG_RETURN_SPAN_FRACTION = 1 / 12;

/** Human user ids: 512,000,000 + 8·j + r with r in 0..6; attackers take r = 7, so ids never collide. */
export const USER_ID_BASE = 512_000_000;
export const USER_ID_STRIDE = 8;
const LEFT_BITS = 4096;

export class Arrivals {
  /** Start of the next session, epoch ms (not rounded). */
  nextStart: number;
  /** Users who will come back: key = when, value = user id × 4096 + sessions left after that one. */
  private readonly returning = new KeyHeap<number>();
  private readonly longReturnMean: number;
  private readonly sessionScale: number;
  private newUsers = 0;

  constructor(
    private readonly rng: Rng,
    from: number,
    private readonly perDay: number,
    meanSessionSize: number,
    spanMs: number,
  ) {
    this.sessionScale = 1 / meanSessionSize;
    this.longReturnMean = Math.max(30 * MINUTE, Math.min(48 * HOUR, spanMs * LONG_RETURN_SPAN_FRACTION));
    this.nextStart = from;
    this.advance();
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

  /** The user of a session starting at `start`: one due to come back, else a new one. */
  userFor(start: number): number {
    const rng = this.rng;
    let userId: number;
    let left: number;
    if (this.returning.peekKey() <= start) {
      const packed = this.returning.pop();
      userId = Math.floor(packed / LEFT_BITS);
      left = packed % LEFT_BITS;
    } else {
      const j = this.newUsers++;
      userId = USER_ID_BASE + USER_ID_STRIDE * j + rng.int(USER_ID_STRIDE - 1);
      const u = rng.next();
      const total =
        u < ONE_SESSION
          ? 1
          : u < ONE_SESSION + TWO_SESSIONS
            ? 2
            : 3 + Math.floor(rng.lognormal(MORE_SESSIONS_MEDIAN, 1.0));
      left = Math.min(LEFT_BITS - 1, total - 1);
    }
    if (left > 0) {
      const gap = rng.chance(SHORT_RETURN_SHARE) ? rng.exp(SHORT_RETURN_MEAN) : rng.exp(this.longReturnMean);
      this.returning.push(start + gap, userId * LEFT_BITS + (left - 1));
    }
    return userId;
  }
}
