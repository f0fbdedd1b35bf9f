/**
 * One suite, every notifier: console (into a captured stream), webhook (a node:http receiver that
 * checks the HMAC), smtp (smtp-server) and sns (the fauxqs emulator), all on loopback ports chosen at
 * run time. Each backend must deliver the same alert with its fields and the stable delivery id, keep
 * a batch in order, and classify failures as retryable or permanent where the backend can fail.
 */
import { PassThrough } from 'node:stream';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../src/core/alert.js';
import { ConsoleNotifier } from '../../src/notify/console/notifier.js';
import { SmtpNotifier } from '../../src/notify/smtp/notifier.js';
import { SnsNotifier } from '../../src/notify/sns/notifier.js';
import { DEFAULT_SNS_TOPIC } from '../../src/notify/sns/options.js';
import { deliveryId, type Notifier, NotifyError, notifies } from '../../src/notify/types.js';
import { signWebhook, WebhookNotifier } from '../../src/notify/webhook/notifier.js';
import { startSmtpServer, type SmtpTestServer } from '../helpers/smtp.js';
import { type SnsEmulator, startSnsEmulator } from '../helpers/sns.js';
import { startWebhookReceiver, verifySignature, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { testAlert } from '../helpers/alerts.js';
import { freePort } from '../helpers/ports.js';

const SECRET = 'test-shared-secret';
const CREDENTIALS = { accessKeyId: 'x', secretAccessKey: 'y' };

/** What a receiver got, in the same terms for every backend. */
interface Received {
  deliveryId: string;
  /** All the human-readable text of the delivery. */
  text: string;
}

type FailureKind = 'retryable' | 'permanent';

interface Harness {
  notifier: Notifier;
  received(): Received[];
  /** Makes the endpoint refuse the next deliveries (null: accept again); absent if it cannot fail. */
  failWith?: (kind: FailureKind | null) => void;
  /** A notifier of this kind pointed at a port nothing listens on. */
  unreachable?: (port: number) => Notifier;
  stop(): Promise<void>;
}

interface Backend {
  name: string;
  start(): Promise<Harness>;
}

const backends: Backend[] = [
  {
    name: 'console',
    async start() {
      const out = new PassThrough();
      let captured = '';
      out.on('data', (d: Buffer) => (captured += d.toString('utf8')));
      return {
        notifier: new ConsoleNotifier(out, Infinity, { showDeliveryId: true }),
        received: () =>
          captured
            .split('\n')
            .filter((l) => l.length > 0)
            .map((line) => ({ deliveryId: /\[delivery ([^\]]+)\]$/.exec(line)?.[1] ?? '', text: line })),
        stop: async () => {},
      };
    },
  },
  {
    name: 'webhook',
    async start() {
      const receiver: WebhookReceiver = await startWebhookReceiver(SECRET);
      let failure: FailureKind | null = null;
      receiver.respond = (r) => {
        if (!r.signatureOk) return 401;
        if (failure === 'retryable') return 503;
        if (failure === 'permanent') return 400;
        return 200;
      };
      return {
        notifier: new WebhookNotifier({ url: receiver.url, secret: SECRET, timeoutMs: 5000 }),
        received: () =>
          receiver.accepted().map((r) => ({
            deliveryId: r.deliveryId,
            text: `${r.body.text}\n${JSON.stringify(r.body.blocks)}`,
          })),
        failWith: (kind) => (failure = kind),
        unreachable: (port) => new WebhookNotifier({ url: `http://127.0.0.1:${port}/hook`, secret: SECRET }),
        stop: () => receiver.stop(),
      };
    },
  },
  {
    name: 'smtp',
    async start() {
      const server: SmtpTestServer = await startSmtpServer();
      const options = (port: number) => ({
        host: '127.0.0.1',
        port,
        ignoreTLS: true,
        from: 'storepulse@example.test',
        to: ['ops@example.test', 'oncall@example.test'],
        timeoutMs: 5000,
      });
      return {
        notifier: new SmtpNotifier(options(server.port)),
        received: () =>
          server.messages.map((m) => ({
            deliveryId: m.headers.get('x-storepulse-delivery') ?? '',
            text: `${m.headers.get('subject') ?? ''}\n${m.text}`,
          })),
        failWith: (kind) =>
          (server.rejectRcpt = kind === null ? undefined : kind === 'retryable' ? 451 : 550),
        unreachable: (port) => new SmtpNotifier(options(port)),
        stop: () => server.stop(),
      };
    },
  },
  {
    name: 'sns',
    async start() {
      const emulator: SnsEmulator = await startSnsEmulator();
      const options = (endpoint: string) => ({ endpoint, region: 'us-east-1', credentials: CREDENTIALS });
      return {
        notifier: new SnsNotifier(options(emulator.endpoint)),
        received: () =>
          emulator.published().map((p) => ({ deliveryId: p.attributes.delivery_id ?? '', text: p.body })),
        unreachable: (port) => new SnsNotifier(options(`http://127.0.0.1:${port}`)),
        stop: () => emulator.stop(),
      };
    },
  },
];

