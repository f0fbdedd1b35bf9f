/**
 * What is specific to the embedded log (src/streams/embedded/): files, recovery, retention, the
 * writer lock, readers in other processes, sealing, checkpoint files. The contract itself is
 * covered for every backend by conformance.test.ts.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { StorepulseError } from '../../src/core/errors.js';
import { evenRanges, shardFor } from '../../src/core/shard.js';
import { frameCrc, zlibFrameCrc } from '../../src/streams/embedded/crc32.js';
import { encodeConsumer } from '../../src/streams/embedded/checkpoints.js';
import { encodeFrame, keyBytes, u64 } from '../../src/streams/embedded/format.js';
import {
  type EmbeddedShardRead,
  type EmbeddedStream,
  type EmbeddedStreamOptions,
  openEmbeddedStream,
} from '../../src/streams/embedded/stream.js';
import { type PutEntry, shardIdOf, type StartPosition, type StreamRecord } from '../../src/streams/types.js';

const DIST_STREAM = path.resolve(import.meta.dirname, '../../dist/src/streams/embedded/stream.js');
const S0 = shardIdOf(0);

const dirs: string[] = [];
const open: EmbeddedStream[] = [];

afterEach(async () => {
  await Promise.allSettled(open.splice(0).map((s) => s.release()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'sp-embedded-'));
  dirs.push(d);
  return d;
}

async function openStream(
  dir: string,
  mode: 'read' | 'write',
  more: Partial<EmbeddedStreamOptions> = {},
): Promise<EmbeddedStream> {
  const s = await openEmbeddedStream({ dir, name: 'raw', mode, pollMs: 10, log: () => {}, ...more });
  open.push(s);
  return s;
}

/** Keys over every shard; data with text that must survive byte for byte. */
function entries(n: number, from = 0, keys = 37): PutEntry[] {
  return Array.from({ length: n }, (_, i) => ({
    partitionKey: String(2053013555631882655n + BigInt((from + i) % keys)),
    data: JSON.stringify({ i: from + i, text: i % 3 === 0 ? 'café ✓ 😀' : 'plain ascii' }),
  }));
}

/** Entries that all land on shard 0 of a 4-shard stream. */
function shard0Entries(n: number, from = 0): PutEntry[] {
  const ranges = evenRanges(4);
  const key = Array.from({ length: 100 }, (_, i) => `k${i}`).find((k) => shardFor(k, ranges) === 0)!;
  return Array.from({ length: n }, (_, i) => ({
    partitionKey: key,
    data: `record ${from + i} ${'x'.repeat(40)}`,
  }));
}

/** Puts in batches of `per`: a batch goes whole to one segment, so small batches make segments roll. */
async function putIn(s: EmbeddedStream, all: PutEntry[], per = 5): Promise<void> {
  for (let i = 0; i < all.length; i += per) await s.putRecords(all.slice(i, i + per));
}

async function drain(
  s: EmbeddedStream,
  shardId: string,
  from: StartPosition = { type: 'oldest' },
  limit?: number,
): Promise<EmbeddedShardRead[]> {
  const out: EmbeddedShardRead[] = [];
  for await (const r of s.readShard(shardId, from, { untilCaughtUp: true, ...(limit ? { limit } : {}) })) {
    out.push(r);
  }
  return out;
}

const recordsOf = (reads: EmbeddedShardRead[]): StreamRecord[] => reads.flatMap((r) => r.records);

function segments(dir: string, shardId = S0): string[] {
  const d = path.join(dir, 'shards', shardId);
  return readdirSync(d)
    .filter((n) => n.endsWith('.seg'))
    .sort()
    .map((n) => path.join(d, n));
}

/** One frame as the writer lays it out, for tampering by hand. */
function frameBytes(seq: number, key: string, data: string): Buffer {
  const buf = frameCrc.scratch(4096);
  const end = encodeFrame(buf, 0, seq, u64(Date.now()), keyBytes(key), data);
  return Buffer.from(buf.subarray(0, end));
}

