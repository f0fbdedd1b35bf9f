/**
 * One step of the single detector that every detect invocation shares (docs/aws-handlers.md): read
 * the head and the state it names, merge every shard's chunks that came since, release what the
 * watermark over the shards allows, run the detector, and commit the new state as the next version,
 * on the condition that nobody committed in between. It is the processor's own loop
 * (pipeline/processor.ts), with its state (pipeline/processor-state.ts) kept in DynamoDB between
 * invocations instead of in memory: the same EventOrder, ShardClock and Detector, so the same alerts.
 *
 * Alerts leave for stream 2 only once their version is committed, and are kept with it until they
 * are marked put: a crash in between puts them again on the next step (the actions handler keeps one
 * of each id). A step that lost the race fires nothing.
 */
import { randomUUID } from 'node:crypto';
import { type KinesisClient, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { awsCall } from '../sdk.js';
import type { Alert } from '../../core/alert.js';
import type { DetectConfig } from '../../core/config.js';
import type { ClickEvent } from '../../core/event.js';
import { Detector } from '../../core/rules/detector.js';
import { alertRecord } from '../../pipeline/alert-actions.js';
import { EventOrder } from '../../pipeline/event-order.js';
import { restoreState, saveState } from '../../pipeline/processor-state.js';
import { ShardClock } from '../../pipeline/shard-clock.js';
import { planPutRequests, putRequest } from '../../streams/kinesis/put.js';
import type { PutResult } from '../../streams/types.js';
import { gunzipJson, gzipJson, type Head, type StateTable } from './state.js';

export interface StepContext {
  state: StateTable;
  kinesis: KinesisClient;
  /** Stream 2. */
  alertStream: string;
  detect: DetectConfig;
  /** A shard silent this long (wall ms) stops holding the watermark back (the processor's idleness). */
  idleShardMs: number;
  maxRetries: number;
  now: () => number;
  /** Shard ids of a stream, looked up once per container (ListShards) and again when a new one shows. */
  shardCache?: Map<string, string[]>;
}

/** The shard ids of stream 1 (named by an event's source ARN), from ListShards, cached in the context. */
export async function listedShards(ctx: StepContext, streamArn: string, seen: string): Promise<string[]> {
  const cache = (ctx.shardCache ??= new Map());
  const known = cache.get(streamArn);
  if (known?.includes(seen)) return known;
  const name = streamArn.slice(streamArn.indexOf('/') + 1);
  const target = { service: 'Kinesis' as const, resource: `stream "${name}"`, maxRetries: ctx.maxRetries };
  const ids: string[] = [];
  let token: string | undefined;
  do {
    const next = token;
    const res = await awsCall(target, 'ListShards', () =>
      ctx.kinesis.send(new ListShardsCommand(next ? { NextToken: next } : { StreamName: name })),
    );
    for (const s of res.Shards ?? []) if (s.ShardId) ids.push(s.ShardId);
    token = res.NextToken;
  } while (token);
  cache.set(streamArn, ids);
  return ids;
}

/** What a version of the detector keeps: the processor's state and the alerts that step fired. */
interface Saved {
  state: string;
  alerts: Alert[];
}

async function putAlerts(ctx: StepContext, alerts: readonly Alert[]): Promise<void> {
  if (alerts.length === 0) return;
  const target = {
    service: 'Kinesis' as const,
    resource: `stream "${ctx.alertStream}"`,
    maxRetries: ctx.maxRetries,
  };
  const results: PutResult[] = [];
  for (const request of planPutRequests(alerts.map(alertRecord)))
    await putRequest({ client: ctx.kinesis, streamName: ctx.alertStream, target }, request, results);
}

export interface StepResult {
  /** The head after the step: the committed one, or the one read when there was nothing to do. */
  head: Head | undefined;
  /** False when another step committed first (nothing fired here). */
  committed: boolean;
  alerts: number;
  events: number;
}

/**
 * One step from `head` (as just read). `final`: the end of the stream, as at the end of the
 * processor's input: everything held is released and every open window fires; the detector then
 * counts every later event as late, so this is for a stream that is being retired (and for tests).
 */
export async function detectorStep(
  ctx: StepContext,
  head: Head | undefined,
  opts: { final?: boolean; afterCommit?: () => void; listed?: readonly string[] } = {},
): Promise<StepResult> {
  const now = ctx.now();
  const { state } = ctx;
  const [progress, stored] = await Promise.all([state.progress(), head ? state.readState(head) : undefined]);
  if (head && !stored) return { head: undefined, committed: false, alerts: 0, events: 0 };
  const saved = stored && gunzipJson<Saved>(stored);
  // A step that committed and crashed before putting its alerts on stream 2: put them now.
  if (head && saved && !head.alertsPut) {
    await putAlerts(ctx, saved.alerts);
    await state.markAlertsPut(head.version);
  }
  const detector = new Detector(ctx.detect, ctx.now);
  const order = new EventOrder((e) => detector.timeOf(e));
  const clock = new ShardClock(ctx.idleShardMs, now);
  const parts = { detector, order, clock };
  if (saved) restoreState(saved.state, parts);

  const merged = { ...(head?.merged ?? {}) };
  const since = head?.since ?? now;
  const ids = progress.map((p) => p.shardId).sort();
  const chunks = await Promise.all(ids.map((id) => state.chunksAfter(id, merged[id] ?? 0)));
  // Shards of stream 1 that sent nothing yet hold the watermark back, as the processor's unheard
  // shards do, until they have been silent for the idle time since the detector started.
  const silent = (opts.listed ?? []).filter((id) => !ids.includes(id));
  for (const id of silent) clock.heard(id, -Infinity, since);
  const ready: ClickEvent[] = [];
  let events = 0;
  ids.forEach((id, i) => {
    // Restored shards count as heard when they last sent, not at this step's start.
    clock.heard(id, -Infinity, progress[i]!.heardAt);
    for (const c of chunks[i]!) {
      const batch = gunzipJson<ClickEvent[]>(c.data);
      events += batch.length;
      append(ready, order.push(id, batch));
      clock.heard(id, c.newest, c.heardAt);
      merged[id] = c.n;
    }
  });
  if (events === 0 && !opts.final && chunks.every((c) => c.length === 0))
    return { head, committed: false, alerts: 0, events: 0 };

  let alerts: Alert[];
  if (opts.final) {
    append(ready, order.drain());
    alerts = [...detector.add(ready).alerts, ...detector.flush()];
  } else {
    const wm = clock.watermark([...ids, ...silent], now);
    if (wm !== undefined) append(ready, order.release(wm));
    alerts = detector.add(ready).alerts;
    if (wm !== undefined) append(alerts, detector.advance(wm));
  }

  const version = (head?.version ?? 0) + 1;
  const data = gzipJson({ state: saveState(parts), alerts } satisfies Saved);
  const token = randomUUID();
  const written = await state.writeState(version, token, data, now);
  const next: Head = { version, token, parts: written, merged, alertsPut: alerts.length === 0, since };
  if (!(await state.commitHead(head?.version, next, now))) {
    await state.dropState(version, token, written).catch(() => undefined);
    return { head: undefined, committed: false, alerts: 0, events };
  }
  opts.afterCommit?.();
  if (alerts.length > 0) {
    await putAlerts(ctx, alerts);
    await state.markAlertsPut(version);
    next.alertsPut = true;
  }
  if (head) await state.dropState(head.version, head.token, head.parts).catch(() => undefined);
  return { head: next, committed: true, alerts: alerts.length, events };
}

/** Appends in a loop (a spread of a large release would exceed the call stack). */
function append<T>(to: T[], items: readonly T[]): void {
  for (const x of items) to.push(x);
}
