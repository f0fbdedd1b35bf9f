/** The notifier contract: tell people about alerts. Backends: console/ now; webhook, SMTP and SNS later. */
import type { Alert } from '../core/alert.js';

export interface Notifier {
  readonly name: string;
  notify(alerts: readonly Alert[]): Promise<void>;
  close(): Promise<void>;
}
