/**
 * The DynamoDB item of an alert, in the reference table's key scheme (table `ddb-ecommerce-tab-1`,
 * partition key `ddb_partition_key` (S), sort key `ddb_sort_key` (N), as in the AWS sample's table
 * set-up and its Lambda), plus every storepulse alert field so that an item reads back as the alert
 * that was put, and `acknowledged_at` once a person acknowledged it. The same table holds the mutes
 * people set, one item per muted key (muteItem). Attribute values are marshalled by hand:
 * @aws-sdk/util-dynamodb is not a dependency.
 */
import { createHash } from 'node:crypto';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { type Alert, referencePartitionKey } from '../../core/alert.js';
import { StorepulseError } from '../../core/errors.js';
import type { AlertMute, StoredAlert } from '../types.js';

export const PARTITION_KEY = 'ddb_partition_key';
export const SORT_KEY = 'ddb_sort_key';
/** DynamoDB's item size limit (names and values, UTF-8). */
const MAX_ITEM_BYTES = 400 * 1024;

export type Item = Record<string, AttributeValue>;
export type ItemKey = { [PARTITION_KEY]: { S: string }; [SORT_KEY]: { N: string } };

/**
 * `userid#<id>#appserver#<name>` for user alerts (the reference Lambda's key); alerts on other keys
 * get the same shape with their key type in front: `session#<id>#appserver#<name>`,
 * `global#<key>#appserver#<name>`, and for items `product#<product_id>#appserver#<name>`,
 * `category#<category_id>#…`, `brand#<brand>#…`. The prefixes never meet, so a session id can never
 * land in a user's partition, nor a product id in a user's.
 */
function partitionKey(a: Alert, appServer: string): string {
  if (a.key_type === 'user') return referencePartitionKey(a.user_id ?? a.key, appServer);
  return `${a.key_type}#${a.key}#appserver#${appServer}`;
}

/** Significant decimal digits of a DynamoDB number. */
const NUMBER_DIGITS = 38;

/**
 * The sort key: the epoch second of the window start, plus a fraction taken from a hash of the alert
 * id.
 *
 * Why: the reference keys an item by (user, epoch second). Several rules can alert on one user for
 * windows that start in the same second, and they must not overwrite each other, while a replay of
 * one alert (same id) must land on the very same item. A whole-second sort key gives only one of
 * the two. A DynamoDB number holds 38 significant digits, so `<seconds>.<28 digits>` keeps the
 * reference meaning (floor(sort key) is the epoch second; `BETWEEN t AND t + 1` range queries work)
 * and spends the remaining digits on a deterministic per-id tie-break: same id, same key (so a
 * replay is recognised), distinct ids, distinct keys up to a 2^-92 chance per pair within one
 * partition and second. That last chance is checked, not ignored: the store compares the id of any
 * item already at the key and fails loudly on a mismatch instead of dropping an alert.
 */
export function sortKey(a: Alert): string {
  const ms = Date.parse(a.window_start);
  if (!Number.isFinite(ms)) {
    throw new StorepulseError('INPUT', `alert ${a.id}: window_start "${a.window_start}" is not an instant`);
  }
  const seconds = String(Math.floor(ms / 1000));
  const fractionDigits = NUMBER_DIGITS - seconds.replace('-', '').length;
  // 23 hex digits = 92 bits < 10^28, so the value always fits in 28 decimal digits.
  const hash = createHash('sha256').update(a.id).digest('hex').slice(0, 23);
  const fraction = BigInt(`0x${hash}`).toString().padStart(28, '0').slice(0, fractionDigits);
  return `${seconds}.${fraction}`;
}

export function itemKey(a: Alert, appServer: string): ItemKey {
  return { [PARTITION_KEY]: { S: partitionKey(a, appServer) }, [SORT_KEY]: { N: sortKey(a) } };
}

/** A JS number as an attribute: N when finite; DynamoDB has no NaN or Infinity, so those go as S. */
function num(n: number): AttributeValue {
  return Number.isFinite(n) ? { N: String(n) } : { S: String(n) };
}

