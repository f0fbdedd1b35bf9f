/** The dashboard's options: the config file's `dashboard` section (core/config.ts). */
import { z } from 'zod';

const DASHBOARD_DEFAULTS = {
  /** Loopback: another host reaches the dashboard only when asked for, and then with a token. */
  host: '127.0.0.1',
  port: 8640,
  /** How often the live figures are pushed to each page (the rollups are written every second). */
  pushSeconds: 1,
  /** How often the alert store is read for new alerts: bounds the push latency of an alert. */
  alertPollMs: 50,
  /** `npm start` replays this many events per second while the dashboard is served: watchable. */
  demoRate: 2000,
} as const;

/** The environment variable a token may come from, so that it stays out of shell history. */
export const TOKEN_ENV = 'STOREPULSE_DASHBOARD_TOKEN';

export const dashboardOptionsSchema = z
  .object({
    host: z.string().default(DASHBOARD_DEFAULTS.host),
    /** 0 lets the OS pick. */
    port: z.number().int().min(0).max(65535).default(DASHBOARD_DEFAULTS.port),
    pushSeconds: z.number().positive().default(DASHBOARD_DEFAULTS.pushSeconds),
    alertPollMs: z.number().int().min(10).default(DASHBOARD_DEFAULTS.alertPollMs),
    demoRate: z.number().int().positive().default(DASHBOARD_DEFAULTS.demoRate),
  })
  .strict();

export type DashboardConfig = z.infer<typeof dashboardOptionsSchema>;
