/**
 * Alert metrics as CloudWatch Embedded Metric Format (EMF) log lines: one JSON object per line, which
 * CloudWatch Logs turns into metrics when the line reaches a log group (Lambda's stdout, the
 * CloudWatch agent, Fluent Bit). It stands for the reference Lambda's `put_metric_data`: metric
 * `ecomm-user-high-volume-events` in namespace `ecommerce-namespace-1`, dimension `user_id`, value the
 * alert's count (`num_actions_per_watermark`), with no CloudWatch API call and no extra latency.
 *
 * Alerts on something other than a user (key_type session or global) are not a user's count: their line
 * uses the dimension `rule` instead, so they land in a metric of their own rather than under an
 * empty user. Spec: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import type { Alert } from '../../core/alert.js';
import type { AlertMetrics } from '../types.js';

const DEFAULT_NAMESPACE = 'ecommerce-namespace-1';
const DEFAULT_METRIC = 'ecomm-user-high-volume-events';

export interface EmfMetricsOptions {
  /** Where lines go: a writable (default process.stdout) or a file path, appended to. */
  out?: Writable | string;
  /** Default `ecommerce-namespace-1`, the reference namespace. */
  namespace?: string;
  /** Default `ecomm-user-high-volume-events`, the reference metric. */
  metricName?: string;
  /**
   * Clock for `_aws.Timestamp` (ms). Wall clock on purpose, not event time: CloudWatch drops data
   * points older than two weeks, and a replay of 2019 data would vanish.
   */
  now?: () => number;
}

export interface EmfLine {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: 'Count' }[];
    }[];
  };
  [member: string]: unknown;
}

export class EmfMetrics implements AlertMetrics {
  readonly name = 'emf';
  readonly namespace: string;
  readonly metricName: string;
  private readonly out: Writable;
  private readonly ownsOut: boolean;
  private readonly now: () => number;
  private closed = false;

  constructor(opts: EmfMetricsOptions = {}) {
    this.namespace = opts.namespace ?? DEFAULT_NAMESPACE;
    this.metricName = opts.metricName ?? DEFAULT_METRIC;
    this.now = opts.now ?? Date.now;
    if (typeof opts.out === 'string') {
      this.out = createWriteStream(opts.out, { flags: 'a' });
      this.ownsOut = true;
    } else {
      this.out = opts.out ?? process.stdout;
      this.ownsOut = false;
    }
  }

  /** The EMF document of one alert. */
  line(a: Alert, timestamp = this.now()): EmfLine {
    // Only user alerts count towards a user's metric; a session alert carrying a user_id does not.
    const dimension = a.key_type === 'user' && a.user_id !== null ? 'user_id' : 'rule';
    return {
      _aws: {
        Timestamp: timestamp,
        CloudWatchMetrics: [
          {
            Namespace: this.namespace,
            Dimensions: [[dimension]],
            Metrics: [{ Name: this.metricName, Unit: 'Count' }],
          },
        ],
      },
      // Dimension values must be strings (EMF spec); user ids are integers elsewhere, a string here always.
      ...(a.user_id !== null ? { user_id: String(a.user_id) } : {}),
      [this.metricName]: a.count,
      rule: a.rule,
      severity: a.severity,
      alert_id: a.id,
      key_type: a.key_type,
      key: a.key,
      num_actions_per_watermark: a.count,
      window_start: a.window_start,
    };
  }

  recordAlerts(alerts: readonly Alert[]): void {
    if (alerts.length === 0 || this.closed) return;
    const t = this.now();
    // One write per batch; a metric line is small and the stream buffers, so no backpressure wait.
    this.out.write(alerts.map((a) => `${JSON.stringify(this.line(a, t))}\n`).join(''));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.ownsOut) return;
    await new Promise<void>((resolve, reject) => {
      this.out.once('error', reject);
      this.out.end(() => resolve());
    });
  }
}
