/** Alerts for the notifier tests: the reference rule's shape, ids as the detector makes them. */
import { type Alert, alertId, type Severity } from '../../src/core/alert.js';

const T0 = Date.UTC(2019, 9, 1, 10, 0, 0);

/** The `i`-th alert of a run: user 541312140 + i, window i × 10 s after T0, count 11 + i (high). */
export function testAlert(i: number, over: Partial<Alert> = {}): Alert {
  const user = 541312140 + i;
  const start = T0 + i * 10_000;
  const count = over.count ?? 11 + (i % 20);
  const severity: Severity = over.severity ?? (count > 10 ? 'high' : 'medium');
  return {
    id: alertId('reference-user-rate', 'user', String(user), start),
    rule: 'reference-user-rate',
    severity,
    key_type: 'user',
    key: String(user),
    user_id: user,
    window_start: new Date(start).toISOString(),
    window_end: new Date(start + 10_000).toISOString(),
    count,
    score: count / 5,
    first_seen: new Date(start + 120).toISOString(),
    last_seen: new Date(start + 9_870).toISOString(),
    detected_event_time: new Date(start + 20_000).toISOString(),
    detected_at: '2026-11-28T03:00:00.000Z',
    evidence: {
      category_id: '2053013555631882655',
      event_types: { view: count - 1, cart: 1 },
      user_session: '72d76fde-8bb3-4e00-8c23-a032dfed738c',
    },
    ...over,
  };
}

/** Polls `cond` every 20 ms until it holds; fails after `timeoutMs` (a bound, never a timing check). */
export async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
