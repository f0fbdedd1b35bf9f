/**
 * Incremental RFC 4180 parser for the dataset's CSV, turning text chunks into validated events.
 * Pure: no I/O. The reader feeds decoded text; rows come out as ClickEvent batches, rejects go to a
 * callback. Validation is core/row.ts `rowToEvent`; this file only finds rows and fields.
 *
 * Speed matters (a month is 42–68M rows): rows without a quote take a fast path that finds line
 * ends, commas and quotes with `indexOf` cursors that only move forward, so each chunk is scanned
 * a constant number of times and the only allocations per row are the field strings, the fields
 * array and the event. Rows with a quote go through a small state machine that may span lines.
 *
 * Memory is bounded by `maxLineBytes`: an over-long line is dropped while it streams past (its first
 * DEAD_LETTER_RAW_CAP characters are kept for the dead-letter record), and a quoted field that is not
 * closed within the limit is rejected instead of swallowing the rest of the file.
 */
import { CSV_COLUMNS, CSV_HEADER, type ClickEvent } from '../core/event.js';
import { StorepulseError } from '../core/errors.js';
import { type RejectReason, type Rejection, rowToEvent } from '../core/row.js';
import { parseEventTime } from '../core/time.js';
import { DEAD_LETTER_RAW_CAP, capRaw } from './deadletter.js';

export type RejectHandler = (
  line: number,
  raw: string,
  truncated: boolean,
  reason: RejectReason,
  detail: string,
) => void;

export interface CsvParserOptions {
  /** Name used in error messages. */
  source: string;
  /** Longest accepted row in UTF-8 bytes, line end excluded. */
  maxLineBytes: number;
  /** Events per batch (the last batch may be shorter). */
  batchSize: number;
  onReject: RejectHandler;
  /**
   * Where the text starts: `file` (default) drops a leading BOM and checks the first row for the
   * header; `line` is text that starts at a line inside a file (a byte range read by a worker):
   * nothing is dropped, and the first row is data unless `headerPending` says the file has had no
   * row yet.
   */
  start?: 'file' | 'line';
  /** With `start: 'line'`: no row came before this text, so its first row may be the header. */
  headerPending?: boolean;
}

const QUOTE = 34;
const COMMA = 44;
const LF = 10;
const CR = 13;
const BOM = 0xfeff;

const HEADER_LIKE = /^[A-Za-z][A-Za-z0-9_ .-]*$/;

export class CsvEventParser {
  /** Physical lines consumed (terminated lines, plus a last line without a line end). */
  lines = 0;
  blankLines = 0;
  valid = 0;
  rejected = 0;
  readonly rejectedByReason: Partial<Record<RejectReason, number>> = {};

  private readonly source: string;
  private readonly limit: number;
  /** Rows with at most this many UTF-16 units cannot exceed the byte limit (3 bytes per unit at most). */
  private readonly safeChars: number;
  private readonly batchSize: number;
  private readonly onReject: RejectHandler;

  private readonly fields: string[] = ['', '', '', '', '', '', '', '', ''];
  private batch: ClickEvent[] = [];
  private ready: ClickEvent[][] = [];
  private carry = '';
  private started = false;
  private headerChecked = false;
  /** Set while an over-long line streams past: where it started and its first characters. */
  private skipLine = 0;
  private skipRaw = '';
  private skipLen = 0;
  private ended = false;

  /** Characters held back waiting for the rest of a row (bounded by the line limit plus one piece). */
  get bufferedChars(): number {
    return this.carry.length + this.skipRaw.length;
  }

  /** Records after the header: valid + rejected. */
  get rows(): number {
    return this.valid + this.rejected;
  }

  constructor(opts: CsvParserOptions) {
    this.source = opts.source;
    this.limit = opts.maxLineBytes;
    this.safeChars = Math.floor(opts.maxLineBytes / 3);
    this.batchSize = Math.max(1, opts.batchSize);
    this.onReject = opts.onReject;
    if (opts.start === 'line') {
      this.started = true;
      this.headerChecked = !opts.headerPending;
    }
  }

  /** True when the text fed so far ended at a row boundary: no partial or skipped row is held back. */
  get atRowStart(): boolean {
    return this.carry.length === 0 && this.skipLine === 0;
  }

  /** True once the first row was seen (or the text started after it): later rows are data. */
  get headerSettled(): boolean {
    return this.headerChecked;
  }

  /**
   * Counts a valid row that the caller read itself from text it did not feed (at a row boundary,
   * after the header question was settled): one line, one valid row. Its event is the caller's.
   */
  countValidRow(): void {
    this.lines++;
    this.valid++;
  }

  /** Full batches produced so far; the caller takes ownership. */
  takeBatches(): ClickEvent[][] {
    const out = this.ready;
    this.ready = [];
    return out;
  }

