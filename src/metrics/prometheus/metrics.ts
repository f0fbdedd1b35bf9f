/**
 * Alert metrics for Prometheus: counters and gauges kept in memory and served as text (format 0.0.4)
 * on `GET /metrics` by a node:http server, for Prometheus (or anything that reads its format) to
 * scrape. Binds 127.0.0.1 unless told otherwise; port 0 picks a free port (see `port` after listen()).
 */
import http from 'node:http';
import type net from 'node:net';
import type { Alert } from '../../core/alert.js';
import { StorepulseError } from '../../core/errors.js';
import type { AlertMetrics, ProgressTotals } from '../types.js';
import { PROMETHEUS_DEFAULTS } from './options.js';
import { CONTENT_TYPE, type Metric, Registry } from './registry.js';

export interface PrometheusMetricsOptions {
  /** Default loopback (PROMETHEUS_DEFAULTS); '0.0.0.0' or '::' to let other hosts scrape. */
  host?: string;
  /** Default PROMETHEUS_DEFAULTS.port; 0 lets the OS pick (read `port` after listen()). */
  port?: number;
  /** Clock for process_start_time_seconds (tests). */
  now?: () => number;
}

export class PrometheusMetrics implements AlertMetrics {
  readonly name = 'prometheus';
  readonly registry = new Registry();
  private readonly alertsTotal: Metric;
  private readonly maxCount: Metric;
  private readonly events: Metric;
  private readonly late: Metric;
  private readonly rejected: Metric;
  private readonly fired: Metric;
  private readonly host: string;
  private readonly requestedPort: number;
  private server: http.Server | undefined;
  private boundPort: number | undefined;

  constructor(opts: PrometheusMetricsOptions = {}) {
    this.host = opts.host ?? PROMETHEUS_DEFAULTS.host;
    this.requestedPort = opts.port ?? PROMETHEUS_DEFAULTS.port;
    if (!Number.isInteger(this.requestedPort) || this.requestedPort < 0 || this.requestedPort > 65535) {
      throw new StorepulseError('USAGE', `metrics port must be 0-65535, got ${opts.port}`);
    }
    const r = this.registry;
    this.alertsTotal = r.counter(
      'storepulse_alerts_total',
      'Alerts stored for the first time, by rule and severity.',
      ['rule', 'severity'],
    );
    this.maxCount = r.gauge(
      'storepulse_alert_max_count',
      'Highest event count in one window among stored alerts, by rule (the reference num_actions_per_watermark).',
      ['rule'],
    );
    this.events = r.counter('storepulse_events_total', 'Valid events read by the processor.');
    this.late = r.counter(
      'storepulse_late_events_total',
      'Events that arrived after their window had closed.',
    );
    this.rejected = r.counter('storepulse_rejected_total', 'Records rejected as bad input (dead letters).');
    this.fired = r.counter('storepulse_alerts_fired_total', 'Alerts fired by the rules, replays included.');
    r.gauge('process_start_time_seconds', 'Start time of the process since unix epoch in seconds.').set(
      Math.floor((opts.now ?? Date.now)() / 1000 - process.uptime()),
    );
  }

  recordAlerts(alerts: readonly Alert[]): void {
    for (const a of alerts) {
      this.alertsTotal.inc({ rule: a.rule, severity: a.severity });
      this.maxCount.max(a.count, { rule: a.rule });
    }
  }

  recordProgress(t: ProgressTotals): void {
    this.events.set(t.events);
    this.late.set(t.late);
    this.rejected.set(t.rejected);
    this.fired.set(t.alerts);
  }

  /** The exposition text, as GET /metrics serves it. */
  render(): string {
    return this.registry.render();
  }

  /** The bound port once listen() resolved. */
  get port(): number | undefined {
    return this.boundPort;
  }

  /** Starts the HTTP server; resolves with the bound port. */
  async listen(): Promise<number> {
    if (this.server) return this.boundPort!;
    const server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) =>
        reject(
          new StorepulseError(
            'IO',
            `metrics server cannot listen on ${this.host}:${this.requestedPort}: ${err.message}`,
            {
              cause: err,
            },
          ),
        ),
      );
      server.listen(this.requestedPort, this.host, () => resolve());
    });
    this.server = server;
    this.boundPort = (server.address() as net.AddressInfo).port;
    return this.boundPort;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found; try /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res
        .writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' })
        .end('method not allowed\n');
      return;
    }
    const body = this.render();
    res.writeHead(200, { 'content-type': CONTENT_TYPE, 'content-length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
