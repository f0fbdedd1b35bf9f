import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../src/core/config.js';
import type { ClickEvent } from '../../src/core/event.js';
import { Detector } from '../../src/core/rules/detector.js';
import { EventOrder } from '../../src/pipeline/event-order.js';
import { type ProcessorParts, restoreState, saveState } from '../../src/pipeline/processor-state.js';
import { ShardClock } from '../../src/pipeline/shard-clock.js';
import { ev, T0 } from '../helpers/events.js';

const A = 'shardId-a';
const B = 'shardId-b';

function parts(started = 0): ProcessorParts {
  const detector = new Detector(DEFAULT_CONFIG.detect, () => 0);
  return { detector, order: new EventOrder((e) => detector.timeOf(e)), clock: new ShardClock(2000, started) };
}

const users = (events: readonly ClickEvent[]) => events.map((e) => e.user_id);

describe('processor state', () => {
  it('restores the detector, the events waiting for other shards and the shards’ newest times', () => {
    const before = parts();
    before.detector.add([ev(1, 0), ev(1, 100)]);
    before.order.push(A, [ev(2, 1000), ev(3, 3000)]);
    before.order.push(B, [ev(4, 2000)]);
    before.clock.heard(A, T0 + 3000, 0);
    before.clock.heard(B, T0 + 2000, 0);
    const saved = saveState(before);

    const after = parts(60_000);
    restoreState(saved, after);
    expect(after.detector.snapshot()).toBe(before.detector.snapshot());
    expect(after.clock.snapshot()).toEqual({ [A]: T0 + 3000, [B]: T0 + 2000 });
    expect(after.order.size).toBe(3);
    // The restored events are released by the watermark like any others, in time order.
    expect(users(after.order.release(T0 + 2000))).toEqual([2, 4]);
    expect(users(after.order.drain())).toEqual([3]);
  });

  it('puts restored events first among equal times', () => {
    const before = parts();
    before.order.push(A, [ev(2, 1000)]);
    const after = parts();
    restoreState(saveState(before), after);
    after.order.push(A, [ev(5, 1000)]);
    expect(users(after.order.drain())).toEqual([2, 5]);
  });

  it('starts the detector fresh from a checkpoint older than the rule set (no detector snapshot)', () => {
    const fresh = parts().detector.snapshot();
    const after = parts();
    restoreState(JSON.stringify({ pending: [ev(2, 1000)], newest: { [A]: T0 + 1000 } }), after);
    expect(after.detector.snapshot()).toBe(fresh);
    expect(after.order.size).toBe(1);
    expect(after.clock.snapshot()).toEqual({ [A]: T0 + 1000 });
  });
});
