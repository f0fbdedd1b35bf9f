/**
 * The durable outbox against real endpoints on loopback ports chosen at run time (a webhook receiver
 * that checks signatures and counts by delivery id). Backoff is kept to milliseconds through options;
 * tests wait for outcomes, never for timings.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Alert } from '../../src/core/alert.js';
import { ConsoleNotifier } from '../../src/notify/console/notifier.js';
import { backoffMs } from '../../src/core/retry.js';
import { Outbox, type OutboxOptions } from '../../src/notify/outbox.js';
import {
  deliveryId,
  type Notifier,
  NotifyError,
  parseRetryAfter,
  retryableHttpStatus,
} from '../../src/notify/types.js';
import { WebhookNotifier } from '../../src/notify/webhook/notifier.js';
import { SqliteOutboxStore } from '../../src/stores/sqlite/outbox-store.js';
import { runTsChild } from '../helpers/ts-child.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { testAlert, waitFor } from '../helpers/alerts.js';
import { freePort } from '../helpers/ports.js';

const SECRET = 'outbox-test-secret';
const FAST = { baseDelayMs: 5, maxDelayMs: 40 } as const;

const alerts = (from: number, n: number): Alert[] => Array.from({ length: n }, (_, i) => testAlert(from + i));
const ids = (list: readonly Alert[], notifier = 'webhook') => list.map((a) => deliveryId(a.id, notifier));

let dir: string;
let file: string;
const cleanups: (() => Promise<void>)[] = [];

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'sp-outbox-'));
  file = path.join(dir, 'outbox.sqlite');
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

async function receiver(port = 0): Promise<WebhookReceiver> {
  const r = await startWebhookReceiver(SECRET, port);
  cleanups.push(() => r.stop());
  return r;
}

function outbox(opts: Partial<OutboxOptions> & Pick<OutboxOptions, 'notifiers'>): Outbox {
  const o = new Outbox({ file, ...FAST, ...opts });
  cleanups.push(() => o.close());
  return o;
}

const webhook = (url: string) => new WebhookNotifier({ url, secret: SECRET, timeoutMs: 5000 });

describe('backoff', () => {
  it("is core/retry.ts's full jitter: below min(cap, base × 2^retries) after the first failed send", async () => {
    const now = Date.UTC(2026, 10, 28);
    const sends: number[] = [];
    const down: Notifier = {
      name: 'down',
      async notify() {
        sends.push(sends.length);
        throw new NotifyError('down', 'HTTP 503', { retryable: true, status: 503 });
      },
      close: async () => {},
    };
    const o = outbox({
      notifiers: [down],
      baseDelayMs: 1000,
      maxDelayMs: 300_000,
      now: () => now,
      random: () => 0.75,
    });
    o.start();
    await o.enqueue(alerts(0, 1));
    await waitFor(async () => (await o.stats()).retries === 1, 'a retry');
    const [entry] = await o.pending();
    const opts = { baseMs: 1000, capMs: 300_000, random: () => 0.75 };
    expect(entry!.nextAt - now).toBe(backoffMs(0, opts));
    expect(entry!.nextAt - now).toBe(750);
    // The clock stands still, so the entry waits for its next attempt time: one send only.
    expect(sends).toEqual([0]);
  });

  it('reads Retry-After and classifies HTTP statuses', () => {
    const now = Date.UTC(2026, 10, 28);
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(new Date(now + 30_000).toUTCString(), now)).toBe(30_000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect([408, 425, 429, 500, 502, 503].every(retryableHttpStatus)).toBe(true);
    expect([300, 400, 401, 403, 404, 410, 422].some(retryableHttpStatus)).toBe(false);
  });

  it('waits at least what the receiver asked for in Retry-After', async () => {
    const r = await receiver();
    let refused = 0;
    r.respond = () => (refused++ === 0 ? 503 : 200);
    r.errorHeaders = { 'retry-after': '3600' };
    const o = outbox({ notifiers: [webhook(r.url)] });
    o.start();
    await o.enqueue(alerts(0, 1));
    await waitFor(async () => (await o.stats()).retries === 1, 'a retry');
    const [entry] = await o.pending();
    expect(entry!.nextAt - Date.now()).toBeGreaterThan(3_000_000);
    expect(entry!.lastError).toContain('HTTP 503');
  });
});

describe('outbox', () => {
  it('enqueues idempotently per (alert, notifier), high severity by default', async () => {
    const out = new PassThrough();
    const o = outbox({
      notifiers: [
        webhook('http://127.0.0.1:9/never-started'),
        new ConsoleNotifier(out, Infinity, { minSeverity: 'medium' }),
      ],
    });
    const medium = testAlert(100, { count: 8, severity: 'medium' });
    expect(await o.enqueue([...alerts(0, 3), medium])).toBe(3 + 4);
    expect(await o.enqueue([...alerts(0, 3), medium])).toBe(0);
    expect(await o.enqueue(alerts(2, 2))).toBe(2);
    const s = await o.stats();
    expect(s.pending).toBe(4 + 5);
    expect(s.byNotifier.webhook!.pending).toBe(4);
    expect(s.byNotifier.console!.pending).toBe(5);
    expect((await o.pending({ notifier: 'webhook' })).map((e) => e.deliveryId)).toEqual(ids(alerts(0, 4)));
  });

  it('delivers every alert exactly once and in order after the endpoint was down, without holding others back', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/hook`;
    const out = new PassThrough();
    let printed = '';
    out.on('data', (d: Buffer) => (printed += d.toString()));
    const o = outbox({
      notifiers: [webhook(url), new ConsoleNotifier(out, Infinity, { showDeliveryId: true })],
    });
    o.start();
    const all = alerts(0, 40);
    for (let i = 0; i < all.length; i += 8) await o.enqueue(all.slice(i, i + 8));
    // Nothing listens on the port: the console still gets everything.
    await waitFor(async () => (await o.stats()).byNotifier.console!.delivered === 40, 'console deliveries');
    await waitFor(async () => (await o.stats()).byNotifier.webhook!.retries >= 3, 'webhook retries');
    expect((await o.stats()).byNotifier.webhook!.delivered).toBe(0);
    expect(printed.split('\n').filter(Boolean)).toHaveLength(40);

    // Then it listens but answers 503 for a while, then 200.
    const r = await receiver(port);
    let refusals = 0;
    r.respond = (req) => (!req.signatureOk ? 401 : refusals++ < 5 ? 503 : 200);
    await waitFor(async () => (await o.stats()).byNotifier.webhook!.delivered === 40, 'webhook deliveries');
    // Each re-enqueue (a processor replaying after a crash) is a no-op.
    expect(await o.enqueue(all)).toBe(0);
    expect(r.accepted().map((x) => x.deliveryId)).toEqual(ids(all));
    expect(r.requests.every((x) => x.signatureOk)).toBe(true);
    const s = await o.stats();
    expect(s).toMatchObject({ pending: 0, delivered: 80, dead: 0, oldestPendingAgeMs: null });
    expect(s.retries).toBeGreaterThanOrEqual(8);
  });

  it('resumes pending entries after a restart on the same file', async () => {
    const r = await receiver();
    r.respond = () => 503;
    const first = new Outbox({ file, notifiers: [webhook(r.url)], ...FAST });
    first.start();
    const all = alerts(0, 10);
    await first.enqueue(all);
    await waitFor(async () => (await first.stats()).retries >= 2, 'retries');
    await first.close();
    expect(r.accepted()).toHaveLength(0);

    r.respond = () => 200;
    const second = outbox({ notifiers: [webhook(r.url)] });
    const before = await second.stats();
    expect(before.pending).toBe(10);
    expect(before.oldestPendingAgeMs).toBeGreaterThanOrEqual(0);
    second.start();
    await waitFor(async () => (await second.stats()).delivered === 10, 'deliveries after restart');
    expect(await second.enqueue(all)).toBe(0);
    // A send that close() aborted may still reach the receiver after it turned to 200 (on a loaded
    // machine): the same delivery id once more, which receivers dedupe on. Nothing else repeats.
    const accepted = r.accepted().map((x) => x.deliveryId);
    expect([...new Set(accepted)]).toEqual(ids(all));
    expect(accepted.length - new Set(accepted).size).toBeLessThanOrEqual(1);
  });

  it('gives up on an entry after the max age and keeps it, with its last error, as dead', async () => {
    const r = await receiver();
    r.respond = () => 503;
    const o = outbox({ notifiers: [webhook(r.url)], maxAgeMs: 300 });
    o.start();
    await o.enqueue(alerts(0, 3));
    await waitFor(async () => (await o.stats()).dead === 3, 'dead entries');
    const dead = await o.pending({ status: 'dead' });
    expect(dead.map((e) => e.deliveryId)).toEqual(ids(alerts(0, 3)));
    // The head was retried until it expired; the ones behind it waited their turn (order) and expired too.
    expect(dead[0]!.attempts).toBeGreaterThanOrEqual(1);
    for (const e of dead) expect(e.lastError).toMatch(/^expired after 300 ms: .*HTTP 503/);
    expect(await o.stats()).toMatchObject({ pending: 0, delivered: 0, dead: 3 });
    // Dead stays dead: enqueueing it again changes nothing.
    expect(await o.enqueue(alerts(0, 3))).toBe(0);
  });

  it('marks a permanent failure dead at once and goes on with the next entry', async () => {
    const r = await receiver();
    const all = alerts(0, 4);
    const poison = deliveryId(all[1]!.id, 'webhook');
    r.respond = (req) => (req.deliveryId === poison ? 400 : 200);
    const o = outbox({ notifiers: [webhook(r.url)] });
    o.start();
    await o.enqueue(all);
    await waitFor(async () => (await o.stats()).delivered === 3, 'deliveries');
    const [dead] = await o.pending();
    expect(dead).toMatchObject({ deliveryId: poison, status: 'dead', attempts: 1, retries: 0 });
    expect(dead!.lastError).toContain('HTTP 400');
    expect(r.requests.filter((x) => x.deliveryId === poison)).toHaveLength(1);
    expect(r.accepted().map((x) => x.deliveryId)).toEqual(ids([all[0]!, all[2]!, all[3]!]));
  });

  it('close({drainMs}) delivers what is pending, or leaves it pending for the next run', async () => {
    const r = await receiver();
    const o = new Outbox({ file, notifiers: [webhook(r.url)], ...FAST });
    await o.enqueue(alerts(0, 20));
    await o.close({ drainMs: 20_000 });
    expect(r.accepted().map((x) => x.deliveryId)).toEqual(ids(alerts(0, 20)));

    const down = `http://127.0.0.1:${await freePort()}/hook`;
    const o2 = new Outbox({ file, notifiers: [webhook(down)], ...FAST });
    o2.start();
    await o2.enqueue(alerts(20, 5));
    await o2.close({ drainMs: 100 });
    const store = new SqliteOutboxStore(file);
    cleanups.push(() => store.close());
    expect(await store.stats(Date.now())).toMatchObject({ pending: 5, delivered: 20, dead: 0 });
  });

  it('after a SIGKILL between send and mark, repeats only that entry, with the same delivery id', async () => {
    const r = await receiver();
    const N = 20;
    const child = path.resolve(import.meta.dirname, 'fixtures/outbox-child.ts');
    const env = { OUTBOX_FILE: file, WEBHOOK_URL: r.url, WEBHOOK_SECRET: SECRET, ALERTS: String(N) };
    /** For each killed run: the delivery id the receiver had accepted last when it died. */
    const inFlight: string[] = [];
    for (let round = 0; ; round++) {
      expect(round).toBeLessThan(40);
      // Always killed after the first send in round 0; then now and then; the last run is not.
      const p = round === 0 ? 1 : round < 6 ? 0.3 : 0;
      const run = runTsChild(child, { ...env, STOREPULSE_FAILPOINTS: p > 0 ? `outbox.after-send=${p}` : '' });
      cleanups.push(async () => void run.child.kill('SIGKILL'));
      const { code, signal } = await run.exited;
      if (signal === 'SIGKILL') {
        inFlight.push(r.accepted().at(-1)!.deliveryId);
        continue;
      }
      expect(code, run.output()).toBe(0);
      break;
    }
    const got = r.accepted().map((x) => x.deliveryId);
    expect(inFlight.length).toBeGreaterThanOrEqual(1);
    // Every alert arrived, first arrivals in alert order.
    expect([...new Set(got)]).toEqual(ids(alerts(0, N)));
    // Repeats: exactly one per kill, each the entry in flight at that kill, sent again right away.
    expect(got.length).toBe(N + inFlight.length);
    const repeats = got.filter((id, i) => got.indexOf(id) !== i);
    expect(repeats).toEqual(inFlight);
    for (const id of inFlight) {
      const first = got.indexOf(id);
      expect(got[first + 1]).toBe(id);
    }
    const store = new SqliteOutboxStore(file);
    cleanups.push(() => store.close());
    expect(await store.stats(Date.now())).toMatchObject({ pending: 0, delivered: N, dead: 0 });
  });
});
