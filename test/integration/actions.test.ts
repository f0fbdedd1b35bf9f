/**
 * The actions of `storepulse process` through the CLI, against the real things on loopback: alerts in
 * DynamoDB (dynalite) with the reference key scheme, high-severity alerts to a signed webhook that is
 * down during the first run and up for the second, and CloudWatch EMF lines in a file.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../src/core/alert.js';
import type { OutboxStats } from '../../src/stores/types.js';
import { generateCsv, storepulseAsync } from '../helpers/cli.js';
import { type Dynalite, startDynalite } from '../helpers/dynalite.js';
import { startWebhookReceiver } from '../helpers/webhook-receiver.js';

const SECRET = 'test-secret';
let dir: string;
let dynamo: Dynalite;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'sp-actions-'));
  dynamo = await startDynalite();
});

afterAll(async () => {
  await dynamo?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('process → DynamoDB, webhook via the outbox, EMF', () => {
  it('loses no notification while the webhook is down and sends none twice', async () => {
    const csv = path.join(dir, 'events.csv');
    generateCsv(csv, 30_000, 5);
    // A port that nothing listens on yet: the webhook is down for the whole first run.
    const probe = await startWebhookReceiver(SECRET);
    const port = probe.port;
    await probe.stop();
    const emf = path.join(dir, 'metrics.emf');
    const config = path.join(dir, 'storepulse.config.json');
    const write = (drainSeconds: number) =>
      writeFileSync(
        config,
        JSON.stringify({
          actions: {
            store: { backend: 'dynamodb', endpoint: dynamo.endpoint, region: 'us-east-1' },
            metrics: { emf: { out: emf } },
            notify: {
              console: null,
              webhook: { url: `http://127.0.0.1:${port}/hook`, secret: SECRET },
              baseDelayMs: 20,
              maxDelayMs: 100,
              drainSeconds,
            },
          },
        }),
      );
    const env = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' };
    const dataDir = path.join(dir, 'data');
    const cli = (args: string[]) =>
      storepulseAsync(['--data-dir', dataDir, '--config', config, ...args], { env });

    write(1);
    expect((await cli(['simulate', csv])).code).toBe(0);
    const first = await cli(['process']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/webhook attempt \d+ failed/);

    const listed = await cli(['alerts', '--json', '--limit', '100000']);
    expect(listed.code, listed.stderr).toBe(0);
    const alerts = JSON.parse(listed.stdout) as Alert[];
    const high = alerts.filter((a) => a.severity === 'high');
    expect(high.length).toBeGreaterThan(5);
    expect(existsSync(path.join(dataDir, 'alerts.sqlite'))).toBe(false);
    const waiting = JSON.parse((await cli(['notifications', '--json'])).stdout) as OutboxStats;
    expect(waiting.byNotifier.webhook).toMatchObject({ pending: high.length, delivered: 0, dead: 0 });

    // The webhook comes up; the next run has nothing new to read and delivers what waited.
    const receiver = await startWebhookReceiver(SECRET, port);
    try {
      write(30);
      const second = await cli(['process']);
      expect(second.code, second.stderr).toBe(0);
      const got = receiver.accepted();
      expect(got.every((r) => r.signatureOk)).toBe(true);
      const ids = got.map((r) => r.deliveryId);
      expect(new Set(ids).size).toBe(ids.length);
      expect(new Set(ids)).toEqual(new Set(high.map((a) => `${a.id}:webhook`)));
      const done = JSON.parse((await cli(['notifications', '--json'])).stdout) as OutboxStats;
      expect(done.byNotifier.webhook).toMatchObject({ pending: 0, delivered: high.length, dead: 0 });
      // A third run sends nothing again.
      expect((await cli(['process'])).code).toBe(0);
      expect(receiver.accepted()).toHaveLength(got.length);
    } finally {
      await receiver.stop();
    }

    // EMF: one line per user alert, the reference metric and namespace.
    const lines = readFileSync(emf, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(alerts.length);
    const userLine = lines.find((l) => l.key_type === 'user')!;
    expect(userLine).toMatchObject({
      _aws: { CloudWatchMetrics: [{ Namespace: 'ecommerce-namespace-1', Dimensions: [['user_id']] }] },
    });
    expect(typeof userLine['ecomm-user-high-volume-events']).toBe('number');
  });
});