export function toItem(a: Alert, appServer: string): Item {
  const item: Item = {
    ...itemKey(a, appServer),
    // The reference Lambda's own fields.
    num_actions_per_watermark: num(a.count),
    // The storepulse alert.
    id: { S: a.id },
    app_server: { S: appServer },
    rule: { S: a.rule },
    severity: { S: a.severity },
    key_type: { S: a.key_type },
    key: { S: a.key },
    window_start: { S: a.window_start },
    window_end: { S: a.window_end },
    score: num(a.score),
    first_seen: { S: a.first_seen },
    last_seen: { S: a.last_seen },
    detected_event_time: { S: a.detected_event_time },
    detected_at: { S: a.detected_at },
    evidence: { S: JSON.stringify(a.evidence) },
  };
  // Absent rather than NULL: the reference items carry user_id only for users, and a filter on
  // user_id then skips non-user alerts by itself.
  if (a.user_id !== null) item.user_id = num(a.user_id);
  const bytes = itemBytes(item);
  if (bytes > MAX_ITEM_BYTES) {
    throw new StorepulseError(
      'INPUT',
      `alert ${a.id}: its DynamoDB item would be ${bytes} bytes; DynamoDB allows at most ${MAX_ITEM_BYTES} (400 KB). ` +
        'Keep the evidence smaller.',
    );
  }
  return item;
}

/** An upper bound of DynamoDB's item size: names plus values in UTF-8, numbers as their text. */
function itemBytes(item: Item): number {
  let n = 0;
  for (const [name, v] of Object.entries(item)) {
    n += Buffer.byteLength(name, 'utf8');
    if (v.S !== undefined) n += Buffer.byteLength(v.S, 'utf8');
    else if (v.N !== undefined) n += v.N.length;
    else n += 1;
  }
  return n;
}

function str(item: Item, name: string): string {
  const v = item[name]?.S;
  if (v === undefined) throw new StorepulseError('STATE', `DynamoDB item lacks the string "${name}"`);
  return v;
}

function number(item: Item, name: string): number {
  const v = item[name];
  const text = v?.N ?? v?.S;
  if (text === undefined)
    throw new StorepulseError('STATE', `DynamoDB alert item lacks the number "${name}"`);
  return Number(text);
}

export function fromItem(item: Item): StoredAlert {
  return {
    id: str(item, 'id'),
    rule: str(item, 'rule'),
    severity: str(item, 'severity') as Alert['severity'],
    key_type: str(item, 'key_type') as Alert['key_type'],
    key: str(item, 'key'),
    user_id: item.user_id === undefined || item.user_id.NULL ? null : number(item, 'user_id'),
    window_start: str(item, 'window_start'),
    window_end: str(item, 'window_end'),
    count: number(item, 'num_actions_per_watermark'),
    score: number(item, 'score'),
    first_seen: str(item, 'first_seen'),
    last_seen: str(item, 'last_seen'),
    detected_event_time: str(item, 'detected_event_time'),
    detected_at: str(item, 'detected_at'),
    evidence: JSON.parse(str(item, 'evidence')) as Record<string, unknown>,
    acknowledged_at: item.acknowledged_at?.S ?? null,
  };
}

/**
 * Where mutes live: partition keys starting `mute#`, a prefix no alert partition key (`userid#`,
 * `session#`, `global#`, `product#`, `category#`, `brand#`) nor the reference Lambda's has, so a mute never lands on an alert's item, and
 * alert scans skip mute items by this prefix (they lack `id` as well).
 */
export const MUTE_PREFIX = 'mute#';

/**
 * A mute's item: partition key `mute#<keyType>#<key>#appserver#<name>`, so that muting a key again
 * replaces its one item (a put); sort key 0, as the table wants a number and a key has one mute. The
 * key type, key and app server are attributes too: the partition key is for addressing, not parsing.
 */
export function muteItem(m: AlertMute, appServer: string): Item {
  const item: Item = {
    [PARTITION_KEY]: { S: `${MUTE_PREFIX}${m.keyType}#${m.key}#appserver#${appServer}` },
    [SORT_KEY]: { N: '0' },
    app_server: { S: appServer },
    key_type: { S: m.keyType },
    key: { S: m.key },
    until: { S: m.until },
    at: { S: m.at },
  };
  if (m.note !== undefined) item.note = { S: m.note };
  return item;
}

export function fromMuteItem(item: Item): AlertMute {
  const note = item.note?.S;
  return {
    keyType: str(item, 'key_type') as AlertMute['keyType'],
    key: str(item, 'key'),
    until: str(item, 'until'),
    at: str(item, 'at'),
    ...(note === undefined ? {} : { note }),
  };
}
