/**
 * Stream record codec. A record is JSON with exactly the reference field names, so a record the
 * reference simulator (pandas + boto3) wrote and one storepulse writes decode the same.
 */
import type { ClickEvent } from './event.js';
import { rowToEvent, isRejection, type Rejection } from './row.js';
import { formatEventTime, isoUtc, parseEventTime } from './time.js';
import { errorMessage } from './errors.js';

function str(v: string | null): string {
  return v === null ? 'null' : JSON.stringify(v);
}

/**
 * One stream record. Built by hand in the field order of the reference (this runs once per event);
 * strings that may hold quotes go through JSON.stringify. `txnIso` lets a batch format its send time once.
 */
export function encodeRecord(e: ClickEvent, txnIso?: string): string {
  const txn = txnIso ?? (e.txn_timestamp === undefined ? undefined : isoUtc(e.txn_timestamp));
  return (
    `{"event_time":"${formatEventTime(e.event_time)}","event_type":"${e.event_type}",` +
    `"product_id":${e.product_id},"category_id":"${e.category_id}","category_code":${str(e.category_code)},` +
    `"brand":${str(e.brand)},"price":${e.price},"user_id":${e.user_id},"user_session":${str(e.user_session)}` +
    (txn === undefined ? '}' : `,"txn_timestamp":"${txn}"}`)
  );
}

// A writer that serialised category_id as a JSON number (pandas int64 does) would lose digits in
// JSON.parse; quote it textually first so the exact digits survive.
const NUMERIC_CATEGORY = /"category_id"\s*:\s*(\d+)/;

function text(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  return typeof v === 'string' ? v : '';
}

/** Decodes one stream record. Accepts numbers or strings for numeric fields; validates like the CSV reader. */
export function decodeRecord(json: string): ClickEvent | Rejection {
  let obj: Record<string, unknown>;
  try {
    const quoted = json.includes('"category_id":"')
      ? json
      : json.replace(NUMERIC_CATEGORY, '"category_id":"$1"');
    obj = JSON.parse(quoted) as Record<string, unknown>;
  } catch (err) {
    return { reason: 'field_count', detail: `not JSON: ${errorMessage(err)}` };
  }
  if (obj === null || typeof obj !== 'object') return { reason: 'field_count', detail: 'not a JSON object' };
  const ev = rowToEvent([
    text(obj.event_time),
    text(obj.event_type),
    text(obj.product_id),
    text(obj.category_id),
    text(obj.category_code),
    text(obj.brand),
    text(obj.price),
    text(obj.user_id),
    text(obj.user_session),
  ]);
  if (isRejection(ev)) return ev;
  if (obj.txn_timestamp !== undefined && obj.txn_timestamp !== null) {
    const raw = text(obj.txn_timestamp);
    // Python's datetime.isoformat() (the reference simulator) writes no zone: read it as UTC.
    let t = parseEventTime(raw);
    if (Number.isNaN(t)) t = parseEventTime(`${raw}Z`);
    if (Number.isNaN(t))
      return { reason: 'bad_event_time', detail: 'txn_timestamp is not an ISO-8601 instant' };
    ev.txn_timestamp = t;
  }
  return ev;
}
