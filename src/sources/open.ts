/**
 * Opens a dataset input as a stream of CSV bytes: a plain file, gzip (also multi-member), the one
 * CSV entry of a zip archive, or stdin. The format comes from the first bytes (magic numbers); the
 * extension only decides how to complain when they disagree.
 */
import { createReadStream } from 'node:fs';
import { open as openFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough, type Readable, pipeline } from 'node:stream';
import zlib from 'node:zlib';
import yauzl from 'yauzl';
import { StorepulseError, errorMessage } from '../core/errors.js';

export type InputFormat = 'csv' | 'gzip' | 'zip';

export interface OpenedInput {
  /** Name for messages and dead-letter records: base name, `stdin`, or `archive.zip:entry.csv`. */
  name: string;
  format: InputFormat;
  /** The CSV bytes, decompressed. */
  stream: Readable;
  /** What bytesRead() counts up to (file size, or the zip entry's compressed size); unknown for pipes. */
  totalBytes?: number;
  /** The file path, for a plain (uncompressed) CSV file, which can also be read by byte ranges. */
  path?: string;
  /** Input bytes read so far, before decompression; undefined when the caller must count the stream. */
  bytesRead?: () => number;
  /** Stops reading and releases files; safe to call more than once. */
  close(): void;
}

/** Read size for files: large reads keep per-chunk overhead low; memory stays a few MiB. */
const READ_CHUNK = 1024 * 1024;
const INFLATE_CHUNK = 256 * 1024;

type Magic = InputFormat | 'empty' | { unsupported: string };

function sniff(head: Buffer): Magic {
  if (head.length === 0) return 'empty';
  const b = (i: number) => head[i] ?? -1;
  if (b(0) === 0x1f && b(1) === 0x8b) return 'gzip';
  if (b(0) === 0x50 && b(1) === 0x4b && (b(2) === 3 || b(2) === 5 || b(2) === 7)) return 'zip';
  if (b(0) === 0x42 && b(1) === 0x5a && b(2) === 0x68) return { unsupported: 'bzip2' };
  if (b(0) === 0xfd && b(1) === 0x37 && b(2) === 0x7a && b(3) === 0x58) return { unsupported: 'xz' };
  if (b(0) === 0x28 && b(1) === 0xb5 && b(2) === 0x2f && b(3) === 0xfd) return { unsupported: 'zstd' };
  if (b(0) === 0x37 && b(1) === 0x7a && b(2) === 0xbc && b(3) === 0xaf) return { unsupported: '7z' };
  if (head.subarray(0, 4).toString('latin1') === 'PAR1') return { unsupported: 'Parquet' };
  return 'csv';
}

function unsupported(name: string, kind: string): StorepulseError {
  return new StorepulseError(
    'INPUT',
    `${name}: ${kind} data is not supported; decompress or convert it to CSV first`,
  );
}

/** Plain text that may be the dataset: a BOM, the header, or a row starting with a date. */
function looksLikeCsv(head: Buffer): boolean {
  const t = head.toString('latin1');
  return t.startsWith('\xef\xbb\xbf') || /^(event_time|\d{4}-)/i.test(t);
}

export function inputError(name: string, format: InputFormat, err: unknown): StorepulseError {
  if (err instanceof StorepulseError) return err;
  const e = err as NodeJS.ErrnoException;
  const what =
    format === 'gzip' ? 'corrupt gzip data' : format === 'zip' ? 'corrupt zip data' : 'cannot read';
  return new StorepulseError('INPUT', `${name}: ${what}: ${e?.message ?? String(err)}`, { cause: err });
}