  /** Moves a partial batch to the full ones, for a caller that stops at a row boundary without end(). */
  flushBatch(): void {
    if (this.batch.length > 0) {
      this.ready.push(this.batch);
      this.batch = [];
    }
  }

  /** Feeds the next piece of decoded text. Pieces may split rows, quotes or CRLF anywhere. */
  feed(text: string): void {
    if (this.ended) throw new StorepulseError('INTERNAL', 'CsvEventParser.feed after end');
    if (text.length === 0) return;
    if (!this.started) {
      this.started = true;
      if (text.charCodeAt(0) === BOM) text = text.slice(1);
    }
    let from = 0;
    if (this.skipLine > 0) {
      const nl = text.indexOf('\n');
      this.skipText(text, 0, nl === -1 ? text.length : nl);
      if (nl === -1) return;
      this.endSkip();
      from = nl + 1;
    }
    if (this.carry.length > 0) {
      // Finish the carried row on its own instead of joining the whole chunk to it: joining
      // would copy every chunk once more.
      const nl = text.indexOf('\n', from);
      const head = this.carry + (nl === -1 ? text.slice(from) : text.slice(from, nl + 1));
      this.carry = '';
      const used = this.scan(head, 0, false);
      if (nl === -1 || used < head.length) {
        // Still inside the row (a long line, or a quoted field spanning lines): keep the rest.
        const rest = used < head.length ? head.slice(used) : '';
        const s = nl === -1 ? rest : rest + text.slice(nl + 1);
        if (this.skipLine > 0 || s.length === 0) return;
        const pos = this.scan(s, 0, false);
        this.carry = pos >= s.length ? '' : s.slice(pos);
        return;
      }
      from = nl + 1;
    }
    const pos = this.scan(text, from, false);
    this.carry = pos >= text.length ? '' : text.slice(pos);
  }

  /** Ends the input: parses a last row without a line end and flushes the last batch. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.skipLine > 0) this.endSkip();
    if (this.carry.length > 0) {
      const s = this.carry;
      this.carry = '';
      this.scan(s, 0, true);
    }
    this.flushBatch();
  }

  /** Parses complete rows of `s` from `pos`; returns where the unconsumed rest starts. */
  private scan(s: string, pos: number, final: boolean): number {
    const len = s.length;
    // One fields array for all fast-path rows: rowToEvent does not keep it.
    const f = this.fields;
    // Cursors to the next quote and comma at or after `pos`; they only move forward, so a chunk is
    // searched for each character once however long the distance between them.
    let quote = -1;
    let comma = -1;
    while (pos < len) {
      let nl = s.indexOf('\n', pos);
      let next: number;
      if (nl === -1) {
        if (!final) {
          if (len - pos > this.limit) return this.longLine(s, pos, pos, final);
          return pos;
        }
        nl = len;
        next = len;
      } else {
        next = nl + 1;
      }
      if (quote < pos) {
        quote = s.indexOf('"', pos);
        if (quote === -1) quote = len;
      }
      if (quote < nl) {
        const after = this.quotedRow(s, pos, final);
        if (after < 0) return pos;
        pos = after;
        continue;
      }
      let end = nl;
      if (end > pos && s.charCodeAt(end - 1) === CR) end--;
      if (end === pos) {
        this.lines++;
        this.blankLines++;
        pos = next;
        continue;
      }
      if (end - pos > this.safeChars && this.tooLong(s, pos, end)) {
        pos = this.longLine(s, pos, end, final);
        continue;
      }
      this.lines++;
      let k = 0;
      let a = pos;
      if (comma < pos) {
        comma = s.indexOf(',', pos);
        if (comma === -1) comma = len;
      }
      while (comma < end) {
        f[k++] = s.slice(a, comma);
        a = comma + 1;
        comma = s.indexOf(',', a);
        if (comma === -1) comma = len;
      }
      f[k++] = s.slice(a, end);
      if (f.length !== k) f.length = k;
      this.row(f, s, pos, end, this.lines);
      pos = next;
    }
    return pos;
  }

  /** A line longer than the limit: reject it, or skip it while it streams past when its end is not here yet. */
  private longLine(s: string, start: number, from: number, final: boolean): number {
    const nl = s.indexOf('\n', from);
    if (nl === -1 && !final) {
      this.startSkip(s, start);
      return s.length;
    }
    let end = nl === -1 ? s.length : nl;
    if (end > start && s.charCodeAt(end - 1) === CR) end--;
    this.lines++;
    this.tooLongRow(s, start, end, this.lines);
    return nl === -1 ? s.length : nl + 1;
  }

