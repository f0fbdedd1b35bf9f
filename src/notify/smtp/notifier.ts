/**
 * One email per alert through an SMTP server (nodemailer). Subject `[HIGH] storepulse: <rule>
 * <key_type> <key>`, a plain-text body with every field. The delivery id goes into the Message-ID
 * (`<delivery id@storepulse>`) and an `X-Storepulse-Delivery` header, so mail systems and people can
 * spot a repeat. SMTP reply codes say what a retry is worth: 4xx is transient, 5xx is not.
 */
import { createTransport } from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer';
import type { SMTPSentMessageInfo, SMTPTransportOptions } from 'nodemailer/lib/smtp-transport';
import type { Alert, Severity } from '../../core/alert.js';
import { StorepulseError } from '../../core/errors.js';
import { deliveryId, type Notifier, NotifyError, DEFAULT_MIN_SEVERITY } from '../types.js';
import { alertText } from '../format.js';

export interface SmtpNotifierOptions {
  host: string;
  /** Default 587, or 465 when `secure`. */
  port?: number;
  /** TLS from the start (port 465); otherwise STARTTLS is used when the server offers it. */
  secure?: boolean;
  /** Never upgrade with STARTTLS (a local relay without TLS). */
  ignoreTLS?: boolean;
  auth?: { user: string; pass: string };
  from: string;
  to: readonly string[];
  /** Connection, greeting and socket timeouts, ms (default 10,000); a timeout is retryable. */
  timeoutMs?: number;
  /** Default 'smtp'. */
  name?: string;
  /** Default 'high'. */
  minSeverity?: Severity;
  /** TLS options passed to nodemailer (e.g. `{ rejectUnauthorized: false }` for a self-signed relay). */
  tls?: SMTPTransportOptions['tls'];
}

function emailSubject(a: Alert): string {
  return `[${a.severity.toUpperCase()}] storepulse: ${a.rule} ${a.key_type} ${a.key}`;
}

/** Network-level nodemailer error codes: the server may well be back later. */
const TRANSIENT_CODES = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ETLS', 'EPROTOCOL']);

export class SmtpNotifier implements Notifier {
  readonly name: string;
  readonly minSeverity: Severity;
  private readonly transport: Mail<SMTPSentMessageInfo, SMTPTransportOptions>;

  constructor(private readonly opts: SmtpNotifierOptions) {
    if (opts.to.length === 0) throw new StorepulseError('CONFIG', 'smtp: no recipient (to)');
    this.name = opts.name ?? 'smtp';
    this.minSeverity = opts.minSeverity ?? DEFAULT_MIN_SEVERITY;
    const timeout = opts.timeoutMs ?? 10_000;
    this.transport = createTransport({
      host: opts.host,
      port: opts.port ?? (opts.secure ? 465 : 587),
      secure: opts.secure ?? false,
      ignoreTLS: opts.ignoreTLS ?? false,
      auth: opts.auth,
      tls: opts.tls,
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
    });
  }

  async notify(alerts: readonly Alert[]): Promise<void> {
    for (const a of alerts) await this.send(a);
  }

  private async send(a: Alert): Promise<void> {
    const delivery = deliveryId(a.id, this.name);
    try {
      await this.transport.sendMail({
        from: this.opts.from,
        to: [...this.opts.to],
        subject: emailSubject(a),
        text: alertText(a, delivery),
        messageId: `<${delivery.replace(/[^A-Za-z0-9._-]/g, '.')}@storepulse>`,
        headers: { 'X-Storepulse-Delivery': delivery, 'X-Storepulse-Severity': a.severity },
      });
    } catch (err) {
      const e = err as { code?: string; responseCode?: number; message?: string };
      const code = e.responseCode;
      const retryable = code !== undefined ? code < 500 : e.code === undefined || TRANSIENT_CODES.has(e.code);
      throw new NotifyError(this.name, `send to ${this.opts.host}: ${e.message ?? String(err)}`, {
        retryable,
        status: code,
        cause: err,
      });
    }
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}
