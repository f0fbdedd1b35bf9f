import { afterEach, describe, expect, it } from 'vitest';
import { PrometheusMetrics } from '../../src/metrics/prometheus/metrics.js';
import { escapeLabelValue } from '../../src/metrics/prometheus/registry.js';
import { alert } from '../helpers/alerts.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A parser of the text format 0.0.4, strict enough to catch bad escaping and stray lines. */
function parse(text: string): { samples: Sample[]; types: Map<string, string>; help: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  expect(text.endsWith('\n')).toBe(true);
  for (const line of text.slice(0, -1).split('\n')) {
    let m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (m) {
      (m[1] === 'HELP' ? help : types).set(m[2]!, m[3]!);
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    let rest = m[2] ?? '';
    while (rest) {
      const l = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\\\|\\"|\\n)*)"(,|$)/.exec(rest);
      if (!l) throw new Error(`bad labels: ${JSON.stringify(m[2])}`);
      labels[l[1]!] = l[2]!.replace(/\\(\\|"|n)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      rest = rest.slice(l[0].length);
    }
    const raw = m[3]!;
    const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw);
    expect(Number.isNaN(value) && raw !== 'NaN').toBe(false);
    expect(types.has(m[1]!)).toBe(true); // TYPE comes before the samples
    samples.push({ name: m[1]!, labels, value });
  }
  return { samples, types, help };
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && JSON.stringify(s.labels) === JSON.stringify(labels))?.value;
}

describe('Prometheus metrics', () => {
  let metrics: PrometheusMetrics | undefined;
  afterEach(async () => {
    await metrics?.close();
    metrics = undefined;
  });

  it('serves the counters and gauges on GET /metrics in the text format', async () => {
    metrics = new PrometheusMetrics({ port: 0, now: () => Date.UTC(2026, 10, 27) });
    const port = await metrics.listen();
    expect(port).toBeGreaterThan(0);
    expect(metrics.port).toBe(port);
    metrics.recordAlerts([
      alert(7, 6, { rule: 'reference-user-rate', severity: 'medium' }),
      alert(8, 14, { rule: 'reference-user-rate', severity: 'high' }),
    ]);
    metrics.recordAlerts([
      alert(9, 11, { rule: 'reference-user-rate', severity: 'high' }),
      alert(null, 900, { rule: 'spike', severity: 'low', key: 'all' }),
    ]);
    metrics.recordProgress({ events: 1000, late: 3, rejected: 2, alerts: 5 });
    metrics.recordProgress({ events: 2500, late: 4, rejected: 2, alerts: 6 });

    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const { samples, types, help } = parse(await res.text());
    expect(
      value(samples, 'storepulse_alerts_total', { rule: 'reference-user-rate', severity: 'medium' }),
    ).toBe(1);
    expect(value(samples, 'storepulse_alerts_total', { rule: 'reference-user-rate', severity: 'high' })).toBe(
      2,
    );
    expect(value(samples, 'storepulse_alerts_total', { rule: 'spike', severity: 'low' })).toBe(1);
    expect(value(samples, 'storepulse_alert_max_count', { rule: 'reference-user-rate' })).toBe(14);
    expect(value(samples, 'storepulse_alert_max_count', { rule: 'spike' })).toBe(900);
    expect(value(samples, 'storepulse_events_total')).toBe(2500);
    expect(value(samples, 'storepulse_late_events_total')).toBe(4);
    expect(value(samples, 'storepulse_rejected_total')).toBe(2);
    expect(value(samples, 'storepulse_alerts_fired_total')).toBe(6);
    const start = value(samples, 'process_start_time_seconds')!;
    expect(start).toBeLessThanOrEqual(Date.UTC(2026, 10, 27) / 1000);
    expect(start).toBeGreaterThan(Date.UTC(2026, 10, 27) / 1000 - 3600);
    expect(types.get('storepulse_alerts_total')).toBe('counter');
    expect(types.get('storepulse_events_total')).toBe('counter');
    expect(types.get('storepulse_alert_max_count')).toBe('gauge');
    expect(types.get('process_start_time_seconds')).toBe('gauge');
    for (const name of types.keys()) expect(help.get(name)).toBeTruthy();
  });

  it('shows zero counters before any progress', async () => {
    metrics = new PrometheusMetrics({ port: 0 });
    const { samples } = parse(metrics.render());
    expect(value(samples, 'storepulse_events_total')).toBe(0);
    expect(samples.some((s) => s.name === 'storepulse_alerts_total')).toBe(false);
  });

  it('escapes label values per the spec', async () => {
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
    metrics = new PrometheusMetrics({ port: 0 });
    const rule = 'odd "rule" \\ with\na line break, {braces}=';
    metrics.recordAlerts([alert(7, 12, { rule: rule, severity: 'high' })]);
    const port = await metrics.listen();
    const { samples } = parse(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
    expect(value(samples, 'storepulse_alerts_total', { rule, severity: 'high' })).toBe(1);
  });

  it('answers 404 elsewhere, 405 for other methods, and HEAD without a body', async () => {
    metrics = new PrometheusMetrics({ port: 0 });
    const port = await metrics.listen();
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${port}/metrics/x`)).status).toBe(404);
    const post = await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    const head = await fetch(`http://127.0.0.1:${port}/metrics?x=1`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('reports a port in use clearly, and closes twice', async () => {
    metrics = new PrometheusMetrics({ port: 0 });
    const port = await metrics.listen();
    const second = new PrometheusMetrics({ port });
    await expect(second.listen()).rejects.toThrow(new RegExp(`cannot listen on 127.0.0.1:${port}`));
    await second.close();
    await metrics.close();
    await metrics.close();
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
    expect(() => new PrometheusMetrics({ port: 70000 })).toThrow(/0-65535/);
  });
});
