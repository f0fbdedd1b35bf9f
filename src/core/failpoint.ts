/**
 * Failpoints for crash tests: `STOREPULSE_FAILPOINTS=name=probability,…` makes the process kill
 * itself with SIGKILL when it reaches a named point (with that probability), so a test can crash it
 * exactly where a crash is hardest to survive, not only where a random kill happens to land. Unset
 * (always, outside tests), a failpoint is one map lookup.
 */
const armed = parse(process.env.STOREPULSE_FAILPOINTS ?? '');

function parse(spec: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const part of spec.split(',')) {
    const [name, p] = part.split('=');
    if (name) out.set(name.trim(), p === undefined ? 1 : Number(p));
  }
  return out;
}

export function failpoint(name: string): void {
  const p = armed.get(name);
  if (p !== undefined && Math.random() < p) process.kill(process.pid, 'SIGKILL');
}
