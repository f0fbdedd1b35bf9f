/** The alert model: the same fields wherever an alert is stored or sent (design.md, "Data contract"). */
import { createHash } from 'node:crypto';

export type Severity = 'low' | 'medium' | 'high';
/**
 * What an alert is about: a user or session (keyed rules), all traffic (spikes), or one product,
 * category (its `category_id`) or brand that traffic converges on (key-surge rules: skewing, floods
 * aimed at one item, distributed hoarding).
 */
export type KeyType = 'user' | 'session' | 'global' | 'product' | 'category' | 'brand';
/** Every key type, for validating input (API, alert records). */
export const KEY_TYPES: readonly KeyType[] = ['user', 'session', 'global', 'product', 'category', 'brand'];
/** The key types a key-surge rule counts on: where many users' traffic meets. */
export const ITEM_KEY_TYPES = ['product', 'category', 'brand'] as const;
export type ItemKeyType = (typeof ITEM_KEY_TYPES)[number];

export interface Alert {
  /** Deterministic: hash of rule, key type, key and window start, so a replay writes the same id. */
  id: string;
  rule: string;
  severity: Severity;
  key_type: KeyType;
  key: string;
  user_id: number | null;
  /** ISO-8601 UTC instants. */
  window_start: string;
  window_end: string;
  /** Events in the window: the reference's `num_actions_per_watermark`. */
  count: number;
  /** How far over the threshold, count / threshold. */
  score: number;
  first_seen: string;
  last_seen: string;
  /** Event time at which the rule fired (the watermark that closed the window). */
  detected_event_time: string;
  /** Wall clock at detection. */
  detected_at: string;
  evidence: Record<string, unknown>;
}

export function alertId(rule: string, keyType: KeyType, key: string, windowStartMs: number): string {
  return createHash('sha256')
    .update(`${rule}\u0000${keyType}\u0000${key}\u0000${windowStartMs}`)
    .digest('hex')
    .slice(0, 32);
}

/** The reference Lambda's DynamoDB partition key: `userid#<id>#appserver#<name>`. */
export function referencePartitionKey(userId: number | string, appServer: string): string {
  return `userid#${userId}#appserver#${appServer}`;
}
