/**
 * What one actions invocation does with its batch of stream-2 records (the reference Lambda's job):
 * store every alert in the alert table (idempotent by id: DynamoAlertStore writes only missing
 * items), put the reference metric as EMF lines, and notify each alert that the notifier takes once:
 * a conditional claim in the state table per delivery id goes first, the publish second, the
 * done-mark third. A redelivered batch, a duplicate record on stream 2 (detect puts an alert again
 * after a crash) or two invocations racing find the claim and skip; a publish that fails releases it
 * and reports its record failed, so Lambda delivers it again. Only a crash between the publish and
 * the done-mark can repeat a message, once the lease ran out, with the same delivery_id attribute
 * (on a FIFO topic SNS drops it).
 */
import { randomUUID } from 'node:crypto';
import { type Alert, KEY_TYPES } from '../../core/alert.js';
import { errorMessage } from '../../core/errors.js';
import type { AlertMetrics } from '../../metrics/types.js';
import { deliveryId, type Notifier, notifies } from '../../notify/types.js';
import type { AlertStore } from '../../stores/types.js';
import { openRecords, type Position } from './records.js';
import type { StateTable } from './state.js';
import { type BatchResponse, failFrom, type KinesisEvent, shardOfEvent } from './types.js';

export interface ActionsContext {
  store: AlertStore;
  notifier: Notifier;
  state: StateTable;
  metrics?: readonly AlertMetrics[];
  /** How long a claim keeps others from sending (longer than a publish may take). */
  leaseMs: number;
  now: () => number;
}

export interface ActionsResult extends BatchResponse {
  alerts: number;
  fresh: number;
  notified: number;
  deadLetters: number;
}

const SEVERITIES = new Set(['low', 'medium', 'high']);

/** A stream-2 record as an alert, or the reason it is none. */
function alertOfRecord(data: string): Alert | string {
  let v: unknown;
  try {
    v = JSON.parse(data);
  } catch (err) {
    return `not JSON: ${errorMessage(err)}`;
  }
  if (!v || typeof v !== 'object') return 'not a JSON object';
  const a = v as Record<string, unknown>;
  for (const f of ['id', 'rule', 'key', 'window_start', 'window_end', 'detected_event_time', 'detected_at'])
    if (typeof a[f] !== 'string' || a[f] === '') return `no ${f}`;
  if (!SEVERITIES.has(a.severity as string)) return 'no valid severity';
  if (!KEY_TYPES.includes(a.key_type as Alert['key_type'])) return 'no valid key_type';
  if (typeof a.count !== 'number') return 'no count';
  const { num_actions_per_watermark: _reference, ...alert } = a;
  return { evidence: {}, user_id: null, score: 0, ...alert } as unknown as Alert;
}

export async function actBatch(ctx: ActionsContext, event: KinesisEvent): Promise<ActionsResult> {
  const result: ActionsResult = { batchItemFailures: [], alerts: 0, fresh: 0, notified: 0, deadLetters: 0 };
  const first = event.Records[0];
  if (!first) return result;
  const shardId = shardOfEvent(first);
  const opened = openRecords(event.Records);
  const dead: { shardId: string; position: Position; reason: string; raw: string }[] = opened.bad.map(
    (b) => ({
      shardId,
      position: b,
      reason: b.reason,
      raw: b.raw,
    }),
  );
  const alerts: { alert: Alert; sequenceNumber: string }[] = [];
  for (const r of opened.records) {
    const a = alertOfRecord(r.data);
    if (typeof a === 'string')
      dead.push({ shardId, position: r, reason: `not an alert: ${a}`, raw: r.data.slice(0, 1024) });
    else alerts.push({ alert: a, sequenceNumber: r.sequenceNumber });
  }
  try {
    await ctx.state.deadLetter(dead, ctx.now());
    result.deadLetters = dead.length;
    const fresh = await ctx.store.put(alerts.map((x) => x.alert));
    result.alerts = alerts.length;
    result.fresh = fresh.length;
    if (fresh.length > 0) for (const m of ctx.metrics ?? []) m.recordAlerts(fresh);
  } catch (err) {
    return failFrom(result, first.kinesis.sequenceNumber, 'actions', err);
  }
  const holder = randomUUID();
  for (const { alert, sequenceNumber } of alerts) {
    if (!notifies(ctx.notifier, alert)) continue;
    try {
      result.notified += (await notifyOnce(ctx, alert, holder)) ? 1 : 0;
    } catch (err) {
      // Lambda delivers this record and the ones after it again; the ones before are done.
      return failFrom(result, sequenceNumber, 'actions', err);
    }
  }
  return result;
}

/** Sends one alert unless it was sent; true when sent here. Throws when it must be tried again. */
async function notifyOnce(ctx: ActionsContext, alert: Alert, holder: string): Promise<boolean> {
  const id = deliveryId(alert.id, ctx.notifier.name);
  if (!(await ctx.state.claimNotification(id, holder, ctx.leaseMs, ctx.now()))) {
    if (await ctx.state.notificationDone(id)) return false;
    throw new Error(`notification ${id} is being sent by another invocation`);
  }
  try {
    await ctx.notifier.notify([alert]);
  } catch (err) {
    await ctx.state.releaseNotification(id, holder).catch(() => undefined);
    throw err;
  }
  await ctx.state.markNotified(id, holder, ctx.now());
  return true;
}
