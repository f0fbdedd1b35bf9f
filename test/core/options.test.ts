/**
 * One default per setting: each component declares its defaults beside its code (an `options.ts`),
 * and the config file's schema only composes them. So what a config file left empty yields is what
 * each component does when it is given nothing.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, configSchema } from '../../src/core/config.js';
import { DETECT_DEFAULTS, detectOptionsSchema } from '../../src/core/rules/options.js';
import { PROMETHEUS_DEFAULTS } from '../../src/metrics/prometheus/options.js';
import { OUTBOX_DEFAULTS } from '../../src/notify/outbox-options.js';
import { DEFAULT_MIN_SEVERITY } from '../../src/notify/types.js';
import { CHECKPOINT_DEFAULTS, SIMULATE_DEFAULTS } from '../../src/pipeline/options.js';
import { DEFAULT_MAX_LINE_BYTES } from '../../src/sources/options.js';
import { EMBEDDED_STREAM_DEFAULTS, resolveOptions } from '../../src/streams/embedded/options.js';

const HOUR_MS = 3_600_000;

describe('component defaults', () => {
  it('are what an empty config file yields', () => {
    const c = DEFAULT_CONFIG;
    expect(c.maxLineBytes).toBe(DEFAULT_MAX_LINE_BYTES);

    const { rules, ...detect } = c.detect;
    expect(detect).toEqual(DETECT_DEFAULTS);
    expect(rules).toEqual(detectOptionsSchema.parse({}).rules);

    expect(c.simulate).toEqual({ shards: EMBEDDED_STREAM_DEFAULTS.shards, ...SIMULATE_DEFAULTS });

    expect(c.streams).toEqual({
      durability: EMBEDDED_STREAM_DEFAULTS.durability,
      fsyncIntervalMs: EMBEDDED_STREAM_DEFAULTS.fsyncIntervalMs,
      segmentBytes: EMBEDDED_STREAM_DEFAULTS.segmentBytes,
      retentionBytes: EMBEDDED_STREAM_DEFAULTS.retentionBytes,
      retentionHours: EMBEDDED_STREAM_DEFAULTS.retentionMs / HOUR_MS,
      pollMs: EMBEDDED_STREAM_DEFAULTS.pollMs,
      checkpointRecords: CHECKPOINT_DEFAULTS.everyRecords,
      checkpointSeconds: CHECKPOINT_DEFAULTS.everyMs / 1000,
    });

    const notify = c.actions.notify;
    expect({
      baseDelayMs: notify.baseDelayMs,
      maxDelayMs: notify.maxDelayMs,
      maxAgeMs: notify.maxAgeHours * HOUR_MS,
      runDrainMs: notify.drainSeconds * 1000,
    }).toEqual(OUTBOX_DEFAULTS);
    expect(notify.console).toEqual({ minSeverity: DEFAULT_MIN_SEVERITY });
  });

  it('fill in a section the config file names but leaves empty', () => {
    const c = configSchema.parse({
      actions: {
        metrics: { prometheus: {} },
        notify: { webhook: { url: 'http://127.0.0.1:1/hook' } },
      },
    });
    expect(c.actions.metrics.prometheus).toEqual(PROMETHEUS_DEFAULTS);
    expect(c.actions.notify.webhook?.minSeverity).toBe(DEFAULT_MIN_SEVERITY);
  });

  it('open an embedded stream the same way from the config file and directly', () => {
    const direct = resolveOptions({ dir: '/tmp/x', name: 'raw', mode: 'read' });
    const s = DEFAULT_CONFIG.streams;
    // The CLI's mapping of the `streams` section onto the stream's options (streams/uri.ts).
    expect({
      shards: direct.shards,
      durability: direct.durability,
      fsyncIntervalMs: direct.fsyncIntervalMs,
      segmentBytes: direct.segmentBytes,
      retentionBytes: direct.retentionBytes,
      retentionMs: direct.retentionMs,
      pollMs: direct.pollMs,
    }).toEqual({
      shards: DEFAULT_CONFIG.simulate.shards,
      durability: s.durability,
      fsyncIntervalMs: s.fsyncIntervalMs,
      segmentBytes: s.segmentBytes,
      retentionBytes: s.retentionBytes,
      retentionMs: s.retentionHours * HOUR_MS,
      pollMs: s.pollMs,
    });
    expect(direct.pollMs).toBe(5);
  });
});
