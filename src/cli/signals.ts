/** SIGINT/SIGTERM stop the current command gracefully: work in hand is finished and flushed. */
export function stopSignal(log: (m: string) => void): { signal: AbortSignal; dispose(): void } {
  const ctrl = new AbortController();
  let count = 0;
  const onSignal = (name: NodeJS.Signals) => {
    count++;
    if (count > 1) {
      log(`${name} again: exiting now`);
      process.exit(130);
    }
    log(`${name}: finishing the batch in hand and flushing (send again to exit at once)`);
    ctrl.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: ctrl.signal,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
