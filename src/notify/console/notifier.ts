/** Prints one line per alert to stderr (results own stdout), like the reference Lambda's SNS message. */
import type { Alert } from '../../core/alert.js';
import type { Notifier } from '../types.js';

export function formatAlertLine(a: Alert): string {
  return (
    `[${a.severity.toUpperCase()}] ${a.rule}: ${a.key_type} ${a.key} made ${a.count} actions in ` +
    `${a.window_start} .. ${a.window_end} (score ${a.score.toFixed(1)})`
  );
}

export class ConsoleNotifier implements Notifier {
  readonly name = 'console';
  sent = 0;
  private suppressed = 0;

  /** `maxLines` caps what a flood prints; the rest are counted and summed up at close. */
  constructor(
    private readonly out: NodeJS.WritableStream = process.stderr,
    private readonly maxLines = Infinity,
  ) {}

  async notify(alerts: readonly Alert[]): Promise<void> {
    const room = Math.max(0, this.maxLines - this.sent);
    const shown = alerts.slice(0, room);
    if (shown.length > 0) this.out.write(shown.map((a) => `${formatAlertLine(a)}\n`).join(''));
    this.sent += shown.length;
    this.suppressed += alerts.length - shown.length;
  }

  async close(): Promise<void> {
    if (this.suppressed > 0)
      this.out.write(`... and ${this.suppressed} more notifications (see storepulse alerts)\n`);
  }
}
