import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { alert } from '../helpers/alerts.js';
import { EmfMetrics } from '../../src/metrics/emf/metrics.js';

const UNITS = new Set(
  'Seconds Microseconds Milliseconds Bytes Kilobytes Megabytes Gigabytes Terabytes Bits Kilobits Megabits Gigabits Terabits Percent Count Bytes/Second Kilobytes/Second Megabytes/Second Gigabytes/Second Terabytes/Second Bits/Second Kilobits/Second Megabits/Second Gigabits/Second Terabits/Second Count/Second None'.split(
    ' ',
  ),
);

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The structure the EMF specification requires: a JSON object with `_aws` holding a numeric
 * `Timestamp` (ms) and a `CloudWatchMetrics` array of MetricDirectives; each directive has a
 * non-empty `Namespace`, `Dimensions` (arrays of at most 30 member names, each a string member of the
 * root) and `Metrics` (at most 100 definitions with a `Name` that is a numeric member of the root, an
 * optional valid `Unit`, an optional `StorageResolution` of 1 or 60). Returns the violations.
 */
function emfViolations(line: string): string[] {
  const bad: string[] = [];
  if (Buffer.byteLength(line) > 1024 * 1024) bad.push('over 1 MB');
  const doc = JSON.parse(line) as unknown;
  if (!isObject(doc)) return ['not an object'];
  const aws = doc._aws;
  if (!isObject(aws)) return ['no _aws object'];
  if (typeof aws.Timestamp !== 'number' || !Number.isInteger(aws.Timestamp))
    bad.push('Timestamp not an integer');
  if (!Array.isArray(aws.CloudWatchMetrics)) return [...bad, 'CloudWatchMetrics not an array'];
  for (const d of aws.CloudWatchMetrics as unknown[]) {
    if (!isObject(d)) {
      bad.push('directive not an object');
      continue;
    }
    if (typeof d.Namespace !== 'string' || !/\S/.test(d.Namespace) || d.Namespace.length > 1024)
      bad.push('bad Namespace');
    if (!Array.isArray(d.Dimensions)) bad.push('Dimensions not an array');
    else
      for (const set of d.Dimensions as unknown[]) {
        if (!Array.isArray(set) || set.length > 30) bad.push('bad DimensionSet');
        else
          for (const dim of set as unknown[]) {
            if (typeof dim !== 'string' || typeof doc[dim] !== 'string')
              bad.push(`dimension ${String(dim)} not a string member`);
            else if ((doc[dim] as string).length > 1024 || !/\S/.test(doc[dim] as string))
              bad.push(`bad value of ${dim}`);
          }
      }
    if (!Array.isArray(d.Metrics) || d.Metrics.length > 100) bad.push('bad Metrics');
    else
      for (const m of d.Metrics as unknown[]) {
        if (!isObject(m) || typeof m.Name !== 'string' || !m.Name) {
          bad.push('metric without Name');
          continue;
        }
        const v = doc[m.Name];
        const numeric =
          typeof v === 'number' ||
          (Array.isArray(v) && v.length <= 100 && v.every((x) => typeof x === 'number'));
        if (!numeric) bad.push(`metric ${m.Name} not a numeric member`);
        if (m.Unit !== undefined && !UNITS.has(m.Unit as string)) bad.push(`bad Unit ${String(m.Unit)}`);
        if (m.StorageResolution !== undefined && m.StorageResolution !== 1 && m.StorageResolution !== 60)
          bad.push('bad StorageResolution');
      }
  }
  return bad;
}

function collect(): { out: PassThrough; lines: () => string[] } {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString('utf8')));
  return { out, lines: () => text.split('\n').filter(Boolean) };
}

const NOW = Date.UTC(2026, 10, 27, 12);

