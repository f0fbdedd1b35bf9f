/**
 * The state a processor checkpoint saves with the stream positions, so that a restarted run goes on
 * as if it had not stopped: the detector (open windows, cooldowns, traffic baseline), the events
 * read but not detected on yet (they wait for the other shards, event-order.ts), and each shard's
 * newest event time (shard-clock.ts), without which the watermark would start from nothing, and the
 * live journey rollups (open buckets and sessions, flagged users).
 */
import type { ClickEvent } from '../core/event.js';
import type { Detector } from '../core/rules/detector.js';
import type { Rollups, RollupsSnapshot } from '../core/journey/rollups.js';
import type { EventOrder } from './event-order.js';
import type { ShardClock } from './shard-clock.js';

interface SavedState {
  /** The detector's snapshot (absent in checkpoints of versions before the rule set: start fresh). */
  detector?: string;
  pending?: ClickEvent[];
  newest: Record<string, number>;
  /** The journey rollups (absent when they were off, or before they existed: start fresh). */
  journey?: RollupsSnapshot;
}

export interface ProcessorParts {
  detector: Detector;
  order: EventOrder;
  clock: ShardClock;
  journey?: Rollups;
}

/**
 * Where the events a checkpoint held back go back in on restore: a queue of their own, created
 * before any shard's, so they come first among equal times; the watermark releases them as usual.
 */
const RESTORED = '(restored)';

export function saveState({ detector, order, clock, journey }: ProcessorParts): string {
  return JSON.stringify({
    detector: detector.snapshot(),
    pending: order.snapshot(),
    newest: clock.snapshot(),
    journey: journey?.snapshot(),
  } satisfies SavedState);
}

/** Restores a saved state into fresh parts (nothing pushed to `order` yet). */
export function restoreState(text: string, { detector, order, clock, journey }: ProcessorParts): void {
  const state = JSON.parse(text) as SavedState;
  if (state.detector !== undefined) detector.restore(state.detector);
  if (journey && state.journey !== undefined) journey.restore(state.journey);
  order.push(RESTORED, state.pending ?? []);
  clock.restore(state.newest);
}
