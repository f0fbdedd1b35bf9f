/**
 * CRC-32 (the zlib / IEEE 802.3 one, `zlib.crc32`'s) of many short ranges, for record frames.
 *
 * Why not `zlib.crc32`: a frame is ~330 bytes, and a call costs ~150-200 ns before the first byte
 * (argument checks, a view object, the C++ call), as much as the checksum itself; it was the largest
 * single cost of both putRecords and readShard (bench/RESULTS.md). A slicing-by-16 table loop in a
 * tiny WebAssembly function, called with (offset, length) into its memory, does the same work in
 * about half the time. The bytes to checksum must be in that memory: `scratch(n)` hands out a
 * Buffer over it, valid until the next `scratch` call (growing the memory detaches old views).
 * Where WebAssembly is unavailable (e.g. node --jitless), the same interface runs on zlib.crc32.
 */
import { crc32 as zlibCrc32 } from 'node:zlib';

/** The part of the WebAssembly API used here (the project's TypeScript lib has no WebAssembly types). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Memory: new (descriptor: { initial: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const wasmApi = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

/** Tables T0..T15 (1 KiB each) sit at the start of the memory; scratch space follows. */
const TABLE_BYTES = 16 * 1024;
const PAGE = 64 * 1024;

// --- A WebAssembly module with one function crc(crc, offset, length) -> crc, assembled here so
// that no toolchain is needed. In WAT terms, with locals crc, p, len, end, a, b:
//   crc = ~crc; end = p + len
//   while (p + 16 <= end) {                      // 16 bytes per round
//     a = load32(p) ^ crc; b = load32(p + 4)
//     crc = T15[a & 255] ^ T14[a >> 8 & 255] ^ ... ^ T8[b >>> 24]
//     a = load32(p + 8); b = load32(p + 12)
//     crc ^= T7[a & 255] ^ ... ^ T0[b >>> 24]; p += 16
//   }
//   while (p < end) crc = T0[(crc ^ load8(p++)) & 255] ^ (crc >>> 8)
//   return ~crc
const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
};
const sleb = (n: number): number[] => {
  const out: number[] = [];
  while (true) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) return [...out, byte];
    out.push(byte | 0x80);
  }
};
const OP = { block: 0x02, loop: 0x03, br: 0x0c, brIf: 0x0d, end: 0x0b, void: 0x40, i32: 0x7f };
const I32 = { xor: 0x73, and: 0x71, shl: 0x74, shrU: 0x76, add: 0x6a, gtU: 0x4b, geU: 0x4f };
const get = (i: number) => [0x20, i];
const set = (i: number) => [0x21, i];
const num = (n: number) => [0x41, ...sleb(n)];
const load32 = (offset: number) => [0x28, 0, ...uleb(offset)];
const load8 = [0x2d, 0, 0];
const [CRC, P, LEN, END, A, B] = [0, 1, 2, 3, 4, 5];
/** T_table[(v >>> shift) & 255], the index scaled to bytes: ((v >>> (shift - 2)) & 1020). */
const lookup = (v: number, shift: number, table: number) => [
  ...get(v),
  ...(shift === 0 ? [...num(2), I32.shl] : [...num(shift - 2), I32.shrU]),
  ...num(1020),
  I32.and,
  ...load32(table * 1024),
];
const word = (v: number, firstTable: number) => [
  ...lookup(v, 0, firstTable),
  ...lookup(v, 8, firstTable - 1),
  I32.xor,
  ...lookup(v, 16, firstTable - 2),
  I32.xor,
  ...lookup(v, 24, firstTable - 3),
  I32.xor,
];
const body = [
  1, 3, OP.i32, // three more i32 locals: end, a, b
  ...get(CRC), ...num(-1), I32.xor, ...set(CRC),
  ...get(P), ...get(LEN), I32.add, ...set(END),
  OP.block, OP.void, OP.loop, OP.void,
  ...get(P), ...num(16), I32.add, ...get(END), I32.gtU, OP.brIf, 1,
  ...get(P), ...load32(0), ...get(CRC), I32.xor, ...set(A),
  ...get(P), ...load32(4), ...set(B),
  ...word(A, 15), ...word(B, 11), I32.xor,
  ...get(P), ...load32(8), ...set(A),
  ...get(P), ...load32(12), ...set(B),
  ...word(A, 7), I32.xor, ...word(B, 3), I32.xor,
  ...set(CRC),
  ...get(P), ...num(16), I32.add, ...set(P),
  OP.br, 0, OP.end, OP.end,
  OP.block, OP.void, OP.loop, OP.void,
  ...get(P), ...get(END), I32.geU, OP.brIf, 1,
  ...get(CRC), ...get(P), ...load8, I32.xor, ...num(255), I32.and, ...num(2), I32.shl, ...load32(0),
  ...get(CRC), ...num(8), I32.shrU, I32.xor, ...set(CRC),
  ...get(P), ...num(1), I32.add, ...set(P),
  OP.br, 0, OP.end, OP.end,
  ...get(CRC), ...num(-1), I32.xor,
  OP.end,
]; // prettier-ignore
const section = (id: number, bytes: number[]) => [id, ...uleb(bytes.length), ...bytes];
const name = (s: string) => [...uleb(s.length), ...Buffer.from(s, 'latin1')];
const MODULE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // \0asm, version 1
  ...section(1, [1, 0x60, 3, OP.i32, OP.i32, OP.i32, 1, OP.i32]), // type: (i32 i32 i32) -> i32
  ...section(2, [1, ...name('env'), ...name('mem'), 0x02, 0x00, 1]), // import memory, >= 1 page
  ...section(3, [1, 0]), // one function of type 0
  ...section(7, [1, ...name('crc'), 0x00, 0]), // export it as "crc"
  ...section(10, [1, ...uleb(body.length), ...body]),
]); // prettier-ignore

