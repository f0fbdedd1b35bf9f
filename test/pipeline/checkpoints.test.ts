import { describe, expect, it } from 'vitest';
import { type Checkpointer, Checkpoints, type CheckpointsOptions } from '../../src/pipeline/checkpoints.js';

function deferred() {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const settle = () => new Promise((r) => setImmediate(r));

/** A consumer whose positions and state the test moves, recording what each step saw, in order. */
function harness(over: Partial<CheckpointsOptions> = {}) {
  const log: string[] = [];
  let clock = 0;
  let position = 0;
  let state = 0;
  const acting: ReturnType<typeof deferred>[] = [];
  const sealing: ReturnType<typeof deferred>[] = [];
  const to: Checkpointer = {
    restoredState: undefined,
    handedOut: () => ({ shard: String(position) }),
    commit: async (s, positions) => void log.push(`commit ${s} at ${positions.shard}`),
  };
  const checkpoints = new Checkpoints({
    to,
    everyRecords: 100,
    everyMs: 1000,
    now: () => clock,
    state: () => String(state),
    alertsActed: () => {
      const d = deferred();
      acting.push(d);
      return d.promise.then(() => void log.push('alerts acted'));
    },
    lakeSealed: () => {
      const d = deferred();
      sealing.push(d);
      return d.promise.then(() => void log.push('lake sealed'));
    },
    onSaved: () => log.push('saved'),
    ...over,
  });
  return {
    checkpoints,
    log,
    acting,
    sealing,
    tick: (ms: number) => (clock += ms),
    read: (n: number) => {
      position += n;
      state += n;
    },
  };
}

describe('Checkpoints', () => {
  it('is due every N records or T ms, whichever comes first, counted from the last one taken', async () => {
    const h = harness();
    expect(h.checkpoints.due(60)).toBe(false);
    expect(h.checkpoints.due(40)).toBe(true);
    const taking = h.checkpoints.take();
    await taking;
    expect(h.checkpoints.due(99)).toBe(false);
    h.tick(999);
    expect(h.checkpoints.due(0)).toBe(false);
    h.tick(1);
    expect(h.checkpoints.due(0)).toBe(true);
  });

  it('takes positions and state at once, and commits them after the alerts and the lake caught up', async () => {
    const h = harness();
    h.read(10);
    await h.checkpoints.take(); // resolves once taken, not once saved
    expect(h.acting).toHaveLength(1); // both asked at the moment of taking…
    expect(h.sealing).toHaveLength(1);
    h.read(5); // …so later reads are not part of this checkpoint
    h.sealing[0]!.resolve();
    await settle();
    expect(h.log).toEqual(['lake sealed']); // no commit before the alerts are acted on
    h.acting[0]!.resolve();
    await h.checkpoints.saved();
    expect(h.log).toEqual(['lake sealed', 'alerts acted', 'commit 10 at 10', 'saved']);
  });

  it('saves one checkpoint at a time: the next is not taken before the last is saved', async () => {
    const h = harness();
    h.read(1);
    await h.checkpoints.take();
    h.read(1);
    let second = false;
    const next = h.checkpoints.take().then(() => (second = true));
    await settle();
    expect(second).toBe(false);
    expect(h.acting).toHaveLength(1);
    h.acting[0]!.resolve();
    h.sealing[0]!.resolve();
    await next;
    expect(h.log).toEqual(['alerts acted', 'lake sealed', 'commit 1 at 1', 'saved']);
    h.acting[1]!.resolve();
    h.sealing[1]!.resolve();
    await h.checkpoints.saved();
    expect(h.log.slice(4)).toEqual(['alerts acted', 'lake sealed', 'commit 2 at 2', 'saved']);
  });

  it('without a lake, commits once the alerts are acted on', async () => {
    const h = harness({ lakeSealed: undefined });
    h.read(3);
    await h.checkpoints.take();
    h.acting[0]!.resolve();
    await h.checkpoints.saved();
    expect(h.log).toEqual(['alerts acted', 'commit 3 at 3', 'saved']);
  });

  it('fails the next checkpoint and the end of the run when saving failed, and commits nothing', async () => {
    const h = harness();
    await h.checkpoints.take();
    h.acting[0]!.resolve();
    h.sealing[0]!.reject(new Error('disk full'));
    await settle(); // no unhandled rejection in between (vitest would fail the run)
    await expect(h.checkpoints.saved()).rejects.toThrow('disk full');
    await expect(h.checkpoints.take()).rejects.toThrow('disk full');
    expect(h.log).toEqual(['alerts acted']);
  });

  it('fails the run when the commit itself fails', async () => {
    const failing = new Checkpoints({
      to: {
        restoredState: undefined,
        handedOut: () => ({}),
        commit: () => Promise.reject(new Error('checkpoint store gone')),
      },
      everyRecords: 1,
      everyMs: 1,
      now: () => 0,
      state: () => '{}',
      alertsActed: () => Promise.resolve(),
    });
    await failing.take();
    await expect(failing.saved()).rejects.toThrow('checkpoint store gone');
  });
});