describe('embedded log: files and sequence numbers', () => {
  it('round-trips records on the Kinesis shard of their key, in order, with 20-digit sequence numbers', async () => {
    const dir = tempDir();
    const w = await openStream(dir, 'write', { shards: 4 });
    const input = entries(500);
    const results = [...(await w.putRecords(input.slice(0, 200))), ...(await w.putRecords(input.slice(200)))];
    const ranges = evenRanges(4);
    results.forEach((r, i) => expect(r.shardId).toBe(shardIdOf(shardFor(input[i]!.partitionKey, ranges))));
    expect(results.every((r) => /^\d{20}$/.test(r.sequenceNumber))).toBe(true);

    const shards = await w.listShards();
    expect(shards.map((s) => [s.startingHashKey, s.endingHashKey])).toEqual(
      ranges.map((r) => [r.startingHashKey.toString(), r.endingHashKey.toString()]),
    );
    expect(shards.every((s) => !s.closed)).toBe(true);

    for (const { shardId } of shards) {
      const mine = input.filter((_, i) => results[i]!.shardId === shardId);
      const got = recordsOf(await drain(w, shardId));
      expect(got.map((r) => r.data)).toEqual(mine.map((e) => e.data));
      expect(got.map((r) => r.partitionKey)).toEqual(mine.map((e) => e.partitionKey));
      expect(got.map((r) => Number(r.sequenceNumber))).toEqual(mine.map((_, i) => i + 1));
      expect(got.map((r) => r.sequenceNumber)).toEqual(
        results.filter((r) => r.shardId === shardId).map((r) => r.sequenceNumber),
      );
      expect(got.every((r) => r.shardId === shardId && Math.abs(r.arrivalTime - Date.now()) < 60_000)).toBe(
        true,
      );
    }
    // The files: metadata, one segment per shard named after its first sequence number.
    const meta = JSON.parse(readFileSync(path.join(dir, 'stream.json'), 'utf8'));
    expect(meta).toMatchObject({ formatVersion: 1, name: 'raw', shards: 4 });
    expect(path.basename(segments(dir)[0]!)).toBe('00000000000000000001.seg');
  });

  it('starts reads at, after, latest and in the middle of a segment, in batches of at most limit', async () => {
    const dir = tempDir();
    const w = await openStream(dir, 'write', { shards: 4, segmentBytes: 2048 });
    await putIn(w, shard0Entries(100));
    expect(segments(dir).length).toBeGreaterThan(3);
    const seqs = (from: StartPosition) =>
      drain(w, S0, from).then((r) => recordsOf(r).map((x) => Number(x.sequenceNumber)));
    expect(await seqs({ type: 'at', sequenceNumber: '00000000000000000042' })).toEqual(range(42, 100));
    expect(await seqs({ type: 'after', sequenceNumber: '42' })).toEqual(range(43, 100));
    expect(await seqs({ type: 'after', sequenceNumber: '00000000000000000100' })).toEqual([]);
    expect(await seqs({ type: 'latest' })).toEqual([]);
    const reads = await drain(w, S0, { type: 'oldest' }, 7);
    expect(reads.every((r) => r.records.length <= 7)).toBe(true);
    expect(recordsOf(reads)).toHaveLength(100);
    await expect(seqs({ type: 'at', sequenceNumber: 'abc' })).rejects.toThrow(/bad start position/);
    // A position past the tip: the read waits for that record.
    const ac = new AbortController();
    const later: StreamRecord[] = [];
    const waiting = (async () => {
      const from: StartPosition = { type: 'at', sequenceNumber: '105' };
      for await (const read of w.readShard(S0, from, { signal: ac.signal })) {
        later.push(...read.records);
        if (later.length > 0) ac.abort();
      }
    })();
    await putIn(w, shard0Entries(10, 100));
    await waiting;
    expect(later[0]!.sequenceNumber).toBe('00000000000000000105');
    expect(() => w.readShard('shardId-000000000009', { type: 'oldest' })).toThrow(/no shard/);
  });

  it('continues sequence numbers after a reopen and keeps the shard count of an existing stream', async () => {
    const dir = tempDir();
    const w1 = await openStream(dir, 'write', { shards: 4 });
    await w1.putRecords(shard0Entries(10));
    await w1.close();
    const w2 = await openStream(dir, 'write', { shards: 8 });
    expect(w2.shardCount).toBe(4);
    const res = await w2.putRecords(shard0Entries(5, 10));
    expect(res.map((r) => Number(r.sequenceNumber))).toEqual([11, 12, 13, 14, 15]);
    expect(recordsOf(await drain(w2, S0)).map((r) => r.data)).toEqual(
      [...shard0Entries(10), ...shard0Entries(5, 10)].map((e) => e.data),
    );
    const stats = await w2.stats();
    expect(stats[0]).toMatchObject({
      records: 15,
      oldestSequenceNumber: '00000000000000000001',
      newestSequenceNumber: '00000000000000000015',
    });
    expect(stats[0]!.bytes).toBe(statSync(segments(dir)[0]!).size);
    // A reader works the same numbers out from the files alone.
    const r = await openStream(dir, 'read');
    expect(await r.stats()).toEqual(stats);
  });

  it('refuses bad input, and writes from a reader', async () => {
    const dir = tempDir();
    await expect(openStream(dir, 'read')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const w = await openStream(dir, 'write');
    await expect(w.putRecords([{ partitionKey: '', data: 'x' }])).rejects.toThrow(/partition key/);
    await expect(w.putRecords([{ partitionKey: 'k'.repeat(257), data: 'x' }])).rejects.toThrow(
      /partition key/,
    );
    expect(await w.putRecords([])).toEqual([]);
    const r = await openStream(dir, 'read');
    await expect(r.putRecords(entries(1))).rejects.toMatchObject({ code: 'USAGE' });
    await expect(openStream(dir, 'write', { segmentBytes: 10 })).rejects.toThrow(/segmentBytes/);
  });

  it('validates options given directly through its schema, naming each bad one and its value', async () => {
    const dir = tempDir();
    const bad = async (opts: Partial<EmbeddedStreamOptions>): Promise<string> => {
      const err: unknown = await openStream(dir, 'write', opts).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StorepulseError);
      expect((err as StorepulseError).code).toBe('USAGE');
      return (err as Error).message;
    };
    expect(await bad({ pollMs: 0 })).toBe(
      'embedded stream raw: bad options: pollMs = 0: Too small: expected number to be >=1',
    );
    expect(await bad({ pollMs: 2.5 })).toMatch(/^embedded stream raw: bad options: pollMs = 2.5: .*int/);
    expect(await bad({ pollMs: 60_000 })).toMatch(/pollMs = 60000: Too big: expected number to be <=10000/);
    expect(await bad({ durability: 'fast' as 'none' })).toBe(
      'embedded stream raw: bad options: durability = "fast": Invalid option: expected one of "batch"|"interval"|"none"',
    );
    const both = await bad({ durability: 'fast' as 'none', shards: 0, mode: 'append' as 'write' });
    expect(both).toMatch(/mode = "append": must be 'write' or 'read'/);
    expect(both).toMatch(/shards = 0: /);
    expect(both).toMatch(/durability = "fast": /);
    expect(await bad({ dir: '' })).toMatch(/dir = "": required/);
    // Nothing was created for a stream whose options were refused.
    expect(readdirSync(dir)).toEqual([]);
  });

  it('checksums with WebAssembly exactly like zlib.crc32', () => {
    for (const impl of [frameCrc, zlibFrameCrc()]) {
      const buf = impl.scratch(5000);
      for (let i = 0; i < 5000; i++) buf[i] = (i * 2654435761) >>> 24;
      for (const [off, len] of [
        [0, 0],
        [3, 1],
        [1, 15],
        [7, 16],
        [5, 17],
        [11, 330],
        [0, 4999],
      ] as const) {
        expect(impl.of(off, len)).toBe(crc32(buf.subarray(off, off + len)));
      }
    }
    expect(frameCrc.wasm).toBe(true);
  });
});

