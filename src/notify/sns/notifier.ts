/**
 * Amazon SNS, as the reference Lambda does it: Publish to the topic `ecomm-user-high-severity-incidents`
 * a readable message with the user_id and num_actions_per_watermark (here: the whole alert as text),
 * plus message attributes (severity, rule, key_type, delivery_id) that subscriptions can filter on.
 * Given only a topic name, the ARN is found with ListTopics, else made with CreateTopic (idempotent).
 * On a FIFO topic the delivery id is also the MessageDeduplicationId, so SNS itself drops repeats
 * within its 5-minute window. The client is made like every AWS backend's (aws/sdk.ts): the SDK's own
 * retries are off, the outbox retries, and aws/sdk.ts says which failures are retryable.
 */
import {
  CreateTopicCommand,
  ListTopicsCommand,
  type MessageAttributeValue,
  PublishCommand,
  SNSClient,
} from '@aws-sdk/client-sns';
import { type AwsCredentials, awsClient, awsError, awsHttpStatus } from '../../aws/sdk.js';
import type { Alert, Severity } from '../../core/alert.js';
import {
  deliveryId,
  type Notifier,
  NotifyError,
  type NotifyOptions,
  DEFAULT_MIN_SEVERITY,
} from '../types.js';
import { alertText } from '../format.js';
import { DEFAULT_SNS_TOPIC } from './options.js';

export interface SnsNotifierOptions {
  /** Full topic ARN; when given, `topicName` is ignored and no topic call is made. */
  topicArn?: string;
  /** Default 'ecomm-user-high-severity-incidents' (the reference's topic). */
  topicName?: string;
  /** Make the topic when it does not exist (default true). */
  createTopic?: boolean;
  /** Default from the AWS environment or config files, else 'us-east-1'. */
  region?: string;
  /** e.g. http://127.0.0.1:4566 for an emulator. */
  endpoint?: string;
  /** Static credentials; otherwise the AWS SDK's default provider chain. */
  credentials?: AwsCredentials;
  /** Connection and per-request timeout, ms (default 10,000). */
  timeoutMs?: number;
  /** Default 'sns'. */
  name?: string;
  /** Default 'high'. */
  minSeverity?: Severity;
  /** Optional injection; an injected client stays the caller's (close() does not destroy it). */
  client?: SNSClient;
}

/** Subject: at most 100 printable ASCII characters. */
function snsSubject(a: Alert): string {
  return `[${a.severity.toUpperCase()}] storepulse: ${a.rule} ${a.key_type} ${a.key}`
    .replace(/[^\x20-\x7e]/g, '?')
    .slice(0, 100);
}

/** The reference Lambda's message (user_id, num_actions_per_watermark) followed by every field. */
function snsMessage(a: Alert, delivery: string): string {
  const who = a.user_id !== null ? `user_id ${a.user_id}` : `${a.key_type} ${a.key}`;
  return (
    `High severity incident: ${who} num_actions_per_watermark ${a.count} ` +
    `(window ${a.window_start} .. ${a.window_end}).\n\n${alertText(a, delivery)}`
  );
}

export class SnsNotifier implements Notifier {
  readonly name: string;
  readonly minSeverity: Severity;
  private readonly client: SNSClient;
  private readonly ownsClient: boolean;
  private topicArn: Promise<string> | undefined;

  constructor(private readonly opts: SnsNotifierOptions = {}) {
    this.name = opts.name ?? 'sns';
    this.minSeverity = opts.minSeverity ?? DEFAULT_MIN_SEVERITY;
    this.ownsClient = !opts.client;
    const { region, endpoint, credentials, timeoutMs = 10_000 } = opts;
    this.client = opts.client ?? awsClient(SNSClient, { region, endpoint, credentials, timeoutMs });
    if (opts.topicArn) this.topicArn = Promise.resolve(opts.topicArn);
  }

  /** The topic's ARN, found once (a failed look-up is tried again on the next send). */
  resolveTopicArn(signal?: AbortSignal): Promise<string> {
    if (!this.topicArn) {
      this.topicArn = this.findTopic(signal);
      this.topicArn.catch(() => (this.topicArn = undefined));
    }
    return this.topicArn;
  }

  private async findTopic(signal?: AbortSignal): Promise<string> {
    const name = this.opts.topicName ?? DEFAULT_SNS_TOPIC;
    let op = 'ListTopics';
    try {
      let next: string | undefined;
      do {
        const page = await this.client.send(new ListTopicsCommand({ NextToken: next }), {
          abortSignal: signal,
        });
        const hit = page.Topics?.find((t) => t.TopicArn?.split(':').pop() === name);
        if (hit?.TopicArn) return hit.TopicArn;
        next = page.NextToken;
      } while (next);
      if (this.opts.createTopic === false)
        throw new NotifyError(this.name, `topic ${name} does not exist`, { retryable: false });
      const attributes = name.endsWith('.fifo') ? { FifoTopic: 'true' } : undefined;
      op = 'CreateTopic';
      const made = await this.client.send(new CreateTopicCommand({ Name: name, Attributes: attributes }), {
        abortSignal: signal,
      });
      if (!made.TopicArn)
        throw new NotifyError(this.name, 'CreateTopic returned no TopicArn', { retryable: true });
      return made.TopicArn;
    } catch (err) {
      throw notifyError(this.name, op, `topic ${name}`, err);
    }
  }

  async notify(alerts: readonly Alert[], opts: NotifyOptions = {}): Promise<void> {
    const topicArn = await this.resolveTopicArn(opts.signal);
    for (const a of alerts) {
      const delivery = deliveryId(a.id, this.name);
      const attr = (value: string): MessageAttributeValue => ({ DataType: 'String', StringValue: value });
      const fifo = topicArn.endsWith('.fifo');
      try {
        await this.client.send(
          new PublishCommand({
            TopicArn: topicArn,
            Subject: snsSubject(a),
            Message: snsMessage(a, delivery),
            MessageAttributes: {
              severity: attr(a.severity),
              rule: attr(a.rule),
              key_type: attr(a.key_type),
              delivery_id: attr(delivery),
            },
            MessageGroupId: fifo ? `${a.key_type}-${a.key}`.slice(0, 128) : undefined,
            MessageDeduplicationId: fifo ? delivery.slice(0, 128) : undefined,
          }),
          { abortSignal: opts.signal },
        );
      } catch (err) {
        throw notifyError(this.name, 'Publish', `topic ${topicArn}`, err);
      }
    }
  }

  async close(): Promise<void> {
    if (this.ownsClient) this.client.destroy();
  }
}

/** A failed SNS call as a NotifyError, worded and classified as for every AWS backend (awsError). */
function notifyError(notifier: string, op: string, resource: string, err: unknown): NotifyError {
  if (err instanceof NotifyError) return err;
  const e = awsError('SNS', op, resource, err);
  return new NotifyError(notifier, e.message, {
    retryable: e.retryable,
    status: awsHttpStatus(err),
    cause: err,
  });
}
