/**
 * The actions of a run, built from the config's `actions` section: the alert store, the metrics, and
 * the notifiers behind the durable outbox (docs/actions.md). What the reference Lambda does per alert.
 */
import { mkdirSync } from 'node:fs';
import type { Config } from '../core/config.js';
import { StorepulseError, errorMessage } from '../core/errors.js';
import type { AlertMetrics } from '../metrics/types.js';
import { ConsoleNotifier } from '../notify/console/notifier.js';
import { Outbox } from '../notify/outbox.js';
import type { Notifier } from '../notify/types.js';
import type { JourneyTarget } from '../pipeline/journey-feed.js';
import type { AlertStore } from '../stores/types.js';
import { SqliteAlertStore } from '../stores/sqlite/alert-store.js';
import { SqliteRollupStore } from '../stores/sqlite/rollup-store.js';
import type { Context } from './context.js';
import { alertStorePath, journeyStorePath } from './paths.js';

/** The configured alert store (SQLite in the data folder by default; DynamoDB loads its SDK only when chosen). */
export async function openAlertStore(ctx: Context): Promise<AlertStore> {
  const s = ctx.config.actions.store;
  const appServer = ctx.config.detect.appServer;
  if (s.backend === 'sqlite') {
    mkdirSync(ctx.dataDir, { recursive: true });
    return openSqliteAlertStore(alertStorePath(ctx), appServer);
  }
  const { DynamoAlertStore } = await import('../stores/dynamodb/alert-store.js');
  const store = new DynamoAlertStore({
    table: s.table,
    region: s.region,
    endpoint: s.endpoint,
    appServer,
    createTable: true,
  });
  await store.open();
  return store;
}

/** The live journey rollups' store (`journey.sqlite` in the data folder), unless the config turns them off. */
export function openJourney(ctx: Context, enabled = true): JourneyTarget | undefined {
  if (!enabled || !ctx.config.journey.enabled) return undefined;
  mkdirSync(ctx.dataDir, { recursive: true });
  const file = journeyStorePath(ctx);
  try {
    return { store: new SqliteRollupStore(file), config: ctx.config.journey };
  } catch (err) {
    throw new StorepulseError('INPUT', `${file} is not a storepulse journey store: ${errorMessage(err)}`, {
      cause: err,
    });
  }
}

/** A SQLite alert store, or a one-line error naming the file when it is not one (corrupt, another file). */
export function openSqliteAlertStore(file: string, appServer: string): SqliteAlertStore {
  try {
    return new SqliteAlertStore(file, appServer);
  } catch (err) {
    throw new StorepulseError('INPUT', `${file} is not a storepulse alert store: ${errorMessage(err)}`, {
      cause: err,
    });
  }
}

/** The notifiers the config asks for (console unless set to null, or quiet: it writes on stderr). */
async function notifiersOf(config: Config, quiet: boolean, env = process.env): Promise<Notifier[]> {
  const n = config.actions.notify;
  const out: Notifier[] = [];
  if (n.console && !quiet)
    out.push(new ConsoleNotifier(process.stderr, 50, { minSeverity: n.console.minSeverity }));
  if (n.webhook) {
    const { WebhookNotifier } = await import('../notify/webhook/notifier.js');
    out.push(
      new WebhookNotifier({
        url: n.webhook.url,
        secret: n.webhook.secret ?? env.STOREPULSE_WEBHOOK_SECRET,
        minSeverity: n.webhook.minSeverity,
      }),
    );
  }
  if (n.email) {
    const { SmtpNotifier } = await import('../notify/smtp/notifier.js');
    const password = n.email.password ?? env.STOREPULSE_SMTP_PASSWORD;
    out.push(
      new SmtpNotifier({
        host: n.email.host,
        port: n.email.port,
        secure: n.email.secure,
        auth: n.email.user ? { user: n.email.user, pass: password ?? '' } : undefined,
        from: n.email.from,
        to: n.email.to,
        minSeverity: n.email.minSeverity,
      }),
    );
  }
  if (n.sns) {
    const { SnsNotifier } = await import('../notify/sns/notifier.js');
    out.push(
      new SnsNotifier({
        topicArn: n.sns.topicArn,
        topicName: n.sns.topicName,
        region: n.sns.region,
        endpoint: n.sns.endpoint,
        minSeverity: n.sns.minSeverity,
      }),
    );
  }
  return out;
}

/** The outbox (`outbox.sqlite` in the data folder) with the configured notifiers, dispatching. */
export async function openOutbox(ctx: Context): Promise<Outbox> {
  const n = ctx.config.actions.notify;
  const outbox = new Outbox({
    file: ctx.dataPath('outbox.sqlite'),
    notifiers: await notifiersOf(ctx.config, ctx.quiet),
    baseDelayMs: n.baseDelayMs,
    maxDelayMs: n.maxDelayMs,
    maxAgeMs: n.maxAgeHours * 3600_000,
    log: quietRetries((line) => ctx.log(`notify: ${line}`)),
  });
  outbox.start();
  return outbox;
}

/** Prometheus (listening) and EMF metrics, as configured. */
export async function openMetrics(ctx: Context): Promise<AlertMetrics[]> {
  const m = ctx.config.actions.metrics;
  const out: AlertMetrics[] = [];
  if (m.prometheus) {
    const { PrometheusMetrics } = await import('../metrics/prometheus/metrics.js');
    const p = new PrometheusMetrics({ host: m.prometheus.host, port: m.prometheus.port });
    const port = await p.listen();
    ctx.log(`metrics on http://${m.prometheus.host}:${port}/metrics`);
    out.push(p);
  }
  if (m.emf) {
    const { EmfMetrics } = await import('../metrics/emf/metrics.js');
    out.push(new EmfMetrics({ out: m.emf.out === '-' ? process.stdout : m.emf.out }));
  }
  return out;
}

/** Retries of an endpoint that is down for minutes would fill the log: one retry line per 30 s. */
function quietRetries(log: (line: string) => void, everyMs = 30_000): (line: string) => void {
  let last = -Infinity;
  let skipped = 0;
  return (line) => {
    if (!/attempt \d+ failed/.test(line)) return log(line);
    const now = Date.now();
    if (now - last < everyMs) {
      skipped++;
      return;
    }
    last = now;
    log(skipped > 0 ? `${line} (${skipped} more retries since the last line)` : line);
    skipped = 0;
  };
}
