/**
 * Work the processor hands off instead of waiting for it (acting on alerts, appending to the lake):
 * items run through `run` in the order pushed, one call at a time, and what is pushed while a call
 * runs goes together into the next (a group commit: one fsync for many alerts). Far behind
 * (`maxWaiting` items waiting), push waits, so memory stays bounded. A failed call fails every
 * later push and every wait.
 */
export class GroupQueue<T> {
  private waiting: T[] = [];
  private pushed = 0;
  private done = 0;
  private running = false;
  private failed: { error: unknown } | undefined;
  private waiters: { upTo: number; resolve: () => void; reject: (error: unknown) => void }[] = [];

  constructor(
    private readonly run: (items: T[]) => Promise<void>,
    private readonly maxWaiting: number,
  ) {}

  async push(items: readonly T[]): Promise<void> {
    if (this.failed) throw this.failed.error;
    if (items.length === 0) return;
    for (const item of items) this.waiting.push(item);
    this.pushed += items.length;
    if (!this.running) void this.drain();
    if (this.waiting.length >= this.maxWaiting) await this.written();
  }

  /** Resolves once every item pushed so far has been through `run` (not waiting for later ones). */
  written(): Promise<void> {
    if (this.failed) return Promise.reject(this.failed.error);
    if (this.done >= this.pushed) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ upTo: this.pushed, resolve, reject }));
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.waiting.length > 0) {
        const next = this.waiting;
        this.waiting = [];
        await this.run(next);
        this.done += next.length;
        this.waiters = this.waiters.filter((w) => (w.upTo <= this.done ? void w.resolve() : true));
      }
    } catch (error) {
      this.failed = { error };
      for (const w of this.waiters) w.reject(error);
      this.waiters = [];
    } finally {
      this.running = false;
    }
  }
}