describe('EMF metrics', () => {
  it('writes one valid EMF line per alert, in the reference metric, namespace and dimension', async () => {
    const { out, lines } = collect();
    const metrics = new EmfMetrics({ out, now: () => NOW });
    const a = [alert(541312140, 6), alert(2, 14, { severity: 'high' })];
    metrics.recordAlerts(a);
    metrics.recordAlerts([]);
    await metrics.close();
    const got = lines();
    expect(got).toHaveLength(2);
    for (const l of got) expect(emfViolations(l)).toEqual([]);
    const first = JSON.parse(got[0]!) as Record<string, unknown>;
    expect(first).toEqual({
      _aws: {
        Timestamp: NOW,
        CloudWatchMetrics: [
          {
            Namespace: 'ecommerce-namespace-1',
            Dimensions: [['user_id']],
            Metrics: [{ Name: 'ecomm-user-high-volume-events', Unit: 'Count' }],
          },
        ],
      },
      user_id: '541312140',
      'ecomm-user-high-volume-events': 6,
      num_actions_per_watermark: 6,
      rule: 'reference-user-rate',
      severity: 'medium',
      alert_id: a[0]!.id,
      key_type: 'user',
      key: '541312140',
      window_start: a[0]!.window_start,
    });
    expect(JSON.parse(got[1]!)).toMatchObject({
      user_id: '2',
      'ecomm-user-high-volume-events': 14,
      severity: 'high',
    });
  });

  it('puts alerts on no user under the dimension rule', async () => {
    const { out, lines } = collect();
    const metrics = new EmfMetrics({ out, namespace: 'ns', metricName: 'm', now: () => NOW });
    const session = { ...alert(7, 30, { rule: 'session-rate', keyType: 'session' }), key: 'sess-1' };
    metrics.recordAlerts([alert(null, 900, { rule: 'spike', severity: 'low' }), session]);
    await metrics.close();
    const [global, sess] = lines().map(
      (l) =>
        JSON.parse(l) as Record<string, unknown> & {
          _aws: { CloudWatchMetrics: { Dimensions: string[][] }[] };
        },
    );
    for (const l of lines()) expect(emfViolations(l)).toEqual([]);
    expect(global!._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([['rule']]);
    expect(global).toMatchObject({ rule: 'spike', m: 900, key_type: 'global' });
    expect(global!.user_id).toBeUndefined();
    // A session alert is not the user's own count, though it names the user.
    expect(sess!._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([['rule']]);
    expect(sess).toMatchObject({ rule: 'session-rate', m: 30, user_id: '7' });
  });

  it('appends to a file and leaves what was there', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sp-emf-'));
    try {
      const file = path.join(dir, 'metrics.ndjson');
      writeFileSync(file, '{"earlier":true}\n');
      for (const user of [1, 2]) {
        const metrics = new EmfMetrics({ out: file, now: () => NOW });
        metrics.recordAlerts([alert(user, 6 + user)]);
        await metrics.close();
        await metrics.close();
      }
      const got = readFileSync(file, 'utf8').split('\n').filter(Boolean);
      expect(got[0]).toBe('{"earlier":true}');
      expect(got.slice(1).map((l) => (JSON.parse(l) as { user_id: string }).user_id)).toEqual(['1', '2']);
      for (const l of got.slice(1)) expect(emfViolations(l)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the validator catches what the spec forbids', () => {
    const ok = new EmfMetrics({ out: new PassThrough(), now: () => NOW }).line(alert(1, 6));
    expect(emfViolations(JSON.stringify(ok))).toEqual([]);
    expect(emfViolations(JSON.stringify({ ...ok, user_id: 1 }))).toEqual([
      'dimension user_id not a string member',
    ]);
    expect(emfViolations(JSON.stringify({ ...ok, 'ecomm-user-high-volume-events': '6' }))).toEqual([
      'metric ecomm-user-high-volume-events not a numeric member',
    ]);
    expect(emfViolations(JSON.stringify({ ...ok, _aws: { ...ok._aws, Timestamp: '1' } }))).toEqual([
      'Timestamp not an integer',
    ]);
  });
});
