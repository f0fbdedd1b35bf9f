/**
 * The durable notification outbox. The processor enqueues every alert it fires (before storing it;
 * repeats after a crash are normal and change nothing), and a dispatcher inside the same process
 * delivers each (alert, notifier) entry:
 *
 * - in enqueue order per notifier (the head entry blocks that notifier's queue while it is retried),
 *   and each notifier on its own loop, so one endpoint being down holds no other back;
 * - with exponential backoff and full jitter between attempts (core/retry.ts's backoffMs, the delay
 *   kept as the entry's next attempt time rather than slept), never sooner than a receiver's Retry-After;
 * - until it is delivered (never sent again), fails permanently (dead at once), or is older than
 *   maxAgeMs (dead, with its last error kept for pending()/stats()).
 *
 * Guarantee: at-least-once, with a stable delivery id. A send that succeeds is marked right after it;
 * the only repeat possible is a crash (or an aborted close) between the receiver taking it and that
 * mark (failpoint `outbox.after-send`), and the repeat carries the same delivery id.
 *
 * Failpoints (src/core/failpoint.ts): `outbox.after-enqueue`, `outbox.after-send`.
 */
import type { Alert } from '../core/alert.js';
import { StorepulseError, errorMessage } from '../core/errors.js';
import { failpoint } from '../core/failpoint.js';
import { backoffMs } from '../core/retry.js';
import { SqliteOutboxStore } from '../stores/sqlite/outbox-store.js';
import { OUTBOX_DEFAULTS } from './outbox-options.js';
import { isRetryable, type Notifier, NotifyError, notifies } from './types.js';
import { type OutboxEntry, type OutboxQuery, type OutboxStats, type OutboxStore } from '../stores/types.js';

export interface OutboxOptions {
  /** The SQLite file (by convention `outbox.sqlite` in the data folder); or give `store`. */
  file?: string;
  /** Another OutboxStore backend; the outbox closes it at close(). */
  store?: OutboxStore;
  /** The notifiers, unique by name; the outbox owns them and closes them at close(). */
  notifiers: readonly Notifier[];
  /** First backoff ceiling, ms (default 1000). */
  baseDelayMs?: number;
  /** Backoff ceiling, ms (default 300,000: 5 minutes). */
  maxDelayMs?: number;
  /** An entry not delivered this long after its first enqueue is dead (default 86,400,000: 24 h). */
  maxAgeMs?: number;
  /** Dead entries, retries and loop errors are told here (default: nowhere). */
  log?: (line: string) => void;
  now?: () => number;
  /** In [0, 1): the jitter. */
  random?: () => number;
}

export interface CloseOptions {
  /** Keep delivering what is pending for up to this long (default 0), then stop; the rest stays pending. */
  drainMs?: number;
}

/** A sleep that enqueue() or close() can cut short; a poke while nobody sleeps skips the next sleep. */
class Waker {
  private wake: (() => void) | undefined;
  private poked = false;

  sleep(ms: number): Promise<void> {
    if (this.poked) {
      this.poked = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        if (this.wake === done) this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.wake = done;
    });
  }

  poke(): void {
    if (this.wake) this.wake();
    else this.poked = true;
  }
}

const IDLE_MS = 60_000;

export class Outbox {
  private readonly store: OutboxStore;
  private readonly notifiers: readonly Notifier[];
  private readonly baseMs: number;
  private readonly capMs: number;
  private readonly maxAgeMs: number;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly log: (line: string) => void;
  private readonly wakers = new Map<string, Waker>();
  private loops: Promise<void>[] | undefined;
  /** Set by close(): loops stop when their queue is empty or at this instant. */
  private drainUntil: number | undefined;
  private readonly abort = new AbortController();
  private closed: Promise<void> | undefined;

  constructor(opts: OutboxOptions) {
    if (!opts.store && !opts.file) throw new StorepulseError('CONFIG', 'outbox: needs a file or a store');
    const names = new Set<string>();
    for (const n of opts.notifiers) {
      if (names.has(n.name)) throw new StorepulseError('CONFIG', `outbox: two notifiers named "${n.name}"`);
      names.add(n.name);
      this.wakers.set(n.name, new Waker());
    }
    this.store = opts.store ?? new SqliteOutboxStore(opts.file!);
    this.notifiers = opts.notifiers;
    this.baseMs = opts.baseDelayMs ?? OUTBOX_DEFAULTS.baseDelayMs;
    this.capMs = opts.maxDelayMs ?? OUTBOX_DEFAULTS.maxDelayMs;
    this.maxAgeMs = opts.maxAgeMs ?? OUTBOX_DEFAULTS.maxAgeMs;
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.log = opts.log ?? (() => {});
  }

