/**
 * The one abortable wait. An abort ends it early and quietly (it resolves, unlike the setTimeout of
 * node:timers/promises, which rejects): callers check their signal after the wait and stop there.
 * It removes its listeners whichever comes first, so that a long-lived signal (a process's stop
 * signal, a stream's close signal) does not gather one per wait.
 *
 * Several signals are taken as they are rather than through AbortSignal.any: on Node 20 every
 * any() call leaves an entry in each source signal's set of dependants that is never removed (a
 * poll loop of a million waits kept a million of them).
 */
export function sleep(ms: number, ...signals: (AbortSignal | undefined)[]): Promise<void> {
  return new Promise((resolve) => {
    if (signals.some((s) => s?.aborted)) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      for (const s of signals) s?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    for (const s of signals) s?.addEventListener('abort', done);
  });
}
