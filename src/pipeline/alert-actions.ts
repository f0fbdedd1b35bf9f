/**
 * What the processor does with the alerts it fires, beside detection and in the order fired: put
 * them on stream 2, enqueue their notifications in the durable outbox, store them. Each step keeps
 * one of each alert id (stream 2's readers, the outbox per alert and notifier, the store), so the
 * replay from the last checkpoint after a crash anywhere in between repeats them harmlessly and
 * pages nobody twice. Several batches' alerts go together (GroupQueue): one write serves many.
 */
import type { Alert } from '../core/alert.js';
import { failpoint } from '../core/failpoint.js';
import type { AlertMetrics } from '../metrics/types.js';
import type { AlertStore } from '../stores/types.js';
import type { PutEntry, StreamWriter } from '../streams/types.js';
import { GroupQueue } from './group-queue.js';

export interface AlertTargets {
  store: AlertStore;
  /**
   * The durable outbox (notify/outbox.ts): every alert fired is enqueued before it is stored, so a
   * crash between the two loses no notification; enqueueing is idempotent per alert and notifier.
   */
  outbox?: { enqueue(alerts: readonly Alert[]): Promise<number> };
  /** Told about alerts new to the store (and, by the processor, the run's totals). */
  metrics?: readonly AlertMetrics[];
  /** Stream 2: every alert fired, as a JSON record keyed by user, before it is stored. */
  alertStream?: StreamWriter;
}

/** The run's alert counts (ProcessorStats), kept up to date as alerts are acted on. */
export interface AlertCounts {
  alerts: number;
  newAlerts: number;
  notified: number;
}

/** Alerts waiting before `push` waits too (memory bound when the store falls behind). */
const MAX_WAITING = 10_000;

/** A stream-2 record: the reference's `{user_id, num_actions_per_watermark}` plus the whole alert. */
export function alertRecord(a: Alert): PutEntry {
  return {
    partitionKey: a.key,
    data: JSON.stringify({ ...a, num_actions_per_watermark: a.count }),
  };
}

export class AlertActions {
  private readonly queue: GroupQueue<Alert>;

  constructor(
    private readonly targets: AlertTargets,
    private readonly counts: AlertCounts,
  ) {
    this.queue = new GroupQueue((alerts) => this.act(alerts), MAX_WAITING);
  }

  /** Queues alerts; waits only when far behind. Throws once acting on earlier alerts failed. */
  push(alerts: readonly Alert[]): Promise<void> {
    return this.queue.push(alerts);
  }

  /** Resolves once every alert pushed so far is acted on. */
  written(): Promise<void> {
    return this.queue.written();
  }

  private async act(alerts: Alert[]): Promise<void> {
    if (alerts.length === 0) return;
    const { store, outbox, metrics, alertStream } = this.targets;
    this.counts.alerts += alerts.length;
    await alertStream?.putRecords(alerts.map(alertRecord));
    failpoint('process.after-alert-stream');
    if (outbox) this.counts.notified += await outbox.enqueue(alerts);
    const fresh = await store.put(alerts);
    this.counts.newAlerts += fresh.length;
    if (fresh.length > 0) for (const m of metrics ?? []) m.recordAlerts(fresh);
  }
}