  /**
   * Queues each alert for each notifier whose minimum severity it reaches. Idempotent per (alert id,
   * notifier): an entry already queued, delivered or dead is left as it is. Durable when it resolves.
   * Returns how many entries were new.
   */
  async enqueue(alerts: readonly Alert[]): Promise<number> {
    if (this.closed) throw new StorepulseError('STATE', 'outbox: enqueue after close');
    const entries: { alert: Alert; notifier: string }[] = [];
    for (const alert of alerts)
      for (const n of this.notifiers) if (notifies(n, alert)) entries.push({ alert, notifier: n.name });
    if (entries.length === 0) return 0;
    const added = await this.store.add(entries, this.now());
    failpoint('outbox.after-enqueue');
    if (added > 0) for (const w of this.wakers.values()) w.poke();
    return added;
  }

  /** Starts the dispatcher: one loop per notifier. Pending entries of an earlier run go first. */
  start(): void {
    if (this.loops || this.closed) return;
    this.loops = this.notifiers.map((n) => this.run(n));
  }

  /**
   * Delivers what is pending for up to `drainMs` (starting the dispatcher if needed), then stops: a
   * send still in flight is aborted (it stays pending). Closes the notifiers and the store.
   */
  close(opts: CloseOptions = {}): Promise<void> {
    this.closed ??= this.shutdown(opts.drainMs ?? 0);
    return this.closed;
  }

  private async shutdown(drainMs: number): Promise<void> {
    this.drainUntil = this.now() + drainMs;
    if (drainMs > 0 && !this.loops) this.loops = this.notifiers.map((n) => this.run(n));
    for (const w of this.wakers.values()) w.poke();
    const timer = setTimeout(() => this.abort.abort(), Math.max(0, drainMs));
    await Promise.all(this.loops ?? []);
    clearTimeout(timer);
    await Promise.allSettled(this.notifiers.map((n) => n.close()));
    await this.store.close();
  }

  /** Entries not delivered (default: pending and dead), in order, with attempts and last error. */
  pending(query: OutboxQuery = {}): Promise<OutboxEntry[]> {
    return this.store.list(query);
  }

  stats(): Promise<OutboxStats> {
    return this.store.stats(this.now());
  }

  private stopping(): boolean {
    return this.drainUntil !== undefined && (this.abort.signal.aborted || this.now() >= this.drainUntil);
  }

  private async run(n: Notifier): Promise<void> {
    const waker = this.wakers.get(n.name)!;
    let lastError: string | undefined;
    while (!this.stopping()) {
      try {
        const head = await this.store.head(n.name);
        if (!head) {
          if (this.drainUntil !== undefined) return; // drained
          await waker.sleep(IDLE_MS);
          continue;
        }
        const now = this.now();
        const expiresAt = head.enqueuedAt + this.maxAgeMs;
        if (now >= expiresAt) {
          // Never tried: an earlier entry held the queue; the notifier's last error says why.
          const why =
            head.lastError ?? `not attempted (${lastError ? `last error: ${lastError}` : 'queue held'})`;
          await this.store.markDead(head.seq, now, `expired after ${this.maxAgeMs} ms: ${why}`, false);
          this.log(`outbox: ${head.deliveryId} dead (expired): ${why}`);
          continue;
        }
        if (head.nextAt > now) {
          const until = Math.min(head.nextAt, expiresAt, this.drainUntil ?? Infinity);
          await waker.sleep(until - now);
          continue;
        }
        lastError = await this.attempt(n, head);
      } catch (err) {
        // The store failed (disk full, closed under us): say so and try again a little later.
        this.log(`outbox: ${n.name} loop: ${errorMessage(err)}`);
        await waker.sleep(this.baseMs);
      }
    }
  }

  /** One send of the head entry; returns the error message when it failed. */
  private async attempt(n: Notifier, head: OutboxEntry): Promise<string | undefined> {
    try {
      await n.notify([head.alert], { signal: this.abort.signal });
    } catch (err) {
      const now = this.now();
      const message = errorMessage(err);
      if (!isRetryable(err)) {
        await this.store.markDead(head.seq, now, message, true);
        this.log(`outbox: ${head.deliveryId} dead (permanent): ${message}`);
        return message;
      }
      const floor = err instanceof NotifyError ? (err.retryAfterMs ?? 0) : 0;
      // This was send number head.attempts + 1: head.attempts retries came before the one scheduled now.
      const backoff = backoffMs(head.attempts, {
        baseMs: this.baseMs,
        capMs: this.capMs,
        random: this.random,
      });
      const delay = Math.max(floor, backoff);
      await this.store.reschedule(head.seq, now + delay, message);
      this.log(
        `outbox: ${head.deliveryId} attempt ${head.attempts + 1} failed, next in ${delay} ms: ${message}`,
      );
      return message;
    }
    // The receiver has it; a crash before the mark below sends it once more, with the same delivery id.
    failpoint('outbox.after-send');
    await this.store.markDelivered(head.seq, this.now());
    return undefined;
  }
}
