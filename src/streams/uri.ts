/**
 * Stream URIs on the command line:
 * - `-`: a shell pipe of NDJSON records (stdout for writers, stdin for readers);
 * - `embedded://NAME`: the embedded durable log under `<dataDir>/streams/NAME` (the default);
 * - `kinesis://NAME?region=R&endpoint=URL`: Amazon Kinesis Data Streams (credentials from the usual
 *   AWS sources); its consumer checkpoints live in the storepulse store;
 * - `lake://[RANGE][?data-dir=PATH]` (`process --from` only): a replay of the events the Parquet lake
 *   holds, in event-time order (streams/lake/stream.ts, docs/replay.md).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { awsUriParams } from '../aws/uri.js';
import type { StreamsConfig } from '../core/config.js';
import { StorepulseError } from '../core/errors.js';
import { sleep } from '../core/sleep.js';
import { PipeReader, PipeWriter } from './stdio/stream.js';
import type { DurableStream, StreamReader, StreamWriter } from './types.js';

export interface StreamPlace {
  dataDir: string;
  /** The storepulse SQLite store (Kinesis checkpoints). */
  storePath: string;
  streams: StreamsConfig;
  /** Shards of a stream this command creates. */
  shards: number;
}

export type StreamUri =
  | { kind: 'pipe' }
  | { kind: 'embedded'; name: string }
  | { kind: 'kinesis'; name: string; region?: string; endpoint?: string };

const SUPPORTED = "'-' (NDJSON on stdout/stdin), embedded://NAME or kinesis://NAME?region=…&endpoint=…";
const LAKE_FORMS =
  'lake:// (all days), lake://DAY, lake://MONTH, lake://FROM..TO, lake://FROM.. or lake://..TO ' +
  '(DAY is YYYY-MM-DD, MONTH is YYYY-MM, UTC), each optionally with ?data-dir=PATH (another data folder)';
/** Kinesis's rule for stream names; the embedded log uses the name as a folder, so the same one. */
const NAME_RE = /^[A-Za-z0-9_.-]{1,128}$/;

export function parseStreamUri(uri: string, flag: string, supported = SUPPORTED): StreamUri {
  if (uri === '-') return { kind: 'pipe' };
  const m = /^([a-z]+):\/\/([^?]*)(?:\?(.*))?$/.exec(uri);
  const bad = (why: string) => new StorepulseError('USAGE', `${flag} ${uri}: ${why}; use ${supported}`);
  if (!m) throw bad('not a stream URI');
  const [, scheme, name = '', query] = m;
  if (!NAME_RE.test(name) || name === '.' || name === '..') {
    throw bad('a stream name is 1-128 letters, digits, _ . or -');
  }
  // URLSearchParams decodes, so an endpoint may be given URL-encoded or not.
  const params = new URLSearchParams(query ?? '');
  if (scheme === 'embedded') {
    if ([...params.keys()].length > 0) throw bad('embedded streams take no parameters');
    return { kind: 'embedded', name };
  }
  if (scheme === 'kinesis') return { kind: 'kinesis', name, ...awsUriParams(params, bad) };
  throw bad(`unknown scheme ${scheme}`);
}

/**
 * A replay of the lake's events table: the UTC days `from`..`to` (inclusive `YYYY-MM-DD`, open where
 * absent), of this data folder's lake or, with `dataDir`, of another data folder's.
 */
export interface LakeUri {
  kind: 'lake';
  from?: string;
  to?: string;
  dataDir?: string;
}

/** What `process --from` takes: a stream, or the lake (a replay). */
export function parseSourceUri(uri: string, flag: string): StreamUri | LakeUri {
  if (uri.startsWith('lake:')) return parseLakeUri(uri, flag);
  return parseStreamUri(uri, flag, `${SUPPORTED}, or ${LAKE_FORMS}`);
}

function parseLakeUri(uri: string, flag: string): LakeUri {
  const bad = (why: string) => new StorepulseError('USAGE', `${flag} ${uri}: ${why}; use ${LAKE_FORMS}`);
  const m = /^lake:\/\/([^?]*)(?:\?(.*))?$/.exec(uri);
  if (!m) throw bad('not a lake URI');
  const [, range = '', query] = m;
  const out: LakeUri = { kind: 'lake' };
  if (range !== '') {
    const parts = range.split('..');
    if (parts.length > 2 || parts.every((p) => p === '')) throw bad(`bad range "${range}"`);
    // One bound alone (`lake://2019-10`) is both ends.
    const [first = '', last = first] = parts;
    if (first !== '') out.from = dayOf(first, 'first', bad);
    if (last !== '') out.to = dayOf(last, 'last', bad);
    if (out.from !== undefined && out.to !== undefined && out.from > out.to) {
      throw bad(`${out.from} is after ${out.to}`);
    }
  }
  for (const [key, value] of new URLSearchParams(query ?? '')) {
    if (key !== 'data-dir') throw bad(`unknown parameter ${key}`);
    if (value === '' || out.dataDir !== undefined) throw bad('give data-dir once, with a folder');
    out.dataDir = value;
  }
  return out;
}

