/**
 * An SNS endpoint for tests: fauxqs (an SNS/SQS/S3 emulator from npm, pinned at 1.9.2, the last
 * version that supports Node 20), in-process on a loopback port chosen at run time. It implements
 * CreateTopic, ListTopics and Publish over the AWS query protocol; its message spy shows what was
 * published. Clients take any credentials.
 */
import { startFauxqs } from 'fauxqs';

export interface SnsPublished {
  topicArn: string;
  body: string;
  attributes: Record<string, string>;
}

export interface SnsEmulator {
  endpoint: string;
  /** Every message published so far, in order. */
  published(): SnsPublished[];
  stop(): Promise<void>;
}

export async function startSnsEmulator(): Promise<SnsEmulator> {
  const server = await startFauxqs({ port: 0, host: '127.0.0.1', logger: false, messageSpies: true });
  return {
    endpoint: `http://127.0.0.1:${server.port}`,
    published: () =>
      server.spy
        .getAllMessages()
        .filter((m) => m.service === 'sns')
        .map((m) => {
          const sns = m as { topicArn: string; body: string; messageAttributes?: Record<string, unknown> };
          const attributes: Record<string, string> = {};
          for (const [k, v] of Object.entries(sns.messageAttributes ?? {}))
            attributes[k] = String((v as { StringValue?: string }).StringValue ?? '');
          return { topicArn: sns.topicArn, body: sns.body, attributes };
        }),
    stop: () => server.stop(),
  };
}