function tables(): Int32Array {
  const t = new Int32Array(256 * 16);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    for (let k = 1; k < 16; k++) {
      const prev = t[(k - 1) * 256 + n]!;
      t[k * 256 + n] = (prev >>> 8) ^ t[prev & 255]!;
    }
  }
  return t;
}

export interface Crc32Scratch {
  /** A Buffer of at least `bytes` over the checksum memory; valid until the next call. */
  scratch(bytes: number): Buffer;
  /** CRC-32 of scratch[offset, offset + length). */
  of(offset: number, length: number): number;
  readonly wasm: boolean;
}

class WasmCrc implements Crc32Scratch {
  readonly wasm = true;
  private view: Buffer;

  constructor(
    private readonly memory: WasmMemory,
    private readonly fn: (crc: number, offset: number, length: number) => number,
  ) {
    new Int32Array(memory.buffer, 0, 256 * 16).set(tables());
    this.view = Buffer.from(memory.buffer, TABLE_BYTES);
  }

  scratch(bytes: number): Buffer {
    if (this.view.length < bytes) {
      const pages = Math.ceil((TABLE_BYTES + bytes - this.memory.buffer.byteLength) / PAGE);
      this.memory.grow(Math.max(pages, this.memory.buffer.byteLength / PAGE));
    }
    if (this.view.buffer !== this.memory.buffer) this.view = Buffer.from(this.memory.buffer, TABLE_BYTES);
    return this.view;
  }

  of(offset: number, length: number): number {
    return this.fn(0, TABLE_BYTES + offset, length) >>> 0;
  }
}

class ZlibCrc implements Crc32Scratch {
  readonly wasm = false;
  private view = Buffer.allocUnsafeSlow(PAGE);

  scratch(bytes: number): Buffer {
    if (this.view.length < bytes) this.view = Buffer.allocUnsafeSlow(Math.max(bytes, this.view.length * 2));
    return this.view;
  }

  of(offset: number, length: number): number {
    return zlibCrc32(new Uint8Array(this.view.buffer, this.view.byteOffset + offset, length));
  }
}

function create(): Crc32Scratch {
  try {
    if (!wasmApi) throw new Error('no WebAssembly');
    // Room for a put of ~5 MiB or a scan chunk without growing: growing detaches the old buffer,
    // and V8 then adds detach checks to typed array accesses everywhere in the process.
    const memory = new wasmApi.Memory({ initial: 96 });
    const instance = new wasmApi.Instance(new wasmApi.Module(MODULE), { env: { mem: memory } });
    const fn = instance.exports.crc as (crc: number, offset: number, length: number) => number;
    const crc = new WasmCrc(memory, fn);
    // Self-check against zlib once, so that a fault here can never pass silently.
    const probe = crc.scratch(64).subarray(0, 61);
    for (let i = 0; i < probe.length; i++) probe[i] = (i * 131 + 7) & 255;
    if (crc.of(0, 61) !== zlibCrc32(probe)) throw new Error('WebAssembly CRC-32 disagrees with zlib');
    return crc;
  } catch {
    return new ZlibCrc();
  }
}

/** The process's checksum memory: shared by every writer and reader (each use is synchronous). */
export const frameCrc: Crc32Scratch = create();

/** For tests: the fallback, to check both against zlib. */
export function zlibFrameCrc(): Crc32Scratch {
  return new ZlibCrc();
}
