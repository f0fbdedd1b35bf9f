/** Prints one line per alert to stderr (results own stdout), like the reference Lambda's SNS message. */
import type { Alert, Severity } from '../../core/alert.js';
import { deliveryId, type Notifier, DEFAULT_MIN_SEVERITY } from '../types.js';
import { alertSummary } from '../format.js';

export interface ConsoleNotifierOptions {
  /** Default 'console'. */
  name?: string;
  /** Default 'high'. */
  minSeverity?: Severity;
  /** Append ` [delivery <id>]` to each line (off: the line stays what people read). */
  showDeliveryId?: boolean;
}

export class ConsoleNotifier implements Notifier {
  readonly name: string;
  readonly minSeverity: Severity;
  sent = 0;
  private suppressed = 0;
  private readonly showDeliveryId: boolean;

  /** `maxLines` caps what a flood prints; the rest are counted and summed up at close. */
  constructor(
    private readonly out: NodeJS.WritableStream = process.stderr,
    private readonly maxLines = Infinity,
    opts: ConsoleNotifierOptions = {},
  ) {
    this.name = opts.name ?? 'console';
    this.minSeverity = opts.minSeverity ?? DEFAULT_MIN_SEVERITY;
    this.showDeliveryId = opts.showDeliveryId ?? false;
  }

  async notify(alerts: readonly Alert[]): Promise<void> {
    const room = Math.max(0, this.maxLines - this.sent);
    const shown = alerts.slice(0, room);
    const line = (a: Alert) =>
      this.showDeliveryId ? `${alertSummary(a)} [delivery ${deliveryId(a.id, this.name)}]` : alertSummary(a);
    if (shown.length > 0) this.out.write(shown.map((a) => `${line(a)}\n`).join(''));
    this.sent += shown.length;
    this.suppressed += alerts.length - shown.length;
  }

  async close(): Promise<void> {
    if (this.suppressed > 0)
      this.out.write(`... and ${this.suppressed} more notifications (see storepulse alerts)\n`);
  }
}
