import { describe, expect, it } from 'vitest';
import { GroupQueue } from '../../src/pipeline/group-queue.js';

/** A run that holds each call until released, recording what it got. */
function gated() {
  const calls: number[][] = [];
  const gates: (() => void)[] = [];
  const run = (items: number[]) =>
    new Promise<void>((resolve) => {
      calls.push(items);
      gates.push(resolve);
    });
  const release = async () => {
    gates.shift()!();
    await new Promise((r) => setImmediate(r));
  };
  return { calls, run, release };
}

describe('GroupQueue', () => {
  it('runs in order, one call at a time, grouping what waits', async () => {
    const g = gated();
    const q = new GroupQueue(g.run, 100);
    await q.push([1]);
    await q.push([2, 3]);
    await q.push([4]);
    expect(g.calls).toEqual([[1]]);
    await g.release();
    expect(g.calls).toEqual([[1], [2, 3, 4]]);
    await g.release();
    await q.written();
  });

  it('written() waits for what was pushed before it, not for later pushes', async () => {
    const g = gated();
    const q = new GroupQueue(g.run, 100);
    await q.push([1]);
    let firstWritten = false;
    const w = q.written().then(() => (firstWritten = true));
    await q.push([2]);
    await g.release();
    await w;
    expect(firstWritten).toBe(true);
    expect(g.calls).toEqual([[1], [2]]);
    await g.release();
  });

  it('makes push wait when too much is waiting', async () => {
    const g = gated();
    const q = new GroupQueue(g.run, 3);
    await q.push([1]);
    let returned = false;
    const p = q.push([2, 3, 4]).then(() => (returned = true));
    await new Promise((r) => setImmediate(r));
    expect(returned).toBe(false);
    await g.release();
    await g.release();
    await p;
    expect(returned).toBe(true);
  });

  it('fails every later push and wait with the error of a failed call', async () => {
    const q = new GroupQueue<number>(() => Promise.reject(new Error('disk full')), 100);
    await q.push([1]);
    await expect(q.written()).rejects.toThrow('disk full');
    await expect(q.push([2])).rejects.toThrow('disk full');
  });
});
