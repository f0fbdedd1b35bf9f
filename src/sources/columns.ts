/**
 * Events in columns, to cross from a parse worker to the reading thread cheaply: numbers in typed
 * arrays, and the text fields as offsets into the text pieces they were parsed from. The arrays and
 * the range's bytes are moved, not copied; the reading thread decodes the bytes into the same text
 * pieces when it builds the events (structured-cloning a million event objects costs more than
 * parsing them). So it only builds the objects, and their string fields are slices of a text piece,
 * as the sequential reader's are.
 */
import { EVENT_TYPES, type ClickEvent, type EventType } from '../core/event.js';

/** Per event: text index; category_id start, end; category_code end; brand end; user_session start, end. */
const REF = 7;
/** The text index of fields that are in `joined`. */
const JOINED = 0xffffffff;

export interface EventColumns {
  n: number;
  time: Float64Array;
  product: Float64Array;
  price: Float64Array;
  user: Float64Array;
  /** Index in EVENT_TYPES. */
  type: Uint8Array;
  /**
   * Where the text fields are: REF numbers per event. The text index counts the pieces of text the
   * range was parsed from, in order (JOINED: `joined`). category_code starts one after the end of
   * category_id, brand one after the end of category_code. An empty text field is `null`.
   */
  refs: Uint32Array;
  /** The text fields of events that were given as objects, one after the other. */
  joined: string;
}

function typeCode(t: EventType): number {
  return t === 'view' ? 0 : t === 'cart' ? 1 : t === 'remove_from_cart' ? 2 : 3;
}

/** Appends events to columns that grow as needed. */
export class ColumnWriter {
  private n = 0;
  private cap: number;
  private time: Float64Array;
  private product: Float64Array;
  private price: Float64Array;
  private user: Float64Array;
  private type: Uint8Array;
  private refs: Uint32Array;
  /** The pieces of text so far; add() refers to the last one. */
  readonly pieces: string[] = [];
  private joined = '';

  constructor(expected: number) {
    this.cap = Math.max(16, expected);
    this.time = new Float64Array(this.cap);
    this.product = new Float64Array(this.cap);
    this.price = new Float64Array(this.cap);
    this.user = new Float64Array(this.cap);
    this.type = new Uint8Array(this.cap);
    this.refs = new Uint32Array(this.cap * REF);
  }

  /** The next piece of text, which add() refers to. */
  piece(text: string): void {
    this.pieces.push(text);
  }

  /**
   * An event read from the current piece: its numbers, and the offsets of its text fields in the
   * piece (see EventColumns.refs; `codeEnd` is `catEnd + 1` for an empty category_code, and so on).
   */
  add(
    time: number,
    type: number,
    product: number,
    price: number,
    user: number,
    catStart: number,
    catEnd: number,
    codeEnd: number,
    brandEnd: number,
    sessionStart: number,
    sessionEnd: number,
  ): void {
    const i = this.next();
    this.time[i] = time;
    this.product[i] = product;
    this.price[i] = price;
    this.user[i] = user;
    this.type[i] = type;
    const r = this.refs;
    const j = i * REF;
    r[j] = this.pieces.length - 1;
    r[j + 1] = catStart;
    r[j + 2] = catEnd;
    r[j + 3] = codeEnd;
    r[j + 4] = brandEnd;
    r[j + 5] = sessionStart;
    r[j + 6] = sessionEnd;
  }

  /** Events as objects (rows the parser handled): their text fields go into `joined`. */
  addEvents(events: ClickEvent[]): void {
    for (const e of events) {
      let s = this.joined;
      const catStart = s.length;
      s += e.category_id;
      const catEnd = s.length;
      s += `,${e.category_code ?? ''}`;
      const codeEnd = s.length;
      s += `,${e.brand ?? ''}`;
      const brandEnd = s.length;
      s += e.user_session ?? '';
      this.joined = s;
      const i = this.next();
      this.time[i] = e.event_time;
      this.product[i] = e.product_id;
      this.price[i] = e.price;
      this.user[i] = e.user_id;
      this.type[i] = typeCode(e.event_type);
      const r = this.refs;
      const j = i * REF;
      r[j] = JOINED;
      r[j + 1] = catStart;
      r[j + 2] = catEnd;
      r[j + 3] = codeEnd;
      r[j + 4] = brandEnd;
      r[j + 5] = brandEnd;
      r[j + 6] = s.length;
    }
  }

  /** The columns, and the buffers to transfer with them. */
  finish(): { columns: EventColumns; transfer: ArrayBuffer[] } {
    const columns: EventColumns = {
      n: this.n,
      time: this.time,
      product: this.product,
      price: this.price,
      user: this.user,
      type: this.type,
      refs: this.refs,
      joined: this.joined,
    };
    const transfer = [this.time, this.product, this.price, this.user, this.type, this.refs].map(
      (a) => a.buffer as ArrayBuffer,
    );
    return { columns, transfer };
  }

  private next(): number {
    const i = this.n++;
    if (i === this.cap) this.grow();
    return i;
  }

  private grow(): void {
    const cap = this.cap * 2;
    const more = <T extends Float64Array | Uint8Array | Uint32Array>(a: T, size: number): T => {
      const b = new (a.constructor as new (n: number) => T)(size);
      b.set(a);
      return b;
    };
    this.time = more(this.time, cap);
    this.product = more(this.product, cap);
    this.price = more(this.price, cap);
    this.user = more(this.user, cap);
    this.type = more(this.type, cap);
    this.refs = more(this.refs, cap * REF);
    this.cap = cap;
  }
}

/**
 * Builds the events of columns in order, a batch at a time: the reader yields each batch before it
 * builds the next, so that only one batch of new objects is alive at a time. The objects have the
 * shape rowToEvent gives them (same fields in the same order), so code that handles both stays
 * monomorphic.
 */
export class EventCursor {
  private i = 0;

  /** `pieces`: the text pieces the columns were parsed from. */
  constructor(
    private readonly c: EventColumns,
    private readonly pieces: string[],
  ) {}

  get done(): boolean {
    return this.i >= this.c.n;
  }

  /** Appends events to `batch` until it holds `size` or the columns are used up. */
  fill(batch: ClickEvent[], size: number): void {
    const { n, time, product, price, user, type, refs, joined } = this.c;
    const pieces = this.pieces;
    let i = this.i;
    const stop = Math.min(n, i + size - batch.length);
    for (; i < stop; i++) {
      const j = i * REF;
      const p = refs[j]!;
      const t = p === JOINED ? joined : pieces[p]!;
      const catStart = refs[j + 1]!;
      const catEnd = refs[j + 2]!;
      const codeEnd = refs[j + 3]!;
      const brandEnd = refs[j + 4]!;
      const sessionStart = refs[j + 5]!;
      const sessionEnd = refs[j + 6]!;
      batch.push({
        event_time: time[i]!,
        event_type: EVENT_TYPES[type[i]!]!,
        product_id: product[i]!,
        category_id: t.slice(catStart, catEnd),
        category_code: codeEnd === catEnd + 1 ? null : t.slice(catEnd + 1, codeEnd),
        brand: brandEnd === codeEnd + 1 ? null : t.slice(codeEnd + 1, brandEnd),
        price: price[i]!,
        user_id: user[i]!,
        user_session: sessionEnd === sessionStart ? null : t.slice(sessionStart, sessionEnd),
      });
    }
    this.i = i;
  }
}
