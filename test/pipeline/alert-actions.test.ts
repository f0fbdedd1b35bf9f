import { describe, expect, it } from 'vitest';
import type { Alert } from '../../src/core/alert.js';
import { AlertActions, type AlertTargets } from '../../src/pipeline/alert-actions.js';
import type { AlertStore } from '../../src/stores/types.js';
import type { PutEntry, StreamWriter } from '../../src/streams/types.js';
import { alert } from '../helpers/alerts.js';

/** Every target, logging each call in order; the store keeps one alert per id. */
function targets() {
  const log: string[] = [];
  const stored = new Set<string>();
  const put: PutEntry[] = [];
  const ids = (alerts: readonly Alert[]) => alerts.map((a) => a.key).join(',');
  const store = {
    put: async (alerts: readonly Alert[]) => {
      log.push(`store ${ids(alerts)}`);
      const fresh = alerts.filter((a) => !stored.has(a.id));
      for (const a of fresh) stored.add(a.id);
      return fresh;
    },
  } as unknown as AlertStore;
  const alertStream = {
    name: 'stream-2',
    putRecords: async (entries: readonly PutEntry[]) => {
      log.push(`stream ${entries.map((e) => e.partitionKey).join(',')}`);
      put.push(...entries);
      return [];
    },
  } as unknown as StreamWriter;
  const t: AlertTargets = {
    store,
    alertStream,
    outbox: {
      enqueue: async (alerts) => {
        log.push(`outbox ${ids(alerts)}`);
        return alerts.filter((a) => a.severity === 'high').length;
      },
    },
    metrics: [
      {
        name: 'test',
        recordAlerts: (alerts) => void log.push(`metrics ${ids(alerts)}`),
        close: async () => undefined,
      },
    ],
  };
  return { t, log, put };
}

const counts = () => ({ alerts: 0, newAlerts: 0, notified: 0 });

describe('AlertActions', () => {
  it('puts alerts on stream 2, then in the outbox, then in the store, and counts them', async () => {
    const { t, log } = targets();
    const c = counts();
    const actions = new AlertActions(t, c);
    await actions.push([alert(1, 6), alert(2, 12)]);
    await actions.written();
    expect(log).toEqual(['stream 1,2', 'outbox 1,2', 'store 1,2', 'metrics 1,2']);
    expect(c).toEqual({ alerts: 2, newAlerts: 2, notified: 1 });
  });

  it('tells the metrics only about alerts new to the store (a replay after a crash)', async () => {
    const { t, log } = targets();
    const c = counts();
    const actions = new AlertActions(t, c);
    await actions.push([alert(1, 6)]);
    await actions.written();
    await actions.push([alert(1, 6), alert(3, 7)]);
    await actions.written();
    expect(log.filter((l) => l.startsWith('metrics'))).toEqual(['metrics 1', 'metrics 3']);
    await actions.push([alert(3, 7)]);
    await actions.written();
    expect(log.at(-1)).toBe('store 3');
    expect(c).toEqual({ alerts: 4, newAlerts: 2, notified: 0 });
  });

  it('sends the reference’s stream-2 record, keyed by the alert’s key, with the whole alert', async () => {
    const { t, put } = targets();
    const actions = new AlertActions(t, counts());
    const a = alert(541312140, 12);
    await actions.push([a]);
    await actions.written();
    expect(put).toHaveLength(1);
    expect(put[0]!.partitionKey).toBe('541312140');
    expect(JSON.parse(put[0]!.data)).toEqual({ ...a, num_actions_per_watermark: 12 });
  });

  it('needs only a store', async () => {
    const { t } = targets();
    const c = counts();
    const actions = new AlertActions({ store: t.store }, c);
    await actions.push([alert(1, 6)]);
    await actions.written();
    expect(c).toEqual({ alerts: 1, newAlerts: 1, notified: 0 });
  });

  it('fails later pushes and waits once acting failed (the checkpoint must not pass those alerts)', async () => {
    const { t } = targets();
    const actions = new AlertActions(
      { ...t, store: { put: () => Promise.reject(new Error('store gone')) } as unknown as AlertStore },
      counts(),
    );
    await actions.push([alert(1, 6)]);
    await expect(actions.written()).rejects.toThrow('store gone');
    await expect(actions.push([alert(2, 6)])).rejects.toThrow('store gone');
  });
});
