/**
 * SIGINT/SIGTERM stop the current command gracefully: work in hand is finished and flushed. After a
 * Ctrl-C the command exits 130, the shell's convention, so that `storepulse simulate … && next`
 * does not go on as if the replay had finished; SIGTERM (a service manager's stop) exits 0. A command
 * that runs until stopped (the dashboard) ends normally either way: `until: 'stopped'`, exit 0.
 */
let stoppedBy: NodeJS.Signals | undefined;
let runsUntilStopped = false;

export function stopSignal(
  log: (m: string) => void,
  opts: { until?: 'done' | 'stopped' } = {},
): { signal: AbortSignal; dispose(): void } {
  if (opts.until === 'stopped') runsUntilStopped = true;
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

/** Resolves when the stop signal fires: a command that serves until Ctrl-C waits on it. */
export function untilStopped(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** Whether a Ctrl-C is how this process's command ends normally. */
export function stopIsNormalEnd(): boolean {
  return runsUntilStopped;
}

/** The signal that stopped this process's command, if one did. */
export function stoppedBySignal(): NodeJS.Signals | undefined {
  return stoppedBy;
}
