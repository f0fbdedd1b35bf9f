/**
 * `storepulse serve`: the web dashboard over the data folder (docs/dashboard.md) while `process`, or
 * nothing, runs beside it; `npm start` (the demo) starts the same dashboard in its own process.
 */
import type { Command } from 'commander';
import { StorepulseError } from '../core/errors.js';
import type { AlertStore, RollupStore } from '../stores/types.js';
import type { InProcess } from '../web/health.js';
import { TOKEN_ENV } from '../web/options.js';
import { type Context, contextOf, intOption } from './context.js';
import {
  alertStorePath,
  DEFAULT_STREAM_1,
  journeyStorePath,
  lakeForRead,
  localLake,
  streamPlace,
} from './paths.js';
import { stopSignal, untilStopped } from './signals.js';

export interface ServeFlags {
  host?: string;
  port?: number;
  token?: string;
}

/** The dashboard over the context's data folder; `live`: the demo's stores and in-process figures. */
export async function startDashboardFor(
  ctx: Context,
  flags: ServeFlags,
  live?: { alerts: AlertStore; journey?: RollupStore; inProcess: InProcess },
  stream = { uri: DEFAULT_STREAM_1, consumer: 'process' },
) {
  const [{ startDashboard }, { DataSources }] = await Promise.all([
    import('../web/server.js'),
    import('../web/sources.js'),
  ]);
  const c = ctx.config.dashboard;
  const token = flags.token ?? process.env[TOKEN_ENV];
  if (token !== undefined && token.length < 16)
    throw new StorepulseError('USAGE', 'a dashboard token has at least 16 characters');
  const sources = new DataSources(
    {
      dataDir: ctx.dataDir,
      alerts: alertStorePath(ctx),
      journey: journeyStorePath(ctx),
      outbox: ctx.dataPath('outbox.sqlite'),
      // The demo's lake is local (localLake); `serve` reads the configured one (an S3 lake's mirror).
      lakeDir: live ? localLake(ctx, 'demo') : await lakeForRead(ctx),
      appServer: ctx.config.detect.appServer,
    },
    live ? { alerts: live.alerts, journey: live.journey } : {},
  );
  const dashboard = await startDashboard({
    sources,
    stream: live?.inProcess ?? { ...stream, place: streamPlace(ctx) },
    config: ctx.config,
    rules: ctx.config.detect.rules.map((r) => r.name),
    host: flags.host ?? c.host,
    port: flags.port ?? c.port,
    token,
    pushMs: c.pushSeconds * 1000,
    alertPollMs: c.alertPollMs,
  }).catch(async (err: unknown) => {
    await sources.close();
    throw err;
  });
  return {
    url: dashboard.url,
    async close() {
      await dashboard.close();
      await sources.close();
    },
  };
}

export function register(program: Command): void {
  program
    .command('serve')
    .description('the web dashboard: live journey, alerts, reports, SQL over the lake, health')
    .option('--host <address>', 'address to bind (default 127.0.0.1; any other needs a token)')
    .option('--port <n>', 'port (default 8640; 0 picks a free one)', intOption('--port', 0))
    .option('--token <token>', `required to open the dashboard (or $${TOKEN_ENV}); needed off loopback`)
    .option('--from <uri>', 'stream 1, whose consumer lag the Health panel shows', DEFAULT_STREAM_1)
    .option('--consumer <name>', "the processor's checkpoint name", 'process')
    .action(async (opts: ServeFlags & { from: string; consumer: string }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const stop = stopSignal(ctx.log, { until: 'stopped' });
      const dashboard = await startDashboardFor(ctx, opts, undefined, {
        uri: opts.from,
        consumer: opts.consumer,
      });
      try {
        process.stdout.write(`dashboard: ${dashboard.url} (Ctrl-C to stop)\n`);
        await untilStopped(stop.signal);
      } finally {
        await dashboard.close();
        stop.dispose();
      }
    });
}
