import { describe, expect, it } from 'vitest';
import type { ClickEvent } from '../../src/core/event.js';
import { EventOrder } from '../../src/pipeline/event-order.js';
import { ev, T0 } from '../helpers/events.js';

const A = 'shardId-a';
const B = 'shardId-b';
const C = 'shardId-c';

/** Ordered on event_time, relative to T0; user ids name the events. */
const order = () => new EventOrder((e) => e.event_time);
const at = (user: number, ms: number) => ev(user, ms);
const users = (events: readonly ClickEvent[]) => events.map((e) => e.user_id);

describe('EventOrder', () => {
  it('releases everything up to the watermark, merged across shards in time order', () => {
    const o = order();
    expect(o.push(A, [at(1, 100), at(2, 400), at(3, 700)])).toEqual([]);
    o.push(B, [at(4, 200), at(5, 300), at(6, 800)]);
    expect(o.size).toBe(6);
    expect(users(o.release(T0 + 400))).toEqual([1, 4, 5, 2]);
    expect(o.size).toBe(2);
    expect(users(o.release(T0 + 400))).toEqual([]); // nothing new at or below it
    expect(users(o.release(T0 + 1000))).toEqual([3, 6]);
    expect(o.size).toBe(0);
  });

  it('includes events exactly at the watermark and holds those above it', () => {
    const o = order();
    o.push(A, [at(1, 500), at(2, 501)]);
    expect(users(o.release(T0 + 500))).toEqual([1]);
    expect(users(o.release(T0 + 499))).toEqual([]); // a watermark that went back releases nothing
    expect(users(o.drain())).toEqual([2]);
  });

  it('with one shard, releases it in its own order', () => {
    const o = order();
    o.push(A, [at(1, 100), at(2, 100), at(3, 200)]);
    o.push(A, [at(4, 300)]);
    expect(users(o.release(T0 + 250))).toEqual([1, 2, 3]);
    expect(users(o.drain())).toEqual([4]);
  });

  it('breaks ties between shards by the order the shards first came, and keeps each shard’s order', () => {
    const o = order();
    o.push(B, [at(1, 100), at(2, 100)]);
    o.push(A, [at(3, 100), at(4, 100)]);
    o.push(C, [at(5, 50), at(6, 100)]);
    expect(users(o.release(T0 + 100))).toEqual([5, 1, 2, 3, 4, 6]);
  });

  it('is not held back by a shard with nothing queued: an idle shard is the watermark’s business', () => {
    const o = order();
    o.push(A, [at(1, 100)]);
    o.push(B, []); // heard from, nothing valid
    expect(users(o.release(T0 + 100))).toEqual([1]);
    o.push(A, [at(2, 900)]);
    // B idle: the caller's watermark moved past it, and what A holds up to it comes out.
    expect(users(o.release(T0 + 900))).toEqual([2]);
  });

  it('releases what a shard that ended still holds once the watermark passes it, or at the end', () => {
    const o = order();
    o.push(A, [at(1, 100), at(2, 600)]); // A is read to its end (a parent shard after a split)
    o.push(B, [at(3, 300)]);
    expect(users(o.release(T0 + 300))).toEqual([1, 3]);
    o.push(B, [at(4, 700)]);
    expect(users(o.release(T0 + 700))).toEqual([2, 4]);
    o.push(B, [at(5, 800)]);
    o.push(A, []);
    expect(users(o.drain())).toEqual([5]);
  });

  it('returns events without a time at once, holding nothing for them', () => {
    const o = new EventOrder((e) => (e.user_id === 0 ? undefined : e.event_time));
    expect(users(o.push(A, [at(1, 100), at(0, 50), at(2, 200)]))).toEqual([0]);
    expect(o.size).toBe(2);
    expect(users(o.drain())).toEqual([1, 2]);
  });

  it('keeps a shard’s order even when one of its events is older than the one before', () => {
    // Shards come in time order; a straggler waits behind its shard's head instead of jumping ahead.
    const o = order();
    o.push(A, [at(1, 500), at(2, 100)]);
    o.push(B, [at(3, 300)]);
    expect(users(o.release(T0 + 300))).toEqual([3]);
    expect(users(o.release(T0 + 500))).toEqual([1, 2]);
  });

  it('snapshots what it holds in time order, without releasing it', () => {
    const o = order();
    o.push(A, [at(1, 100), at(2, 400)]);
    o.push(B, [at(3, 100), at(4, 300)]);
    o.release(T0 + 100);
    expect(users(o.snapshot())).toEqual([4, 2]);
    expect(o.size).toBe(2);
    expect(users(o.drain())).toEqual([4, 2]);
    expect(o.snapshot()).toEqual([]);
  });

  it('stays in order across the trimming of long queues', () => {
    const o = order();
    const n = 5000;
    o.push(
      A,
      Array.from({ length: n }, (_, i) => at(i, i * 2)),
    );
    o.push(
      B,
      Array.from({ length: n }, (_, i) => at(n + i, i * 2 + 1)),
    );
    const first = o.release(T0 + 5999); // most of each queue: it is trimmed
    expect(first).toHaveLength(6000);
    o.push(A, [at(2 * n, 2 * n)]);
    const rest = o.drain();
    expect(o.size).toBe(0);
    const times = [...first, ...rest].map((e) => e.event_time - T0);
    expect(times).toEqual(Array.from({ length: 2 * n + 1 }, (_, i) => i));
  });
});
