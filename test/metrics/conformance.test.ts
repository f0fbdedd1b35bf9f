/** Every AlertMetrics backend takes the same calls: alerts (also none), progress totals, close twice. */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { alert } from '../helpers/alerts.js';
import { EmfMetrics } from '../../src/metrics/emf/metrics.js';
import { PrometheusMetrics } from '../../src/metrics/prometheus/metrics.js';
import type { AlertMetrics } from '../../src/metrics/types.js';

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
