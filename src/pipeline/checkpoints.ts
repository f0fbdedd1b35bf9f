/**
 * The processor's checkpoints: when to take one, and saving it without stopping detection.
 *
 * A checkpoint takes the positions of every record handed out and the matching state at once,
 * between two batches. Saving it waits for what those records caused: their alerts acted on
 * (stream 2, outbox, store) and the lake holding them (a Parquet write of up to a few hundred ms).
 * Only then is the consumer checkpoint committed, so a restart from it loses nothing. That wait
 * happens in the background while detection goes on. One checkpoint is saved at a time: the next
 * one (or the end of the run) waits for it, and fails the run with its error.
 */
import { failpoint } from '../core/failpoint.js';

type Positions = Record<string, string>;

/** Where a resumable run saves its progress (streams/consumer.ts). */
export interface Checkpointer {
  /** State of the checkpoint the run starts from. */
  readonly restoredState: string | undefined;
  /** The positions of every record handed out so far. */
  handedOut(): Positions;
  /** Saves `positions` with `state` as one checkpoint. */
  commit(state: string, positions: Positions): Promise<void>;
}

export interface CheckpointsOptions {
  to: Checkpointer;
  /** A checkpoint is due after this many records... */
  everyRecords: number;
  /** ...or this many wall ms since the last one, whichever comes first. */
  everyMs: number;
  now: () => number;
  /** The state matching the positions handed out so far. */
  state: () => string;
  /** Resolves once the alerts fired so far are acted on. Called when the checkpoint is taken. */
  alertsActed: () => Promise<void>;
  /** Resolves once the lake holds every record given to it so far. Called when the checkpoint is taken. */
  lakeSealed?: () => Promise<void>;
  /** A checkpoint was committed. */
  onSaved?: () => void;
}

export class Checkpoints {
  private sinceLast = 0;
  private takenAt: number;
  private saving: Promise<void> = Promise.resolve();

  constructor(private readonly opts: CheckpointsOptions) {
    this.takenAt = opts.now();
  }

  /** Counts `records` more read; true when a checkpoint is due. */
  due(records: number): boolean {
    this.sinceLast += records;
    return this.sinceLast >= this.opts.everyRecords || this.opts.now() - this.takenAt >= this.opts.everyMs;
  }

  /**
   * Waits for the previous save (throwing its error), takes positions and state, and starts saving
   * them; resolves once taken, not once saved.
   */
  async take(): Promise<void> {
    await this.saving;
    const { to } = this.opts;
    const positions = to.handedOut();
    const state = this.opts.state();
    // Started now, so they wait for what was handed over up to this point and not for later work.
    // The lake may seal records read after `positions`: it is then ahead of the checkpoint, which a
    // restart handles (records the lake holds are not written again).
    const published = this.opts.lakeSealed?.();
    const acted = this.opts.alertsActed();
    this.saving = (async () => {
      await Promise.all([published, acted]);
      failpoint('process.after-lake-flush');
      await to.commit(state, positions);
      this.opts.onSaved?.();
    })();
    // Observed by the next `await this.saving`; this only stops an "unhandled rejection" in between.
    this.saving.catch(() => undefined);
    this.sinceLast = 0;
    this.takenAt = this.opts.now();
  }

  /** Resolves once the last checkpoint taken is saved; rejects if saving it failed. */
  saved(): Promise<void> {
    return this.saving;
  }
}
