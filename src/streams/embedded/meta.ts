/** The stream's metadata file `<dir>/stream.json` and its sealed marker `<dir>/sealed`. */
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { StorepulseError, errorMessage, ioError } from '../../core/errors.js';
import { shardIdOf } from '../types.js';
import { fsyncDir, writeFileAtomic } from '../../fs/files.js';
import { FORMAT_VERSION } from './format.js';
import { MAX_SHARDS } from './options.js';
import { listSegments, shardDir } from './segment.js';

const META_NAME = 'stream.json';

export interface StreamMeta {
  formatVersion: number;
  name: string;
  shards: number;
  /** ISO-8601 UTC. */
  createdAt: string;
}

function metaFile(dir: string): string {
  return path.join(dir, META_NAME);
}

/** The stream's metadata, or undefined when the stream does not exist (yet). */
export async function readMeta(dir: string): Promise<StreamMeta | undefined> {
  const file = metaFile(dir);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw ioError(`cannot read ${file}`, err);
  }
  let meta: StreamMeta;
  try {
    meta = JSON.parse(text) as StreamMeta;
  } catch (err) {
    throw new StorepulseError('STATE', `${file} is not valid JSON: ${errorMessage(err)}`);
  }
  if (meta?.formatVersion !== FORMAT_VERSION) {
    throw new StorepulseError(
      'STATE',
      `${file}: format version ${String(meta?.formatVersion)}; this storepulse reads version ${FORMAT_VERSION}`,
    );
  }
  if (!Number.isInteger(meta.shards) || meta.shards < 1) {
    throw new StorepulseError('STATE', `${file}: bad shard count ${String(meta.shards)}`);
  }
  return meta;
}

/** Before creating a stream: refuses when shard data is there without metadata (never guess a count). */
export async function assertNoOrphanRecords(dir: string, name: string, shards: number): Promise<void> {
  const root = path.join(dir, 'shards');
  const existing = await stat(root).catch(() => undefined);
  if (existing) {
    for (let i = 0; i < MAX_SHARDS; i++) {
      const segments = await listSegments(shardDir(dir, shardIdOf(i)));
      for (const s of segments) {
        if ((await stat(s.file)).size > 0) {
          throw new StorepulseError(
            'STATE',
            `stream ${name}: ${metaFile(dir)} is missing but ${root} holds records; restore the file ` +
              `(${JSON.stringify({ formatVersion: FORMAT_VERSION, name, shards: 'N', createdAt: '…' })}) or move the folder away`,
          );
        }
      }
      if (segments.length === 0 && i >= shards) break;
    }
  }
}

/** Writes the metadata of a new stream: last, once its shard folders exist, so that it is whole. */
export async function createMeta(dir: string, name: string, shards: number): Promise<StreamMeta> {
  await fsyncDir(path.join(dir, 'shards'));
  const meta: StreamMeta = {
    formatVersion: FORMAT_VERSION,
    name,
    shards,
    createdAt: new Date().toISOString(),
  };
  await writeFileAtomic(metaFile(dir), `${JSON.stringify(meta, null, 2)}\n`);
  return meta;
}

/** Removes the sealed marker: a writer is back. */
export async function unseal(sealedFile: string): Promise<void> {
  try {
    await rm(sealedFile);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw ioError(`cannot remove ${sealedFile}`, err);
  }
  await fsyncDir(path.dirname(sealedFile));
}

/**
 * Writes the sealed marker (after the records' fsync). Readers only test that it exists, and losing
 * it in a crash only makes them wait for a writer that never comes back: no fsync for it.
 */
export async function seal(sealedFile: string): Promise<void> {
  try {
    await writeFile(sealedFile, `${JSON.stringify({ sealedAt: new Date().toISOString() })}\n`);
  } catch (err) {
    throw ioError(`cannot write ${sealedFile}`, err);
  }
}