/** Every field a person needs, somewhere in what the backend sent. */
function expectAlertContent(text: string, a: Alert): void {
  for (const part of [a.rule, a.key, String(a.count), a.window_start, a.window_end, a.score.toFixed(1)])
    expect(text).toContain(part);
  expect(text.toLowerCase()).toContain(a.severity);
}

describe.each(backends)('notifier conformance: $name', (backend) => {
  let h: Harness;
  beforeAll(async () => {
    h = await backend.start();
  });
  afterAll(async () => {
    await h.notifier.close();
    await h.stop();
  });

  it('notifies high severity by default', () => {
    expect(notifies(h.notifier, testAlert(0))).toBe(true);
    expect(notifies(h.notifier, testAlert(0, { count: 7, severity: 'medium' }))).toBe(false);
  });

  it('delivers an alert with its fields and the delivery id <alert id>:<notifier name>', async () => {
    const a = testAlert(1);
    const before = h.received().length;
    await h.notifier.notify([a]);
    const got = h.received().slice(before);
    expect(got).toHaveLength(1);
    expect(got[0]!.deliveryId).toBe(deliveryId(a.id, h.notifier.name));
    expect(got[0]!.deliveryId).toBe(`${a.id}:${backend.name}`);
    expectAlertContent(got[0]!.text, a);
  });

  it('delivers a small batch in order, and a repeat with the same delivery id', async () => {
    const batch = [testAlert(2), testAlert(3), testAlert(4)];
    const before = h.received().length;
    await h.notifier.notify(batch);
    await h.notifier.notify([batch[0]!]);
    const got = h.received().slice(before);
    expect(got.map((r) => r.deliveryId)).toEqual(
      [...batch, batch[0]!].map((a) => deliveryId(a.id, h.notifier.name)),
    );
    got.slice(0, 3).forEach((r, i) => expectAlertContent(r.text, batch[i]!));
  });

  it('says a failure is retryable when the endpoint cannot be reached', async (ctx) => {
    if (!h.unreachable) return ctx.skip();
    const n = h.unreachable(await freePort());
    try {
      const err = await n.notify([testAlert(5)]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NotifyError);
      expect((err as NotifyError).retryable).toBe(true);
    } finally {
      await n.close();
    }
  });

  it('classifies refusals: transient ones retryable, the others permanent', async (ctx) => {
    if (!h.failWith) return ctx.skip();
    try {
      for (const kind of ['retryable', 'permanent'] as const) {
        h.failWith(kind);
        const err = await h.notifier.notify([testAlert(6)]).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(NotifyError);
        expect((err as NotifyError).retryable).toBe(kind === 'retryable');
        expect((err as NotifyError).status).toBeGreaterThanOrEqual(400);
      }
    } finally {
      h.failWith(null);
    }
    const before = h.received().length;
    await h.notifier.notify([testAlert(6)]);
    expect(
      h
        .received()
        .slice(before)
        .map((r) => r.deliveryId),
    ).toEqual([deliveryId(testAlert(6).id, h.notifier.name)]);
  });
});

describe('webhook specifics', () => {
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    receiver = await startWebhookReceiver(SECRET);
  });
  afterAll(() => receiver.stop());

  it('sends Slack-compatible JSON signed over "<timestamp>.<body>"', async () => {
    const now = Date.UTC(2026, 10, 28, 3, 0, 0);
    const n = new WebhookNotifier({ url: receiver.url, secret: SECRET, now: () => now });
    const a = testAlert(7);
    await n.notify([a]);
    const r = receiver.requests.at(-1)!;
    expect(r.signatureOk).toBe(true);
    expect(r.timestamp).toBe(String(now / 1000));
    expect(signWebhook(SECRET, r.timestamp, r.raw)).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(
      verifySignature('another secret', r.timestamp, r.raw, signWebhook(SECRET, r.timestamp, r.raw)),
    ).toBe(false);
    expect(r.body.text).toContain(`user ${a.key} made ${a.count} actions`);
    const blocks = r.body.blocks as { type: string; fields?: { text: string }[]; text?: { text: string } }[];
    expect(blocks.map((b) => b.type)).toEqual(['header', 'section', 'section', 'context']);
    expect(blocks[1]!.fields!.map((f) => f.text.split('\n')[0])).toEqual([
      '*Rule*',
      '*Severity*',
      '*Key*',
      '*Count*',
      '*Window*',
      '*Score*',
    ]);
    expect(blocks[2]!.text!.text).toContain('category_id: 2053013555631882655');
  });

  it('a receiver with another secret refuses it, and that is permanent', async () => {
    const n = new WebhookNotifier({ url: receiver.url, secret: 'wrong' });
    const err = await n.notify([testAlert(8)]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotifyError);
    expect((err as NotifyError).status).toBe(401);
    expect((err as NotifyError).retryable).toBe(false);
  });

  it('429 is retryable and carries Retry-After', async () => {
    const respond = receiver.respond;
    receiver.respond = () => 429;
    receiver.errorHeaders = { 'retry-after': '7' };
    try {
      const err = await new WebhookNotifier({ url: receiver.url, secret: SECRET })
        .notify([testAlert(9)])
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ retryable: true, status: 429, retryAfterMs: 7000 });
    } finally {
      receiver.respond = respond;
      receiver.errorHeaders = {};
    }
  });
});

