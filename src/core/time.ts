/** Event-time parsing and formatting. Pure, allocation-light: this runs once per row. */

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

function validDate(y: number, mo: number, d: number, h: number, mi: number, s: number): boolean {
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return false;
  const dim = mo === 2 && isLeap(y) ? 29 : DAYS_IN_MONTH[mo - 1]!;
  return d <= dim;
}

function digits(s: string, from: number, len: number): number {
  let n = 0;
  for (let i = from; i < from + len; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

const ISO_RE =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?\s?(Z|UTC|[+-]\d{2}:?\d{2})$/;

/**
 * Parses `YYYY-MM-DD HH:MM:SS UTC` (the dataset's form) or ISO-8601 with a zone
 * (`Z`, `+02:00`, `+0200`, fractional seconds allowed). Returns epoch ms, or NaN when the
 * text is not a real calendar instant with a zone.
 */
export function parseEventTime(s: string): number {
  // Rows come in time order, so the same instant text repeats: remember the last two (a stream
  // record alternates event_time and txn_timestamp).
  if (s === memo[0]) return memoValue[0]!;
  if (s === memo[1]) return memoValue[1]!;
  const v = parseUncached(s);
  memo[1] = memo[0]!;
  memoValue[1] = memoValue[0]!;
  memo[0] = s;
  memoValue[0] = v;
  return v;
}

const memo: [string, string] = ['', ''];
const memoValue: [number, number] = [NaN, NaN];

/** `YYYY-MM-DD?HH:MM:SS` at `s[at]`, plus `ms`; NaN unless a real calendar instant. */
function fixedWidth(s: string, at: number, ms: number): number {
  if (
    s.charCodeAt(at + 4) !== 45 ||
    s.charCodeAt(at + 7) !== 45 ||
    s.charCodeAt(at + 13) !== 58 ||
    s.charCodeAt(at + 16) !== 58
  )
    return NaN;
  const y = digits(s, at, 4);
  const mo = digits(s, at + 5, 2);
  const d = digits(s, at + 8, 2);
  const h = digits(s, at + 11, 2);
  const mi = digits(s, at + 14, 2);
  const sec = digits(s, at + 17, 2);
  if ((y | mo | d | h | mi | sec) < 0 || !validDate(y, mo, d, h, mi, sec)) return NaN;
  return Date.UTC(y, mo - 1, d, h, mi, sec, ms);
}

/**
 * parseEventTime of `s[from, to)` when that is the dataset's form `YYYY-MM-DD HH:MM:SS UTC`, without
 * slicing it out; NaN otherwise (also for other forms that parseEventTime reads). Remembers the
 * last hour: Date.UTC of the same hour plus the minutes and seconds is the same number.
 */
export function parseDatasetTimeIn(s: string, from: number, to: number): number {
  if (
    to - from !== 23 ||
    s.charCodeAt(from + 10) !== 32 ||
    s.charCodeAt(from + 19) !== 32 ||
    s.charCodeAt(from + 20) !== 85 ||
    s.charCodeAt(from + 21) !== 84 ||
    s.charCodeAt(from + 22) !== 67 ||
    s.charCodeAt(from + 4) !== 45 ||
    s.charCodeAt(from + 7) !== 45 ||
    s.charCodeAt(from + 13) !== 58 ||
    s.charCodeAt(from + 16) !== 58
  )
    return NaN;
  const y = digits(s, from, 4);
  const mo = digits(s, from + 5, 2);
  const d = digits(s, from + 8, 2);
  const h = digits(s, from + 11, 2);
  const mi = digits(s, from + 14, 2);
  const sec = digits(s, from + 17, 2);
  if ((y | mo | d | h | mi | sec) < 0 || mi > 59 || sec > 59) return NaN;
  if (y !== hourMemo.y || mo !== hourMemo.mo || d !== hourMemo.d || h !== hourMemo.h) {
    if (!validDate(y, mo, d, h, mi, sec)) return NaN;
    hourMemo.base = Date.UTC(y, mo - 1, d, h);
    hourMemo.y = y;
    hourMemo.mo = mo;
    hourMemo.d = d;
    hourMemo.h = h;
  }
  return hourMemo.base + mi * 60_000 + sec * 1000;
}

/** The last valid hour parseDatasetTimeIn saw, and its Date.UTC. */
const hourMemo = { y: -1, mo: -1, d: -1, h: -1, base: 0 };

function parseUncached(s: string): number {
  // Fast paths: the dataset's `2019-10-01 00:00:00 UTC` and Date#toISOString's
  // `2019-10-01T00:00:00.000Z` (what txn_timestamp carries).
  if (s.length === 23 && s[10] === ' ' && s.endsWith(' UTC')) return fixedWidth(s, 0, 0);
  if (s.length === 24 && s[10] === 'T' && s[19] === '.' && s[23] === 'Z') {
    const ms = digits(s, 20, 3);
    return ms < 0 ? NaN : fixedWidth(s, 0, ms);
  }
  const m = ISO_RE.exec(s);
  if (!m) return NaN;
  const [y, mo, d, h, mi, sec] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (!validDate(y, mo, d, h, mi, sec)) return NaN;
  const ms = m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0;
  let offsetMin = 0;
  const zone = m[8]!;
  if (zone !== 'Z' && zone !== 'UTC') {
    const sign = zone[0] === '-' ? -1 : 1;
    const hh = Number(zone.slice(1, 3));
    const mm = Number(zone.slice(zone.length - 2));
    if (hh > 23 || mm > 59) return NaN;
    offsetMin = sign * (hh * 60 + mm);
  }
  return Date.UTC(y, mo - 1, d, h, mi, sec, ms) - offsetMin * 60_000;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** Formats epoch ms in the dataset's form `YYYY-MM-DD HH:MM:SS UTC` (milliseconds kept when non-zero). */
export function formatEventTime(ms: number): string {
  if (ms === lastFormatted) return lastFormattedText;
  lastFormattedText = formatUncached(ms);
  lastFormatted = ms;
  return lastFormattedText;
}

let lastFormatted = NaN;
let lastFormattedText = '';

function formatUncached(ms: number): string {
  const d = new Date(ms);
  const base = `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ${pad2(
    d.getUTCHours(),
  )}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
  const milli = d.getUTCMilliseconds();
  return milli === 0 ? `${base} UTC` : `${base}.${String(milli).padStart(3, '0')} UTC`;
}

/** ISO-8601 UTC with milliseconds, the form every alert and `txn_timestamp` use. */
export function isoUtc(ms: number): string {
  return new Date(ms).toISOString();
}