  /**
   * A row that has a quote in its first line. Returns the position after the row, or -1 when the
   * text ends inside the row and more input may complete it. Only `limit`+1 characters are looked
   * at: a longer record is rejected anyway, and the bound makes the outcome the same however the
   * input was cut into pieces.
   */
  private quotedRow(s: string, start: number, final: boolean): number {
    const len = s.length;
    const lim = Math.min(len, start + this.limit + 1);
    // Whether the record may go on past `lim`: more input to come, or more text beyond the bound.
    const more = !final || lim < len;
    const f: string[] = [];
    let p = start;
    let rowEnd = -1;
    let next = -1;
    let bad = '';
    for (;;) {
      if (p < lim && s.charCodeAt(p) === QUOTE) {
        let val = '';
        let q = p + 1;
        for (;;) {
          const e = s.indexOf('"', q);
          if (e === -1 || e >= lim || (e + 1 === lim && more))
            return this.unfinished(s, start, final, e === -1 || e >= lim);
          if (e + 1 < lim && s.charCodeAt(e + 1) === QUOTE) {
            val += s.slice(q, e + 1);
            q = e + 2;
            continue;
          }
          val += s.slice(q, e);
          p = e + 1;
          break;
        }
        f.push(val);
        if (p === lim) {
          if (more) return this.unfinished(s, start, final, false);
          rowEnd = lim;
          next = lim;
          break;
        }
        const c = s.charCodeAt(p);
        if (c === COMMA) {
          p++;
          continue;
        }
        if (c === LF) {
          rowEnd = p;
          next = p + 1;
          break;
        }
        if (c === CR) {
          if (p + 1 === lim) {
            if (more) return this.unfinished(s, start, final, false);
            rowEnd = p;
            next = lim;
            break;
          }
          if (s.charCodeAt(p + 1) === LF) {
            rowEnd = p;
            next = p + 2;
            break;
          }
        }
        bad = `unexpected ${JSON.stringify(s[p])} after a closing quote`;
        break;
      } else {
        let i = p;
        let c = 0;
        for (; i < lim; i++) {
          c = s.charCodeAt(i);
          if (c === COMMA || c === LF || c === QUOTE) break;
        }
        if (i === lim) {
          if (more) return this.unfinished(s, start, final, false);
          let e = lim;
          if (e > p && s.charCodeAt(e - 1) === CR) e--;
          f.push(s.slice(p, e));
          rowEnd = e;
          next = lim;
          break;
        }
        if (c === QUOTE) {
          bad = 'quote inside an unquoted field';
          break;
        }
        if (c === COMMA) {
          f.push(s.slice(p, i));
          p = i + 1;
          continue;
        }
        let e = i;
        if (e > p && s.charCodeAt(e - 1) === CR) e--;
        f.push(s.slice(p, e));
        rowEnd = e;
        next = i + 1;
        break;
      }
    }
    if (bad !== '') return this.badQuoting(s, start, final, bad);
    const line = this.lines + 1;
    this.lines += countLf(s, start, next) + (next === len && s.charCodeAt(len - 1) !== LF ? 1 : 0);
    if (rowEnd - start > this.safeChars && this.tooLong(s, start, rowEnd)) {
      this.tooLongRow(s, start, rowEnd, line);
    } else {
      this.row(f, s, start, rowEnd, line);
    }
    return next;
  }

  /**
   * The text ended inside a quoted row, or the row reached the limit. Wait for more input while
   * the row is within the limit; otherwise reject its first physical line and resume on the next:
   * as bad_quoting when a quoted field is still open, as line_too_long when the first line alone
   * or the whole record is too long.
   */
  private unfinished(s: string, start: number, final: boolean, inQuote: boolean): number {
    if (s.length - start <= this.limit) {
      if (!final) return -1;
      return this.badQuoting(s, start, final, 'quoted field not closed before the end of the input');
    }
    const nl = s.indexOf('\n', start);
    if (nl === -1) return this.longLine(s, start, start, final);
    let end = nl;
    if (end > start && s.charCodeAt(end - 1) === CR) end--;
    if (end - start > this.safeChars && this.tooLong(s, start, end))
      return this.longLine(s, start, end, final);
    this.lines++;
    if (inQuote) {
      this.reject(
        this.lines,
        s.slice(start, end),
        'bad_quoting',
        `quoted field not closed within ${this.limit} bytes; resumed on the next line`,
      );
    } else {
      this.tooLongRow(
        s,
        start,
        end,
        this.lines,
        'record over several lines is longer than the limit; resumed on the next line',
      );
    }
    return nl + 1;
  }

