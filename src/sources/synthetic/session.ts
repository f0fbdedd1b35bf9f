/** A session as the generator schedules it: all its events are drawn when it starts, then merged by time. */
import type { EventType } from '../../core/event.js';
import type { Rng } from './rng.js';

/** Event types by index, the order every array of `types` uses. */
export const TYPE_NAMES: readonly EventType[] = ['view', 'cart', 'remove_from_cart', 'purchase'];
export const VIEW = 0;
export const CART = 1;
export const REMOVE = 2;
export const PURCHASE = 3;

export interface SimSession {
  /** Event times, epoch ms on whole seconds (the dataset's resolution), non-decreasing. */
  times: number[];
  types: number[];
  /** Catalog product indexes. */
  products: number[];
  /** Number of events (the arrays may be longer: sessions are recycled). */
  len: number;
  /** Next event to emit. */
  i: number;
  userId: number;
  /** user_session, a version-4 UUID kept as four 32-bit words. */
  u0: number;
  u1: number;
  u2: number;
  u3: number;
  /** `user_id,user_session` as CSV bytes; `user_id,` is its first `userBytes` bytes. */
  tail: Uint8Array;
  userBytes: number;
  /** -1 for a human, else the index of the attack it belongs to. */
  attack: number;
  /** A row of it has been written (counts human sessions). */
  seen: boolean;
}

const HEX = Array.from('0123456789abcdef', (ch) => ch.charCodeAt(0));

/** Draws a fresh version-4 UUID for the session (its userId set) and prepares its CSV bytes. */
export function assignSessionId(s: SimSession, rng: Rng): void {
  s.u0 = rng.u32();
  s.u1 = ((rng.u32() & 0xffff0fff) | 0x4000) >>> 0;
  s.u2 = ((rng.u32() & 0x3fffffff) | 0x80000000) >>> 0;
  s.u3 = rng.u32();
  const user = String(s.userId);
  const size = user.length + 1 + 36;
  if (s.tail.length !== size) s.tail = new Uint8Array(size);
  const b = s.tail;
  let o = 0;
  for (let i = 0; i < user.length; i++) b[o++] = user.charCodeAt(i);
  b[o++] = 44; // ','
  s.userBytes = o;
  const words = [s.u0, s.u1, s.u2, s.u3];
  for (let nib = 0; nib < 32; nib++) {
    if (nib === 8 || nib === 12 || nib === 16 || nib === 20) b[o++] = 45; // '-'
    b[o++] = HEX[(words[nib >> 3]! >>> (28 - 4 * (nib & 7))) & 15]!;
  }
}

const HEX4: string[] = Array.from({ length: 65536 }, (_, i) => i.toString(16).padStart(4, '0'));

/** The session's user_session text: lower-case 8-4-4-4-12. */
export function uuidOf(s: SimSession): string {
  return `${HEX4[s.u0 >>> 16]}${HEX4[s.u0 & 0xffff]}-${HEX4[s.u1 >>> 16]}-${HEX4[s.u1 & 0xffff]}-${HEX4[s.u2 >>> 16]}-${
    HEX4[s.u2 & 0xffff]
  }${HEX4[s.u3 >>> 16]}${HEX4[s.u3 & 0xffff]}`;
}

const EMPTY = new Uint8Array(0);

/** A session with the given events; its UUID is drawn separately (assignSessionId). */
export function newSession(
  userId: number,
  attack: number,
  times: number[],
  types: number[],
  products: number[],
): SimSession {
  return {
    times,
    types,
    products,
    len: times.length,
    i: 0,
    userId,
    u0: 0,
    u1: 0,
    u2: 0,
    u3: 0,
    tail: EMPTY,
    userBytes: 0,
    attack,
    seen: false,
  };
}

export const SECOND = 1000;
export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

/** Floors an instant to its whole second. */
export function wholeSecond(ms: number): number {
  return Math.floor(ms / SECOND) * SECOND;
}
