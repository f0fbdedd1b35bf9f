/**
 * The alert feed behind the dashboard's server push: one poll of the alert store for every open page,
 * every `pollMs` (which bounds how late an alert reaches the pages), handing each alert on once. The
 * store may be written by another process (`storepulse process`), so polling is what works everywhere.
 */
import type { StoredAlert } from '../stores/types.js';
import type { DataSources } from './sources.js';

/**
 * Alerts are stored a little after their `detected_at` (the processor writes them beside detection:
 * at most 180 ms later at 20k events/s, bench/RESULTS.md): the poll looks back this far,
 * deduplicating. Each poll reads the whole look-back, so it is kept short.
 */
const LOOK_BACK_MS = 1000;
/**
 * Most alerts pushed by one poll: the newest. A larger burst (a processor catching up) pushes only
 * these; the Alerts page shows the newest 200 anyway, and the rest is in the store, listed on a reload.
 */
const POLL_LIMIT = 1000;

type Listener = (alerts: StoredAlert[]) => void;

export class AlertFeed {
  private readonly listeners = new Set<Listener>();
  private timer: NodeJS.Timeout | undefined;
  private since: number | undefined;
  /** Ids handed on, with their detection time, kept while they are inside the look-back. */
  private readonly seen = new Map<string, number>();
  private polling = false;

  constructor(
    private readonly sources: DataSources,
    private readonly pollMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    if (!this.timer) this.timer = setInterval(() => void this.poll(), this.pollMs);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    };
  }

  private async poll(): Promise<void> {
    const store = this.sources.alerts();
    if (!store || this.polling) return;
    this.polling = true;
    try {
      // Pages merge by id what they loaded with what is pushed, so an overlap is harmless; a gap is not.
      const from = (this.since ?? this.now()) - LOOK_BACK_MS;
      const rows = await store.list({ detectedSince: new Date(from).toISOString(), limit: POLL_LIMIT });
      const fresh: StoredAlert[] = [];
      for (const a of rows) {
        if (this.seen.has(a.id)) continue;
        const at = Date.parse(a.detected_at);
        this.seen.set(a.id, at);
        this.since = Math.max(this.since ?? at, at);
        fresh.push(a);
      }
      this.since ??= from + LOOK_BACK_MS;
      for (const [id, at] of this.seen) if (at < this.since - 2 * LOOK_BACK_MS) this.seen.delete(id);
      if (fresh.length > 0) for (const l of this.listeners) l(fresh);
    } finally {
      this.polling = false;
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
