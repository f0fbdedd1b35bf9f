import { describe, expect, it } from 'vitest';
import { ShardClock } from '../../src/pipeline/shard-clock.js';

const IDLE = 2000;
const A = 'shardId-a';
const B = 'shardId-b';

describe('ShardClock', () => {
  it('is the minimum newest event time over the shards', () => {
    const clock = new ShardClock(IDLE, 0);
    clock.heard(A, 5000, 10);
    expect(clock.watermark([A, B], 10)).toBeUndefined(); // B has not spoken and may still
    clock.heard(B, 3000, 20);
    expect(clock.watermark([A, B], 20)).toBe(3000);
    clock.heard(B, 9000, 30);
    expect(clock.watermark([A, B], 30)).toBe(5000);
  });

  it('never moves a shard back in event time', () => {
    const clock = new ShardClock(IDLE, 0);
    clock.heard(A, 5000, 10);
    clock.heard(A, 4000, 20);
    expect(clock.watermark([A], 20)).toBe(5000);
  });

  it('waits for a shard that never spoke until it has been silent for idleMs since the start', () => {
    const clock = new ShardClock(IDLE, 1000);
    clock.heard(A, 5000, 1500);
    expect(clock.watermark([A, B], 1000 + IDLE - 1)).toBeUndefined();
    expect(clock.watermark([A, B], 1000 + IDLE)).toBe(5000);
  });

  it('stops counting a shard silent for more than idleMs, and counts it again once it speaks', () => {
    const clock = new ShardClock(IDLE, 0);
    clock.heard(A, 1000, 0);
    clock.heard(B, 8000, 0);
    expect(clock.watermark([A, B], IDLE)).toBe(1000); // silent exactly idleMs: still counts
    clock.heard(B, 9000, IDLE + 1);
    expect(clock.watermark([A, B], IDLE + 1)).toBe(9000); // A idle
    clock.heard(A, 1500, IDLE + 2);
    expect(clock.watermark([A, B], IDLE + 2)).toBe(1500);
  });

  it('holds the watermark while a live shard has no timed event, and is undefined with every shard idle', () => {
    const clock = new ShardClock(IDLE, 0);
    clock.heard(A, 1000, 0);
    clock.heard(B, -Infinity, 0);
    expect(clock.watermark([A, B], 10)).toBeUndefined();
    expect(clock.watermark([A, B], IDLE + 1)).toBeUndefined();
  });

  it('only counts the shards the reader follows now', () => {
    const clock = new ShardClock(IDLE, 0);
    clock.heard(A, 1000, 0);
    clock.heard(B, 7000, 0);
    // A was a parent shard, drained and closed: its children follow.
    expect(clock.watermark([B], 10)).toBe(7000);
  });

  it('does not count time paused for the processor’s own work as silence', () => {
    const clock = new ShardClock(IDLE, 0);
    clock.heard(A, 1000, 0);
    clock.heard(B, 8000, 0);
    clock.pause(5000); // a slow checkpoint
    clock.heard(B, 9000, 5000);
    expect(clock.watermark([A, B], 5000)).toBe(1000);
  });

  it('restores newest times from a checkpoint as heard at the start', () => {
    const before = new ShardClock(IDLE, 0);
    before.heard(A, 4000, 0);
    before.heard(B, -Infinity, 0);
    expect(before.snapshot()).toEqual({ [A]: 4000 }); // no timed event: nothing to save
    const after = new ShardClock(IDLE, 100_000);
    after.restore(before.snapshot());
    expect(after.watermark([A], 100_000)).toBe(4000);
    expect(after.watermark([A], 100_000 + IDLE + 1)).toBeUndefined();
    after.heard(A, 3000, 100_001); // older than restored: the restored time stands
    expect(after.snapshot()).toEqual({ [A]: 4000 });
  });
});

describe('ShardClock with a reader that tells which shards are caught up', () => {
  it('never passes over a shard with records still to read, however long it is silent', () => {
    const behind = new Set([A]);
    const clock = new ShardClock(IDLE, 0, (id) => !behind.has(id));
    clock.heard(A, 1000, 0);
    clock.heard(B, 8000, 0);
    clock.heard(B, 9000, 10 * IDLE);
    expect(clock.watermark([A, B], 10 * IDLE)).toBe(1000); // A slow, not idle
    behind.delete(A); // its last read found nothing new
    expect(clock.watermark([A, B], 10 * IDLE)).toBe(9000);
  });

  it('waits for a shard that never spoke while it has records to read', () => {
    const clock = new ShardClock(IDLE, 0, (id) => id !== B);
    clock.heard(A, 5000, 0);
    expect(clock.watermark([A, B], 10 * IDLE)).toBeUndefined();
  });
});
