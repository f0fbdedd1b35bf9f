/**
 * A webhook receiver for tests: a node:http server on a loopback port chosen at run time (or a given
 * one, to come back "up" where a notifier already points), which checks X-Storepulse-Signature the way
 * docs/notify.md tells receivers to, and records every request. `respond` decides the status code, so
 * a test can make it fail for a while.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  deliveryId: string;
  timestamp: string;
  signatureOk: boolean;
  body: { text: string; blocks: unknown[] };
  raw: string;
  /** The status the receiver answered. */
  status: number;
}

export interface WebhookReceiver {
  url: string;
  port: number;
  /** Every request, in arrival order, whatever was answered. */
  requests: ReceivedWebhook[];
  /** Requests answered 2xx. */
  accepted(): ReceivedWebhook[];
  /** Status for the next requests (default: 200 when the signature checks, else 401). */
  respond: (r: ReceivedWebhook) => number;
  /** Sent with every answer that is not 2xx, e.g. `{ 'retry-after': '2' }`. */
  errorHeaders: Record<string, string>;
  stop(): Promise<void>;
}

export function verifySignature(secret: string, timestamp: string, body: string, header: string): boolean {
  const expected = Buffer.from(
    `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`,
  );
  const got = Buffer.from(header);
  return got.length === expected.length && timingSafeEqual(got, expected);
}

export async function startWebhookReceiver(secret: string, port = 0): Promise<WebhookReceiver> {
  const server = http.createServer();
  const receiver: WebhookReceiver = {
    url: '',
    port: 0,
    requests: [],
    accepted: () => receiver.requests.filter((r) => r.status >= 200 && r.status < 300),
    respond: (r) => (r.signatureOk ? 200 : 401),
    errorHeaders: {},
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  server.on('request', (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const header = (name: string) => String(req.headers[name] ?? '');
      const timestamp = header('x-storepulse-timestamp');
      let body: ReceivedWebhook['body'] = { text: '', blocks: [] };
      try {
        body = JSON.parse(raw) as ReceivedWebhook['body'];
      } catch {
        // recorded with an empty body; the test's checks fail on it
      }
      const r: ReceivedWebhook = {
        deliveryId: header('x-storepulse-delivery'),
        timestamp,
        signatureOk: verifySignature(secret, timestamp, raw, header('x-storepulse-signature')),
        body,
        raw,
        status: 0,
      };
      r.status = receiver.respond(r);
      receiver.requests.push(r);
      const ok = r.status < 300;
      res
        .writeHead(r.status, { 'content-type': 'text/plain', ...(ok ? {} : receiver.errorHeaders) })
        .end(ok ? 'ok' : 'no');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  receiver.port = (server.address() as AddressInfo).port;
  receiver.url = `http://127.0.0.1:${receiver.port}/hook`;
  return receiver;
}