describe('smtp specifics', () => {
  let server: SmtpTestServer;
  beforeAll(async () => {
    server = await startSmtpServer();
  });
  afterAll(() => server.stop());

  it('sends one mail per alert to every recipient, subject [HIGH] storepulse: <rule> <key_type> <key>', async () => {
    const n = new SmtpNotifier({
      host: '127.0.0.1',
      port: server.port,
      ignoreTLS: true,
      auth: { user: 'storepulse', pass: 'secret' },
      from: 'storepulse@example.test',
      to: ['ops@example.test', 'oncall@example.test'],
    });
    const a = testAlert(10);
    await n.notify([a]);
    await n.close();
    const m = server.messages.at(-1)!;
    expect(m.from).toBe('storepulse@example.test');
    expect(m.to).toEqual(['ops@example.test', 'oncall@example.test']);
    expect(m.headers.get('subject')).toBe(`[HIGH] storepulse: reference-user-rate user ${a.key}`);
    expect(m.headers.get('message-id')).toBe(`<${a.id}.smtp@storepulse>`);
    expect(m.text).toContain(`user_id: ${a.user_id}`);
    expect(m.text).toContain(`count (num_actions_per_watermark): ${a.count}`);
    expect(m.text).toContain(`delivery id: ${a.id}:smtp`);
  });
});

describe('sns specifics', () => {
  let emulator: SnsEmulator;
  let client: SNSClient;
  beforeAll(async () => {
    emulator = await startSnsEmulator();
    client = new SNSClient({
      endpoint: emulator.endpoint,
      region: 'us-east-1',
      credentials: CREDENTIALS,
      requestHandler: new NodeHttpHandler(),
    });
  });
  afterAll(async () => {
    client.destroy();
    await emulator.stop();
  });

  it('publishes to ecomm-user-high-severity-incidents like the reference Lambda, with attributes', async () => {
    const n = new SnsNotifier({ endpoint: emulator.endpoint, region: 'us-east-1', credentials: CREDENTIALS });
    const a = testAlert(11);
    await n.notify([a]);
    expect(await n.resolveTopicArn()).toMatch(new RegExp(`:${DEFAULT_SNS_TOPIC}$`));
    await n.close();
    const p = emulator.published().at(-1)!;
    expect(p.topicArn).toMatch(new RegExp(`:${DEFAULT_SNS_TOPIC}$`));
    expect(p.body).toContain(`user_id ${a.user_id} num_actions_per_watermark ${a.count}`);
    expect(p.attributes).toEqual({
      severity: 'high',
      rule: 'reference-user-rate',
      key_type: 'user',
      delivery_id: `${a.id}:sns`,
    });
  });

  it('finds an existing topic by name, and takes an ARN as given', async () => {
    const { TopicArn } = await client.send(new CreateTopicCommand({ Name: 'ops-alerts' }));
    const byName = new SnsNotifier({
      topicName: 'ops-alerts',
      createTopic: false,
      endpoint: emulator.endpoint,
      region: 'us-east-1',
      credentials: CREDENTIALS,
    });
    expect(await byName.resolveTopicArn()).toBe(TopicArn);
    await byName.notify([testAlert(12)]);
    await byName.close();
    expect(emulator.published().at(-1)!.topicArn).toBe(TopicArn);
  });

  it('a topic that does not exist is a permanent failure', async () => {
    const missing = new SnsNotifier({
      topicArn: 'arn:aws:sns:us-east-1:000000000000:no-such-topic',
      endpoint: emulator.endpoint,
      region: 'us-east-1',
      credentials: CREDENTIALS,
    });
    const err = await missing.notify([testAlert(13)]).catch((e: unknown) => e);
    await missing.close();
    expect(err).toBeInstanceOf(NotifyError);
    expect((err as NotifyError).retryable).toBe(false);

    const notCreated = new SnsNotifier({
      topicName: 'never-made',
      createTopic: false,
      endpoint: emulator.endpoint,
      region: 'us-east-1',
      credentials: CREDENTIALS,
    });
    const err2 = await notCreated.notify([testAlert(13)]).catch((e: unknown) => e);
    await notCreated.close();
    expect((err2 as NotifyError).retryable).toBe(false);
  });

  it('says which endpoint it could not reach, and why', async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const n = new SnsNotifier({ endpoint, region: 'us-east-1', credentials: CREDENTIALS });
    const err = await n.notify([testAlert(14)]).catch((e: unknown) => e);
    await n.close();
    expect(err).toMatchObject({ retryable: true, status: undefined });
    expect((err as NotifyError).message).toMatch(
      `sns: ListTopics on SNS topic ${DEFAULT_SNS_TOPIC} failed: cannot reach ${endpoint} (ECONNREFUSED`,
    );
  });
});
