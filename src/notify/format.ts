/** How an alert reads in text: one line (console, subjects), a few evidence items, a plain-text body. */
import type { Alert } from '../core/alert.js';

/** One line per alert, shared by the text backends (console, SMTP subject/body, SNS). */
export function alertSummary(a: Alert): string {
  return (
    `[${a.severity.toUpperCase()}] ${a.rule}: ${a.key_type} ${a.key} made ${a.count} actions in ` +
    `${a.window_start} .. ${a.window_end} (score ${a.score.toFixed(1)})`
  );
}

/** A few evidence items as `key: value` strings, each cut to a readable length. */
export function evidenceItems(a: Alert, max = 5): string[] {
  return Object.entries(a.evidence)
    .slice(0, max)
    .map(([k, v]) => {
      const text = typeof v === 'string' ? v : JSON.stringify(v);
      return `${k}: ${text.length > 200 ? `${text.slice(0, 199)}…` : text}`;
    });
}

/** The plain-text body of an alert (SMTP, SNS): every field, one per line. */
export function alertText(a: Alert, delivery: string): string {
  const lines = [
    alertSummary(a),
    '',
    `rule: ${a.rule}`,
    `severity: ${a.severity}`,
    `key: ${a.key_type} ${a.key}`,
  ];
  if (a.user_id !== null) lines.push(`user_id: ${a.user_id}`);
  lines.push(
    `count (num_actions_per_watermark): ${a.count}`,
    `window: ${a.window_start} .. ${a.window_end}`,
    `score: ${a.score.toFixed(2)}`,
    `first_seen: ${a.first_seen}`,
    `last_seen: ${a.last_seen}`,
    `detected_event_time: ${a.detected_event_time}`,
    `detected_at: ${a.detected_at}`,
  );
  const evidence = evidenceItems(a);
  if (evidence.length > 0) lines.push('evidence:', ...evidence.map((e) => `  ${e}`));
  lines.push('', `alert id: ${a.id}`, `delivery id: ${delivery}`);
  return `${lines.join('\n')}\n`;
}
