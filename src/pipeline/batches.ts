/** Turns a synchronous event generator into the batches the pipeline moves. */
import type { ClickEvent } from '../core/event.js';

export async function* inBatches(events: Iterable<ClickEvent>, size = 4096): AsyncGenerator<ClickEvent[]> {
  let batch: ClickEvent[] = [];
  for (const e of events) {
    batch.push(e);
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}