function range(a: number, b: number): number[] {
  return Array.from({ length: b - a + 1 }, (_, i) => a + i);
}

describe('embedded log: crash recovery', () => {
  it('cuts a torn tail off when a writer opens; readers never see the partial record', async () => {
    const dir = tempDir();
    const w1 = await openStream(dir, 'write');
    await w1.putRecords(shard0Entries(20));
    await w1.release(); // as if killed: not sealed
    const seg = segments(dir)[0]!;
    const good = statSync(seg).size;
    // The writer died halfway through a frame: a header promising more bytes than are there.
    const torn = frameBytes(21, 'k', 'a record that never got written whole').subarray(0, 30);
    appendFileSync(seg, torn);

    const r = await openStream(dir, 'read');
    expect(recordsOf(await drain(r, S0))).toHaveLength(20);

    const logs: string[] = [];
    const w2 = await openStream(dir, 'write', { log: (m) => logs.push(m) });
    expect(w2.recovery.droppedBytes).toBe(torn.length);
    expect(w2.recovery.shards).toEqual([
      expect.objectContaining({ shardId: S0, file: seg, offset: good, droppedBytes: torn.length }),
    ]);
    expect(logs.join('\n')).toMatch(new RegExp(`dropped ${torn.length} bytes at offset ${good}`));
    expect(statSync(seg).size).toBe(good);
    await w2.putRecords(shard0Entries(5, 20));
    const all = recordsOf(await drain(r, S0));
    expect(all.map((x) => x.data)).toEqual(shard0Entries(25).map((e) => e.data));
    expect(all.map((x) => Number(x.sequenceNumber))).toEqual(range(1, 25));
  });

  it('cuts a whole frame with a bad checksum, and garbage, off the tail', async () => {
    const dir = tempDir();
    const w1 = await openStream(dir, 'write');
    await w1.putRecords(shard0Entries(3));
    await w1.release();
    const seg = segments(dir)[0]!;
    const good = statSync(seg).size;
    const bad = frameBytes(4, 'k', 'flipped');
    bad[bad.length - 1]! ^= 0xff;
    appendFileSync(seg, Buffer.concat([bad, Buffer.from('garbage')]));
    const w2 = await openStream(dir, 'write');
    expect(w2.recovery.droppedBytes).toBe(bad.length + 7);
    expect(w2.recovery.shards[0]!.reason).toMatch(/checksum/);
    expect(statSync(seg).size).toBe(good);
    expect((await w2.putRecords(shard0Entries(1)))[0]!.sequenceNumber).toBe('00000000000000000004');
  });

  it('waits for a frame the writer has only half written, then yields it whole', async () => {
    const dir = tempDir();
    const w = await openStream(dir, 'write');
    await w.putRecords(shard0Entries(1));
    await w.release();
    const seg = segments(dir)[0]!;
    const frame = frameBytes(2, 'k', 'second record');
    appendFileSync(seg, frame.subarray(0, 20));
    const r = await openStream(dir, 'read');
    const got: StreamRecord[] = [];
    const ac = new AbortController();
    const reading = (async () => {
      for await (const read of r.readShard(S0, { type: 'oldest' }, { signal: ac.signal })) {
        got.push(...read.records);
        if (got.length === 2) ac.abort();
      }
    })();
    await waitFor(() => got.length === 1);
    await new Promise((res) => setTimeout(res, 100));
    expect(got).toHaveLength(1);
    appendFileSync(seg, frame.subarray(20));
    await reading;
    expect(got.map((x) => x.data)).toEqual([shard0Entries(1)[0]!.data, 'second record']);
  });

  it('names the file and offset of a corrupt record in a sealed segment', async () => {
    const dir = tempDir();
    const w = await openStream(dir, 'write', { segmentBytes: 1024 });
    await putIn(w, shard0Entries(60));
    const first = segments(dir)[0]!;
    expect(segments(dir).length).toBeGreaterThan(2);
    const bytes = readFileSync(first);
    const offset = bytes.length - 10;
    bytes[offset]! ^= 0x20;
    writeFileSync(first, bytes);
    await expect(drain(w, S0)).rejects.toThrow(
      new RegExp(
        `corrupt record in ${escape(first)} at offset \\d+ \\(a segment with a successor\\): checksum`,
      ),
    );
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

async function waitFor(cond: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((res) => setTimeout(res, 5));
  }
}

describe('embedded log: retention', () => {
  it('deletes the oldest segments over the size budget; reads from a deleted position start at the oldest', async () => {
    const dir = tempDir();
    // 4 shards share 16 KiB: 4 KiB each, segments of 1 KiB.
    const w = await openStream(dir, 'write', { segmentBytes: 1024, retentionBytes: 16 * 1024 });
    for (let i = 0; i < 50; i++) await w.putRecords(shard0Entries(10, i * 10));
    await w.enforceRetention();
    const files = segments(dir);
    const held = files.reduce((n, f) => n + statSync(f).size, 0);
    expect(held).toBeLessThanOrEqual(4 * 1024);
    expect(path.basename(files[0]!)).not.toBe('00000000000000000001.seg');
    const [stats] = await w.stats();
    const oldest = Number(stats!.oldestSequenceNumber);
    expect(oldest).toBeGreaterThan(1);
    expect(stats).toMatchObject({ records: 500 - oldest + 1, newestSequenceNumber: '00000000000000000500' });

    const reads = await drain(w, S0, { type: 'at', sequenceNumber: '1' });
    expect(reads[0]!.skippedRecords).toBe(oldest - 1);
    expect(Number(recordsOf(reads)[0]!.sequenceNumber)).toBe(oldest);
    expect(recordsOf(await drain(w, S0, { type: 'oldest' }))).toHaveLength(500 - oldest + 1);
  });

  it('deletes segments whose newest record is older than retentionMs, never the active one', async () => {
    const dir = tempDir();
    const w = await openStream(dir, 'write', { segmentBytes: 1024, retentionMs: 3600_000 });
    await putIn(w, shard0Entries(60));
    const before = segments(dir);
    expect(before.length).toBeGreaterThan(2);
    await w.release();
    const old = (Date.now() - 2 * 3600_000) / 1000;
    for (const f of before) utimesSync(f, old, old);
    // Reopening applies retention: everything but the active segment is too old.
    const w2 = await openStream(dir, 'write', { segmentBytes: 1024, retentionMs: 3600_000 });
    expect(segments(dir)).toEqual([before[before.length - 1]]);
    const [stats] = await w2.stats();
    expect(stats!.newestSequenceNumber).toBe('00000000000000000060');
    expect(recordsOf(await drain(w2, S0)).at(-1)!.sequenceNumber).toBe('00000000000000000060');
  });
});

describe('embedded log: one writer, readers anywhere', () => {
  it('refuses a second writer while the first is alive', async () => {
    const dir = tempDir();
    await openStream(dir, 'write');
    const err = await openStream(dir, 'write').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorepulseError);
    expect((err as StorepulseError).code).toBe('STATE');
    expect((err as Error).message).toMatch(/locked by another writer.*writer\.lock/);
  });

  it('takes over the lock a dead writer left behind', async () => {
    const dir = tempDir();
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    });
    const deadPid = Number(child.stdout);
    expect(deadPid).toBeGreaterThan(0);
    writeFileSync(path.join(dir, 'writer.lock'), `${deadPid}\nsomehost\n`);
    const logs: string[] = [];
    const w = await openStream(dir, 'write', { log: (m) => logs.push(m) });
    expect(w.recovery.staleLockPid).toBe(deadPid);
    expect(logs.join('\n')).toMatch(new RegExp(`lock of writer ${deadPid}`));
    expect(readFileSync(path.join(dir, 'writer.lock'), 'utf8').split('\n')[0]).toBe(String(process.pid));
    await w.close();
    expect(existsSync(path.join(dir, 'writer.lock'))).toBe(false);
  });

  it('feeds a reader in another process as records arrive, which ends once the writer seals', async () => {
    if (!existsSync(DIST_STREAM))
      throw new Error(`${DIST_STREAM} is missing: run npm run build first (npm test does)`);
    const dir = tempDir();
    const w = await openStream(dir, 'write', { segmentBytes: 4096 });
    await w.putRecords(entries(100));
    const script = path.join(dir, 'reader.mjs');
    writeFileSync(
      script,
      `import { openEmbeddedStream } from ${JSON.stringify(DIST_STREAM)};
const s = await openEmbeddedStream({ dir: process.argv[2], name: 'raw', mode: 'read', pollMs: 10 });
const out = {};
await Promise.all((await s.listShards()).map(async ({ shardId }) => {
  const seqs = [];
  for await (const r of s.readShard(shardId, { type: 'oldest' })) {
    for (const rec of r.records) seqs.push(Number(rec.sequenceNumber));
    if (r.records.length === 0) process.stdout.write('caught-up\\n');
  }
  out[shardId] = seqs;
}));
process.stdout.write(JSON.stringify(out) + '\\n');
await s.close();
`,
    );
    const child = spawn(process.execPath, [script, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((res) => child.on('exit', res));
    await waitFor(() => stdout.includes('caught-up'));
    const results = [];
    for (let i = 1; i <= 5; i++) {
      results.push(...(await w.putRecords(entries(100, i * 100))));
      await new Promise((res) => setTimeout(res, 20));
    }
    await w.close();
    expect(await exited).toBe(0);
    const got = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, number[]>;
    for (const { shardId } of await w.listShards()) {
      const n = (await w.stats()).find((s) => s.shardId === shardId)!.records!;
      expect(got[shardId]).toEqual(range(1, n));
    }
    expect(Object.values(got).reduce((n, s) => n + s.length, 0)).toBe(600);
  });
});

describe('embedded log: sealing', () => {
  it('ends waiting readers when the writer closes; a new writer unseals', async () => {
    const dir = tempDir();
    const w = await openStream(dir, 'write');
    await w.putRecords(shard0Entries(3));
    const r = await openStream(dir, 'read');
    const got: StreamRecord[] = [];
    const reading = (async () => {
      for await (const read of r.readShard(S0, { type: 'oldest' })) got.push(...read.records);
    })();
    await waitFor(() => got.length === 3);
    await w.putRecords(shard0Entries(2, 3));
    await w.close();
    await reading; // ends: sealed and drained
    expect(got).toHaveLength(5);
    expect(existsSync(path.join(dir, 'sealed'))).toBe(true);

    const w2 = await openStream(dir, 'write');
    expect(existsSync(path.join(dir, 'sealed'))).toBe(false);
    const ac = new AbortController();
    const later: StreamRecord[] = [];
    const following = (async () => {
      for await (const read of r.readShard(
        S0,
        { type: 'after', sequenceNumber: '5' },
        { signal: ac.signal },
      )) {
        later.push(...read.records);
      }
    })();
    await new Promise((res) => setTimeout(res, 100));
    await w2.putRecords(shard0Entries(1, 5));
    await waitFor(() => later.length === 1);
    await w2.release(); // a stop, not an end: the reader keeps waiting
    await new Promise((res) => setTimeout(res, 100));
    expect(existsSync(path.join(dir, 'sealed'))).toBe(false);
    ac.abort();
    await following;
    expect(later.map((x) => x.sequenceNumber)).toEqual(['00000000000000000006']);
  });

  it('ends the reads of a read-mode stream when it is closed', async () => {
    const dir = tempDir();
    const w = await openStream(dir, 'write');
    const r = await openStream(dir, 'read');
    let n = 0;
    const reading = (async () => {
      for await (const read of r.readShard(S0, { type: 'oldest' })) n += read.records.length;
    })();
    await w.putRecords(shard0Entries(2));
    await waitFor(() => n === 2);
    await r.close();
    await reading;
    expect(n).toBe(2);
  });
});

describe('embedded log: checkpoints', () => {
  it('stores one file per consumer, names encoded, saved atomically; leftover temp files are ignored', async () => {
    const dir = tempDir();
    await openStream(dir, 'write');
    const r = await openStream(dir, 'read'); // readers may checkpoint
    const names = ['process', 'process:eu/west', 'Zoë', '..'];
    for (const [i, name] of names.entries()) {
      await r.checkpoints.save(name, { positions: { [S0]: String(i) }, state: `s${i}`, updatedAt: i });
    }
    expect(await r.checkpoints.consumers()).toEqual([...names].sort());
    const files = readdirSync(path.join(dir, 'checkpoints'));
    expect(files.sort()).toEqual(names.map((n) => `${encodeConsumer(n)}.json`).sort());
    expect(files.every((f) => /^[a-z0-9_%A-F-]+\.json$/.test(f))).toBe(true);

    await r.checkpoints.save('process', { positions: { [S0]: '00000000000000000009' }, updatedAt: 10 });
    expect(await r.checkpoints.load('process')).toEqual({
      positions: { [S0]: '00000000000000000009' },
      updatedAt: 10,
    });
    // A crash between writing the temporary file and renaming it leaves the old checkpoint in force.
    writeFileSync(path.join(dir, 'checkpoints', '.process.json.123.abcd.tmp'), '{"positions":{"x":');
    expect(await r.checkpoints.consumers()).toEqual([...names].sort());
    expect((await r.checkpoints.load('process'))!.positions[S0]).toBe('00000000000000000009');
    expect(await r.checkpoints.load('nobody')).toBeUndefined();
    writeFileSync(path.join(dir, 'checkpoints', `${encodeConsumer('broken')}.json`), '{');
    await expect(r.checkpoints.load('broken')).rejects.toMatchObject({ code: 'STATE' });
  });
});

describe('embedded log: durability modes', () => {
  it.each(['batch', 'interval', 'none'] as const)('%s: puts, reads and closes', async (durability) => {
    const dir = tempDir();
    const w = await openStream(dir, 'write', { durability, fsyncIntervalMs: 20 });
    const results = await Promise.all([w.putRecords(entries(50)), w.putRecords(entries(50, 50))]);
    expect(results.flat()).toHaveLength(100);
    await new Promise((res) => setTimeout(res, 50));
    await w.close();
    const r = await openStream(dir, 'read');
    let n = 0;
    for (const { shardId } of await r.listShards()) {
      for await (const read of r.readShard(shardId, { type: 'oldest' })) n += read.records.length;
    }
    expect(n).toBe(100);
  });
});