  /** Malformed quoting: reject the row's first physical line and resume on the next one. */
  private badQuoting(s: string, start: number, final: boolean, detail: string): number {
    const nl = s.indexOf('\n', start);
    if (nl === -1 && !final) {
      if (s.length - start <= this.limit) return -1;
      return this.longLine(s, start, start, final);
    }
    let end = nl === -1 ? s.length : nl;
    if (end > start && s.charCodeAt(end - 1) === CR) end--;
    if (end - start > this.safeChars && this.tooLong(s, start, end))
      return this.longLine(s, start, end, final);
    this.lines++;
    this.reject(this.lines, s.slice(start, end), 'bad_quoting', detail);
    return nl === -1 ? s.length : nl + 1;
  }

  private row(f: string[], s: string, start: number, end: number, line: number): void {
    if (!this.headerChecked) {
      this.headerChecked = true;
      if (this.isFirstHeader(f)) return;
    }
    const r = rowToEvent(f);
    if ((r as Rejection).reason === undefined) {
      this.valid++;
      const b = this.batch;
      b.push(r as ClickEvent);
      if (b.length >= this.batchSize) {
        this.ready.push(b);
        this.batch = [];
      }
      return;
    }
    let { reason, detail } = r as Rejection;
    // `cat`-joined files: a later file's BOM sits in front of its header.
    if (reason === 'bad_event_time' && f[0]!.charCodeAt(0) === BOM && f[0]!.slice(1) === CSV_COLUMNS[0]) {
      reason = 'repeated_header';
      detail = 'header line inside the data';
    }
    this.reject(line, s.slice(start, end), reason, detail);
  }

  /** The first row: the header (skipped), data (kept), or a header with other columns (an error). */
  private isFirstHeader(f: string[]): boolean {
    const names = f.map((x) => x.trim().toLowerCase());
    if (names.length === CSV_COLUMNS.length && names.every((n, i) => n === CSV_COLUMNS[i])) return true;
    const headerLike =
      f.length >= 2 && Number.isNaN(parseEventTime(f[0]!)) && f.every((x) => HEADER_LIKE.test(x.trim()));
    if (headerLike) {
      throw new StorepulseError(
        'INPUT',
        `${this.source}: unexpected header ${JSON.stringify(f.join(',').slice(0, 200))}; ` +
          `expected the columns ${CSV_HEADER} in this order`,
      );
    }
    return false;
  }

  private tooLong(s: string, start: number, end: number): boolean {
    const chars = end - start;
    if (chars > this.limit) return true;
    if (chars <= this.safeChars) return false;
    return Buffer.byteLength(s.slice(start, end), 'utf8') > this.limit;
  }

  private tooLongRow(s: string, start: number, end: number, line: number, detail?: string): void {
    const { raw, truncated } = capRaw(s.slice(start, Math.min(end, start + DEAD_LETTER_RAW_CAP + 1)));
    this.rejectRaw(line, raw, truncated, 'line_too_long', detail ?? `row longer than ${this.limit} bytes`);
  }

  /** Starts dropping a too-long line whose end has not arrived; keeps its first characters. */
  private startSkip(s: string, start: number): void {
    this.skipLine = this.lines + 1;
    this.skipRaw = '';
    this.skipLen = 0;
    this.skipText(s, start, s.length);
  }

  private skipText(s: string, from: number, to: number): void {
    const room = DEAD_LETTER_RAW_CAP + 1 - this.skipRaw.length;
    if (room > 0) {
      // A copy, so that the kept prefix does not pin the whole chunk while the line streams past.
      const part = s.slice(from, Math.min(to, from + room));
      this.skipRaw = this.skipRaw + Buffer.from(part, 'utf8').toString('utf8');
    }
    this.skipLen += to - from;
  }

  private endSkip(): void {
    this.lines++;
    const line = this.skipLine;
    let raw = this.skipRaw;
    if (this.skipLen === raw.length && raw.charCodeAt(raw.length - 1) === CR) raw = raw.slice(0, -1);
    this.skipLine = 0;
    this.skipRaw = '';
    this.skipLen = 0;
    const c = capRaw(raw);
    this.rejectRaw(line, c.raw, c.truncated, 'line_too_long', `row longer than ${this.limit} bytes`);
  }

  private reject(line: number, raw: string, reason: RejectReason, detail: string): void {
    const c = capRaw(raw);
    this.rejectRaw(line, c.raw, c.truncated, reason, detail);
  }

  private rejectRaw(
    line: number,
    raw: string,
    truncated: boolean,
    reason: RejectReason,
    detail: string,
  ): void {
    // A rejected first row settles the header question: the file has none.
    this.headerChecked = true;
    this.rejected++;
    this.rejectedByReason[reason] = (this.rejectedByReason[reason] ?? 0) + 1;
    this.onReject(line, raw, truncated, reason, detail);
  }
}

function countLf(s: string, from: number, to: number): number {
  let n = 0;
  let i = s.indexOf('\n', from);
  while (i !== -1 && i < to) {
    n++;
    i = s.indexOf('\n', i + 1);
  }
  return n;
}
