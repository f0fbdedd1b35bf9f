/**
 * SIGINT/SIGTERM stop the current command gracefully: work in hand is finished and flushed. After a
 * Ctrl-C the command exits 130, the shell's convention, so that `storepulse simulate … && next`
 * does not go on as if the replay had finished; SIGTERM (a service manager's stop) exits 0.
 */
let stoppedBy: NodeJS.Signals | undefined;

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
    stoppedBy = name;
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

/** The signal that stopped this process's command, if one did. */
export function stoppedBySignal(): NodeJS.Signals | undefined {
  return stoppedBy;
}
