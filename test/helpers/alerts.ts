/** An alert for the metrics tests: the reference rule's shape by default, or a global one (user null). */
import { type Alert, alertId, type KeyType, type Severity } from '../../src/core/alert.js';

export function alert(
  user: number | null,
  count: number,
  opts: { rule?: string; keyType?: KeyType; severity?: Severity } = {},
): Alert {
  const rule = opts.rule ?? 'reference-user-rate';
  const keyType = opts.keyType ?? (user === null ? 'global' : 'user');
  const key = user === null ? 'all' : String(user);
  const start = '2019-10-01T00:00:10.000Z';
  return {
    id: alertId(rule, keyType, key, Date.parse(start)),
    rule,
    severity: opts.severity ?? (count > 10 ? 'high' : 'medium'),
    key_type: keyType,
    key,
    user_id: user,
    window_start: start,
    window_end: '2019-10-01T00:00:20.000Z',
    count,
    score: count / 5,
    first_seen: start,
    last_seen: start,
    detected_event_time: start,
    detected_at: '2026-11-27T00:00:00.000Z',
    evidence: {},
  };
}
