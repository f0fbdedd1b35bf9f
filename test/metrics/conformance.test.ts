/** Every AlertMetrics backend takes the same calls: alerts (also none), progress totals, close twice. */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { type Alert, alertId } from '../../src/core/alert.js';
import { EmfMetrics } from '../../src/metrics/emf/metrics.js';
import { PrometheusMetrics } from '../../src/metrics/prometheus/metrics.js';
import type { AlertMetrics } from '../../src/metrics/types.js';

function alert(user: number, count: number): Alert {
  const start = '2019-10-01T00:00:10.000Z';
  return {
    id: alertId('reference-user-rate', 'user', String(user), Date.parse(start)),
    rule: 'reference-user-rate',
    severity: count > 10 ? 'high' : 'medium',
    key_type: 'user',
    key: String(user),
    user_id: user,
    window_start: start,
    window_end: '2019-10-01T00:00:20.000Z',
    count,
    score: count / 5,
    first_seen: start,
    last_seen: start,
    detected_event_time: start,
    detected_at: '2026-11-27T00:00:00.000Z',
    evidence: {},
  };
}

interface Backend {
  name: string;
  /** Text that the output must hold once the alerts above are recorded. */
  shows: string;
  make(): { metrics: AlertMetrics; observed: () => string };
}

const backends: Backend[] = [
  {
    name: 'prometheus',
    shows: 'storepulse_alerts_total{rule="reference-user-rate",severity="high"} 1',
    make() {
      const metrics = new PrometheusMetrics({ port: 0 });
      return { metrics, observed: () => metrics.render() };
    },
  },
  {
    name: 'emf',
    shows: '"user_id":"541312140","ecomm-user-high-volume-events":12',
    make() {
      const out = new PassThrough();
      let text = '';
      out.on('data', (c: Buffer) => (text += c.toString('utf8')));
      return { metrics: new EmfMetrics({ out }), observed: () => text };
    },
  },
];

describe.each(backends)('AlertMetrics conformance: $name', (backend) => {
  it('implements the contract', async () => {
    const { metrics, observed } = backend.make();
    expect(metrics.name).toBe(backend.name);
    metrics.recordAlerts([]);
    const before = observed();
    metrics.recordAlerts([alert(541312140, 12), alert(2, 6)]);
    expect(observed()).not.toBe(before);
    expect(observed()).toContain(backend.shows);
    metrics.recordProgress?.({ events: 10, late: 1, rejected: 0, alerts: 2 });
    await metrics.close();
    await metrics.close();
    // Recording after close neither throws nor writes to a closed output.
    expect(() => metrics.recordAlerts([alert(3, 7)])).not.toThrow();
  });
});