/** Opens a path, or stdin for `-`. */
export async function openInput(input: string): Promise<OpenedInput> {
  if (input === '-') return openStream(process.stdin, 'stdin');
  const name = path.basename(input);
  let size: number;
  try {
    const st = await stat(input);
    if (!st.isFile()) throw new StorepulseError('INPUT', `${input} is not a file`);
    size = st.size;
  } catch (err) {
    if (err instanceof StorepulseError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(err);
    throw new StorepulseError('INPUT', `cannot open ${input}: ${why}`, { cause: err });
  }
  const head = Buffer.alloc(64);
  let headLen = 0;
  try {
    const fh = await openFile(input, 'r');
    try {
      headLen = (await fh.read(head, 0, head.length, 0)).bytesRead;
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw new StorepulseError('INPUT', `cannot read ${input}: ${errorMessage(err)}`, { cause: err });
  }
  let magic = sniff(head.subarray(0, headLen));
  const ext = /\.(gz|gzip|zip)$/i.exec(input)?.[1]?.toLowerCase();
  if (typeof magic === 'object') throw unsupported(name, magic.unsupported);
  if (ext && (magic === 'csv' || magic === 'empty')) {
    const expected = ext === 'zip' ? 'zip' : 'gzip';
    if (magic === 'empty') throw new StorepulseError('INPUT', `${input} is empty, not ${expected} data`);
    if (!looksLikeCsv(head.subarray(0, headLen))) {
      throw new StorepulseError(
        'INPUT',
        `${input} is named .${ext} but is neither ${expected} data nor CSV text`,
      );
    }
  }
  if (magic === 'empty') magic = 'csv';

  if (magic === 'zip') return openZip(input, name);
  const file = createReadStream(input, { highWaterMark: READ_CHUNK });
  const bytesRead = () => file.bytesRead;
  if (magic === 'csv') {
    return {
      name,
      format: 'csv',
      stream: file,
      totalBytes: size,
      path: input,
      bytesRead,
      close: () => file.destroy(),
    };
  }
  const gunzip = zlib.createGunzip({ chunkSize: INFLATE_CHUNK });
  pipeline(file, gunzip, () => {});
  return {
    name,
    format: 'gzip',
    stream: gunzip,
    totalBytes: size,
    bytesRead,
    close: () => {
      file.destroy();
      gunzip.destroy();
    },
  };
}

async function openZip(input: string, base: string): Promise<OpenedInput> {
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.openPromise(input, { autoClose: false, strictFileNames: false });
  } catch (err) {
    throw new StorepulseError('INPUT', `${base} is not a readable zip archive: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  try {
    const names: string[] = [];
    const csv: yauzl.Entry[] = [];
    for await (const entry of zip.eachEntry()) {
      if (entry.fileName.endsWith('/')) continue;
      names.push(entry.fileName);
      if (/\.csv$/i.test(entry.fileName) && !entry.fileName.startsWith('__MACOSX/')) csv.push(entry);
    }
    if (names.length === 0) throw new StorepulseError('INPUT', `${base}: the zip archive is empty`);
    if (csv.length === 0) {
      throw new StorepulseError(
        'INPUT',
        `${base}: no .csv entry in the zip archive (it holds ${listNames(names)})`,
      );
    }
    if (csv.length > 1) {
      throw new StorepulseError(
        'INPUT',
        `${base}: the zip archive holds ${csv.length} .csv entries (${listNames(csv.map((e) => e.fileName))}); ` +
          'extract the one to read',
      );
    }
    const entry = csv[0]!;
    const name = `${base}:${entry.fileName}`;
    if (entry.isEncrypted())
      throw new StorepulseError('INPUT', `${name}: encrypted zip entries are not supported`);
    if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) {
      throw new StorepulseError(
        'INPUT',
        `${name}: zip compression method ${entry.compressionMethod} is not supported (only stored and deflate)`,
      );
    }
    // Raw (still compressed) bytes, so progress counts compressed bytes and inflate uses large chunks.
    const raw = await zip.openReadStreamPromise(entry, { decodeFileData: false });
    let count = 0;
    raw.on('data', (c: Buffer) => {
      count += c.length;
    });
    const out =
      entry.compressionMethod === 8 ? zlib.createInflateRaw({ chunkSize: INFLATE_CHUNK }) : new PassThrough();
    pipeline(raw, out, () => {
      if (zip.isOpen) zip.close();
    });
    return {
      name,
      format: 'zip',
      stream: out,
      totalBytes: entry.compressedSize,
      bytesRead: () => count,
      close: () => {
        raw.destroy();
        out.destroy();
        if (zip.isOpen) zip.close();
      },
    };
  } catch (err) {
    if (zip.isOpen) zip.close();
    if (err instanceof StorepulseError) throw err;
    throw new StorepulseError('INPUT', `${base}: corrupt zip archive: ${errorMessage(err)}`, {
      cause: err,
    });
  }
}

function listNames(names: string[]): string {
  const shown = names.slice(0, 5).join(', ');
  return names.length > 5 ? `${shown}, … ${names.length} in all` : shown;
}

/** Reads up to `n` bytes from the front of a paused stream and puts them back. */
async function peek(stream: Readable, n: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let len = 0;
  while (len < n) {
    const chunk = stream.read() as Buffer | string | null;
    if (chunk !== null) {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      parts.push(b);
      len += b.length;
      continue;
    }
    if (stream.readableEnded || stream.destroyed) break;
    const ended = await new Promise<boolean>((resolve, reject) => {
      const done = (v: boolean) => {
        stream.off('readable', onReadable);
        stream.off('end', onEnd);
        stream.off('error', onError);
        resolve(v);
      };
      const onReadable = () => done(false);
      const onEnd = () => done(true);
      const onError = (err: Error) => {
        stream.off('readable', onReadable);
        stream.off('end', onEnd);
        reject(err);
      };
      stream.once('readable', onReadable);
      stream.once('end', onEnd);
      stream.once('error', onError);
    });
    if (ended) break;
  }
  const head = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  if (head.length > 0) stream.unshift(head);
  return head;
}

/** Discards `n` bytes that are already buffered (object-mode streams return whole chunks from read()). */
function drop(stream: Readable, n: number): void {
  while (n > 0) {
    const chunk = stream.read() as Buffer | string | null;
    if (chunk === null) return;
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (b.length > n) stream.unshift(b.subarray(n));
    n -= b.length;
  }
}

/**
 * A stream (stdin, or any Readable of bytes) in any supported format. A zip is streamed through its
 * first entry's local header, so it must be the CSV (the usual one-file archive).
 */
export async function openStream(source: Readable, name: string): Promise<OpenedInput> {
  let head: Buffer;
  try {
    head = await peek(source, 4);
  } catch (err) {
    throw new StorepulseError('INPUT', `cannot read ${name}: ${errorMessage(err)}`, { cause: err });
  }
  const magic = sniff(head);
  if (typeof magic === 'object') throw unsupported(name, magic.unsupported);
  if (magic === 'csv' || magic === 'empty') {
    return { name, format: 'csv', stream: source, close: () => source.destroy() };
  }
  if (magic === 'gzip') {
    let count = 0;
    source.on('data', (c: Buffer) => {
      count += c.length;
    });
    const gunzip = zlib.createGunzip({ chunkSize: INFLATE_CHUNK });
    pipeline(source, gunzip, () => {});
    return {
      name,
      format: 'gzip',
      stream: gunzip,
      bytesRead: () => count,
      close: () => {
        source.destroy();
        gunzip.destroy();
      },
    };
  }
  return streamZipEntry(source, name);
}

/** Parses the first local file header of a zip arriving on a stream and inflates that entry. */
async function streamZipEntry(source: Readable, name: string): Promise<OpenedInput> {
  const fixed = await peek(source, 30);
  if (fixed.length < 30 || fixed.readUInt32LE(0) !== 0x04034b50) {
    throw new StorepulseError('INPUT', `${name}: the zip archive is empty or truncated`);
  }
  const flags = fixed.readUInt16LE(6);
  const method = fixed.readUInt16LE(8);
  const compressedSize = fixed.readUInt32LE(18);
  const nameLen = fixed.readUInt16LE(26);
  const extraLen = fixed.readUInt16LE(28);
  const headerLen = 30 + nameLen + extraLen;
  const header = await peek(source, headerLen);
  if (header.length < headerLen) throw new StorepulseError('INPUT', `${name}: truncated zip header`);
  const entryName = header.subarray(30, 30 + nameLen).toString('utf8');
  const full = `${name}:${entryName}`;
  if (!/\.csv$/i.test(entryName)) {
    throw new StorepulseError(
      'INPUT',
      `${name}: the first zip entry is ${JSON.stringify(entryName)}, not a .csv; pass the archive as a file path`,
    );
  }
  if (flags & 1) throw new StorepulseError('INPUT', `${full}: encrypted zip entries are not supported`);
  if (method !== 8 && !(method === 0 && !(flags & 8) && compressedSize !== 0xffffffff)) {
    throw new StorepulseError(
      'INPUT',
      `${full}: zip compression method ${method} cannot be streamed; pass the archive as a file path`,
    );
  }
  // Drop the header bytes that peek() put back, then decode the entry's data.
  drop(source, headerLen);
  let count = headerLen;
  const bytesRead = () => count;
  source.on('data', (c: Buffer) => {
    count += c.length;
  });
  if (method === 8) {
    // Inflate stops at the end of the deflate stream; the central directory after it is ignored.
    const inflate = zlib.createInflateRaw({ chunkSize: INFLATE_CHUNK });
    pipeline(source, inflate, () => {});
    return {
      name: full,
      format: 'zip',
      stream: inflate,
      bytesRead,
      close: () => {
        source.destroy();
        inflate.destroy();
      },
    };
  }
  const out = new PassThrough();
  let left = compressedSize;
  const finish = () => {
    if (!out.writableEnded) out.end();
  };
  if (left === 0) finish();
  source.on('data', (c: Buffer) => {
    if (left <= 0) return;
    const part = c.length > left ? c.subarray(0, left) : c;
    left -= part.length;
    if (!out.write(part)) source.pause();
    if (left <= 0) finish();
  });
  out.on('drain', () => source.resume());
  source.on('end', finish);
  source.on('error', (err) => out.destroy(err));
  return {
    name: full,
    format: 'zip',
    stream: out,
    bytesRead,
    close: () => {
      source.destroy();
      out.destroy();
    },
  };
}
