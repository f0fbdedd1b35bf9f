/**
 * What the attack builders share (attacks.ts, converging.ts): the planning context, what a builder
 * returns, and the intensity scale.
 */
import type { ItemKeyType } from '../../core/alert.js';
import type { Catalog } from './catalog.js';
import type { Rng } from './rng.js';
import { assignSessionId, newSession, type SimSession } from './session.js';

/** The parameters an attack instance was drawn to (rates, periods, counts, choices), for its label. */
export type AttackParams = Record<string, number | string | boolean>;

/** An item an attack converges on, as a key-surge alert names it (`key`: product_id, category_id, brand). */
export interface ItemTarget {
  key_type: ItemKeyType;
  key: string;
}

export interface PlanContext {
  rng: Rng;
  catalog: Catalog;
  perDay: number;
  events: number;
  /** The rows the DDoS burst being built may use (its part of the cap). */
  ddosCap: number;
  newUser(): number;
  sessions: SimSession[];
}

export interface Built {
  users: number[];
  sessions: SimSession[];
  params: AttackParams;
  targets?: ItemTarget[];
}

/** From `gentle` (intensity 0) to `strong` (intensity 1) on a log scale: rates and periods are ratios. */
export function towards(gentle: number, strong: number, intensity: number): number {
  return gentle * Math.pow(strong / gentle, intensity);
}
export const round2 = (x: number) => Math.round(x * 100) / 100;

export function session(
  ctx: PlanContext,
  attack: number,
  user: number,
  times: number[],
  types: number[],
  products: number[],
) {
  const s = newSession(user, attack, times, types, products);
  assignSessionId(s, ctx.rng);
  ctx.sessions.push(s);
  return s;
}
