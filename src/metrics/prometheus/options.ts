/** The Prometheus endpoint's options: the config file's `actions.metrics.prometheus` (core/config.ts). */
import { z } from 'zod';

export const PROMETHEUS_DEFAULTS = {
  /** Loopback: nothing is open to other hosts unless the config says so. */
  host: '127.0.0.1',
  /** The OpenTelemetry Prometheus exporter's port in Prometheus's list of default port allocations. */
  port: 9464,
} as const;

export const prometheusOptionsSchema = z
  .object({
    host: z.string().default(PROMETHEUS_DEFAULTS.host),
    /** 0 lets the OS pick. */
    port: z.number().int().min(0).max(65535).default(PROMETHEUS_DEFAULTS.port),
  })
  .strict();
