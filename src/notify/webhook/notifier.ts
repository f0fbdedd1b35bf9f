/**
 * POSTs each alert as Slack-compatible JSON (`text` + `blocks`) to a URL, signed so the receiver can
 * tell it came from us and is fresh: `X-Storepulse-Signature: sha256=<hex HMAC-SHA256 of
 * "<timestamp>.<body>">` with a shared secret, `X-Storepulse-Timestamp` (epoch seconds) and
 * `X-Storepulse-Delivery` (the delivery id, for dedupe). One request per alert, so a failure is
 * about exactly one alert. Uses Node's global fetch.
 */
import { createHmac } from 'node:crypto';
import type { Alert, Severity } from '../../core/alert.js';
import { StorepulseError, errorMessage } from '../../core/errors.js';
import {
  deliveryId,
  type Notifier,
  NotifyError,
  type NotifyOptions,
  parseRetryAfter,
  retryableHttpStatus,
  DEFAULT_MIN_SEVERITY,
} from '../types.js';
import { alertSummary, evidenceItems } from '../format.js';

export interface WebhookNotifierOptions {
  url: string;
  /** Shared secret for X-Storepulse-Signature; without one the header is left out (e.g. Slack URLs). */
  secret?: string;
  /** Per request, ms (default 10,000); a timeout is retryable. */
  timeoutMs?: number;
  /** Default 'webhook'; give each of several webhooks its own. */
  name?: string;
  /** Default 'high'. */
  minSeverity?: Severity;
  /** Extra request headers (e.g. Authorization). */
  headers?: Record<string, string>;
  /** Epoch ms, for tests. */
  now?: () => number;
}

const SIGNATURE_HEADER = 'x-storepulse-signature';
const TIMESTAMP_HEADER = 'x-storepulse-timestamp';
const DELIVERY_HEADER = 'x-storepulse-delivery';

/** `sha256=<hex>` over `<timestamp>.<body>`: what the receiver recomputes and compares. */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** Slack-compatible message: `text` is the fallback line, `blocks` the readable card. */
function webhookPayload(a: Alert, delivery: string): { text: string; blocks: unknown[] } {
  const field = (label: string, value: string) => ({ type: 'mrkdwn', text: `*${label}*\n${value}` });
  const blocks: unknown[] = [
    {
      type: 'header',
      text: { type: 'plain_text', text: `[${a.severity.toUpperCase()}] storepulse: ${a.rule}`.slice(0, 150) },
    },
    {
      type: 'section',
      fields: [
        field('Rule', a.rule),
        field('Severity', a.severity),
        field('Key', `${a.key_type} ${a.key}`),
        field('Count', String(a.count)),
        field('Window', `${a.window_start} .. ${a.window_end}`),
        field('Score', a.score.toFixed(2)),
      ],
    },
  ];
  const evidence = evidenceItems(a);
  if (evidence.length > 0)
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `*Evidence*\n${evidence.map((e) => `• ${e}`).join('\n')}`.slice(0, 3000),
      },
    });
  blocks.push({
    type: 'context',
    elements: [{ type: 'mrkdwn', text: `alert ${a.id} · delivery ${delivery} · detected ${a.detected_at}` }],
  });
  return { text: alertSummary(a), blocks };
}

export class WebhookNotifier implements Notifier {
  readonly name: string;
  readonly minSeverity: Severity;
  private readonly timeoutMs: number;
  private readonly now: () => number;

  constructor(private readonly opts: WebhookNotifierOptions) {
    let url: URL;
    try {
      url = new URL(opts.url);
    } catch {
      throw new StorepulseError('CONFIG', `webhook: bad URL ${opts.url}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new StorepulseError('CONFIG', `webhook: not an http(s) URL: ${opts.url}`);
    this.name = opts.name ?? 'webhook';
    this.minSeverity = opts.minSeverity ?? DEFAULT_MIN_SEVERITY;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  async notify(alerts: readonly Alert[], opts: NotifyOptions = {}): Promise<void> {
    for (const a of alerts) await this.send(a, opts.signal);
  }

  private async send(a: Alert, signal: AbortSignal | undefined): Promise<void> {
    const delivery = deliveryId(a.id, this.name);
    const body = JSON.stringify(webhookPayload(a, delivery));
    const timestamp = String(Math.floor(this.now() / 1000));
    const headers: Record<string, string> = {
      ...this.opts.headers,
      'content-type': 'application/json',
      'user-agent': 'storepulse-notifier',
      [TIMESTAMP_HEADER]: timestamp,
      [DELIVERY_HEADER]: delivery,
    };
    if (this.opts.secret) headers[SIGNATURE_HEADER] = signWebhook(this.opts.secret, timestamp, body);
    const timeout = AbortSignal.timeout(this.timeoutMs);
    let res: Response;
    try {
      res = await fetch(this.opts.url, {
        method: 'POST',
        headers,
        body,
        // A redirected POST turns into a GET: treat a redirect as a wrong URL instead.
        redirect: 'manual',
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (err) {
      const why = timeout.aborted ? `timed out after ${this.timeoutMs} ms` : describeFetchError(err);
      throw new NotifyError(this.name, `POST ${this.opts.url}: ${why}`, { retryable: true, cause: err });
    }
    // Read the body either way so the connection can be reused; keep a little of it for the error.
    const text = await res.text().catch(() => '');
    if (res.ok) return;
    throw new NotifyError(
      this.name,
      `POST ${this.opts.url}: HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ''}`,
      {
        retryable: retryableHttpStatus(res.status),
        status: res.status,
        retryAfterMs: parseRetryAfter(res.headers.get('retry-after')),
      },
    );
  }

  async close(): Promise<void> {}
}

function describeFetchError(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return `${cause.code}${cause.message ? ` (${cause.message})` : ''}`;
  return errorMessage(err);
}
