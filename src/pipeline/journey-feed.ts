/**
 * The processor's live journey rollups (core/journey/rollups.ts) and their store: the events it
 * releases and the alerts it fires go in; the changed minutes go to the store every `flushSeconds`,
 * before each checkpoint (a checkpoint's state must not be ahead of what the store holds of the
 * minutes that left memory), and at the end. An hour that became final is stored cut to the top
 * `topK` products per measure; one begun before a restart is merged from its minutes in the store.
 * Old buckets are pruned by event time.
 */
import type { Alert } from '../core/alert.js';
import type { ClickEvent } from '../core/event.js';
import type { JourneyConfig } from '../core/journey/options.js';
import { HOUR_MS, hourOfMinutes, hourRow, Rollups } from '../core/journey/rollups.js';
import type { RollupStore } from '../stores/types.js';

export interface JourneyTarget {
  store: RollupStore;
  config: JourneyConfig;
}

export class JourneyFeed {
  readonly rollups: Rollups;
  private flushedAt: number;

  constructor(
    private readonly target: JourneyTarget,
    timeOf: (e: ClickEvent) => number | undefined,
    private readonly now: () => number,
  ) {
    this.rollups = new Rollups({ timeOf, sessionGapMs: target.config.sessionGapMinutes * 60_000 });
    this.flushedAt = now();
  }

  /** Alerts first: the events of the batch that made a user flagged count as flagged traffic. */
  push(events: readonly ClickEvent[], alerts: readonly Alert[], watermark: number | undefined): void {
    this.rollups.flag(alerts);
    this.rollups.add(events);
    if (watermark !== undefined) this.rollups.advance(watermark);
  }

  due(): boolean {
    return this.now() - this.flushedAt >= this.target.config.flushSeconds * 1000;
  }

  async flush(): Promise<void> {
    this.flushedAt = this.now();
    const stats = this.rollups.stats();
    const { store, config } = this.target;
    const { minutes, finalHours } = this.rollups.takeChanges();
    await store.put(minutes, stats, this.flushedAt);
    // After the minutes: an hour begun before a restart is merged from them as stored.
    const hours = [];
    for (const { start, bucket } of finalHours) {
      const hour = bucket ?? hourOfMinutes(start, await store.range('minute', start, start + HOUR_MS));
      hours.push(hourRow(hour, config.topK));
    }
    if (hours.length > 0) await store.put(hours, stats, this.flushedAt);
    if (stats.newest !== null) {
      await store.prune('minute', stats.newest - config.minuteRetentionHours * HOUR_MS);
      await store.prune('hour', stats.newest - config.hourRetentionDays * 24 * HOUR_MS);
    }
  }

  /** End of input (`drain`: every session ends, every bucket is final), or a stop: writes what changed. */
  async finish(drain: boolean): Promise<void> {
    if (drain) this.rollups.drain();
    await this.flush();
  }
}
