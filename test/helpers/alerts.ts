/** The one alert fixture of the tests: alerts shaped and identified as the detector makes them. */
import { type Alert, alertId, type KeyType, type Severity } from '../../src/core/alert.js';

const T0 = Date.UTC(2019, 9, 1, 10, 0, 0);

/**
 * The `i`-th alert of a run: the reference rule on user 541312140 + i, window i × 10 s after T0,
 * count 11 + i (high). `over` replaces any field; the id follows the rule, key and window it ends with.
 */
export function testAlert(i: number, over: Partial<Alert> = {}): Alert {
  const user = 541312140 + i;
  const start = T0 + i * 10_000;
  const count = over.count ?? 11 + (i % 20);
  const a: Alert = {
    id: '',
    rule: 'reference-user-rate',
    severity: count > 10 ? 'high' : 'medium',
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
  return { ...a, id: over.id ?? alertId(a.rule, a.key_type, a.key, Date.parse(a.window_start)) };
}

/** An alert on `user` (null: a global one) with `count` actions, for the metrics tests. */
export function alert(
  user: number | null,
  count: number,
  opts: { rule?: string; keyType?: KeyType; key?: string; severity?: Severity } = {},
): Alert {
  const keyType = opts.keyType ?? (user === null ? 'global' : 'user');
  return testAlert(0, {
    rule: opts.rule ?? 'reference-user-rate',
    key_type: keyType,
    key: opts.key ?? (user === null ? 'all' : String(user)),
    user_id: user,
    count,
    severity: opts.severity ?? (count > 10 ? 'high' : 'medium'),
  });
}

/** Polls `cond` every 20 ms until it holds; fails after `timeoutMs` (a bound, never a timing check). */
export async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