/** A range bound as a UTC day: a day as given, a month as its first or its last day. */
function dayOf(text: string, end: 'first' | 'last', bad: (why: string) => StorepulseError): string {
  const m = /^(\d{4})-(\d{2})(?:-(\d{2}))?$/.exec(text);
  if (!m) throw bad(`"${text}" is neither a day (YYYY-MM-DD) nor a month (YYYY-MM)`);
  const [y, mo] = [Number(m[1]), Number(m[2]) - 1];
  const d = m[3] === undefined ? (end === 'first' ? 1 : 0) : Number(m[3]);
  // Day 0 of the next month is the last of this one; a date that does not exist moves, and is refused.
  const t = new Date(Date.UTC(y, m[3] === undefined && end === 'last' ? mo + 1 : mo, d));
  const monthOk = m[3] === undefined ? mo >= 0 && mo <= 11 : t.getUTCMonth() === mo;
  if (!monthOk || t.getUTCFullYear() !== y || (m[3] !== undefined && t.getUTCDate() !== d)) {
    throw bad(`${text} is not a date`);
  }
  return t.toISOString().slice(0, 10);
}

/** Where the embedded log keeps a stream. */
function embeddedStreamDir(dataDir: string, name: string): string {
  return path.join(dataDir, 'streams', name);
}

/** Opens a durable stream; `mode: 'write'` creates it when missing (and takes the embedded writer lock). */
export async function openDurableStream(
  uri: Exclude<StreamUri, { kind: 'pipe' }>,
  place: StreamPlace,
  mode: 'read' | 'write',
): Promise<DurableStream> {
  if (uri.kind === 'embedded') {
    const { openEmbeddedStream } = await import('./embedded/stream.js');
    const c = place.streams;
    return openEmbeddedStream({
      dir: embeddedStreamDir(place.dataDir, uri.name),
      name: uri.name,
      mode,
      shards: place.shards,
      durability: c.durability,
      fsyncIntervalMs: c.fsyncIntervalMs,
      segmentBytes: c.segmentBytes,
      retentionBytes: c.retentionBytes,
      retentionMs: c.retentionHours * 3600_000,
      pollMs: c.pollMs,
    });
  }
  // The AWS SDK loads only for Kinesis.
  const [{ openKinesisStream }, { SqliteCheckpointStore }] = await Promise.all([
    import('./kinesis/stream.js'),
    import('../stores/sqlite/checkpoint-store.js'),
  ]);
  mkdirSync(path.dirname(place.storePath), { recursive: true });
  const checkpoints = new SqliteCheckpointStore(place.storePath, uri.name);
  try {
    return await openKinesisStream({
      name: uri.name,
      region: uri.region,
      endpoint: uri.endpoint,
      checkpoints,
      ...(mode === 'write' ? { createShards: place.shards } : {}),
    });
  } catch (err) {
    checkpoints.close();
    throw err;
  }
}

const STREAM_WAIT_POLL_MS = 100;

/**
 * Opens a stream for reading, waiting up to `waitMs` for a writer to create it, so that
 * `storepulse simulate … & storepulse process` works whichever process starts first.
 */
export async function waitForStream(
  uri: Exclude<StreamUri, { kind: 'pipe' }>,
  place: StreamPlace,
  opts: { waitMs: number; log: (message: string) => void; signal?: AbortSignal },
): Promise<DurableStream> {
  const deadline = Date.now() + opts.waitMs;
  let told = false;
  for (;;) {
    try {
      return await openDurableStream(uri, place, 'read');
    } catch (err) {
      const missing = err instanceof StorepulseError && err.code === 'NOT_FOUND';
      if (!missing || opts.signal?.aborted) throw err;
      if (Date.now() >= deadline) {
        throw new StorepulseError(
          'NOT_FOUND',
          `${err.message}; waited ${Math.round(opts.waitMs / 1000)} s for storepulse simulate (or another ` +
            'writer) to create it',
          { cause: err },
        );
      }
      if (!told) {
        opts.log(
          `waiting up to ${Math.round(opts.waitMs / 1000)} s for a writer to create stream ${uri.name}`,
        );
        told = true;
      }
      await sleep(STREAM_WAIT_POLL_MS, opts.signal);
    }
  }
}

export async function openStreamWriter(uri: string, place: StreamPlace): Promise<StreamWriter> {
  const parsed = parseStreamUri(uri, '--to');
  if (parsed.kind === 'pipe') return new PipeWriter(process.stdout);
  return openDurableStream(parsed, place, 'write');
}

/** A pipe reader for `-`; durable streams are read through a StreamConsumer (streams/consumer.ts). */
export function openPipeReader(): StreamReader {
  return new PipeReader(process.stdin);
}
