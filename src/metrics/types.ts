/**
 * The alert metrics contract: what the processor tells a metrics backend. Backends: prometheus/ (a
 * /metrics endpoint to scrape, the embedded default) and emf/ (CloudWatch Embedded Metric Format log
 * lines, the reference Lambda's `put_metric_data` without an API call).
 */
import type { Alert } from '../core/alert.js';

/** The processor's running totals since it started (ProcessorStats and the detector's late count). */
export interface ProgressTotals {
  /** Valid events read. */
  events: number;
  /** Events that arrived after their window had closed (behind the watermark). */
  late: number;
  /** Records rejected as bad input (dead letters). */
  rejected: number;
  /** Alerts the rules fired, replays included (fresh ones also come through recordAlerts). */
  alerts: number;
}

export interface AlertMetrics {
  readonly name: string;
  /** Called once per newly stored alert batch (fresh alerts only: the store's put() result). */
  recordAlerts(alerts: readonly Alert[]): void;
  /** Running totals, not deltas: a backend keeps the latest (a smaller value means the process restarted). */
  recordProgress?(totals: ProgressTotals): void;
  /** Flushes and releases what the backend holds (server, file); safe to call twice. */
  close(): Promise<void>;
}
