/**
 * Consumer checkpoints of an embedded stream: one JSON file per consumer in `<dir>/checkpoints/`,
 * replaced atomically (src/fs/files.ts). Consumer names may hold any character (`process:eu`, `a/b`), so
 * file names encode every byte outside [a-z0-9_-] as `%XX` (upper case too, for case-insensitive
 * file systems); `consumers()` decodes them back.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { StorepulseError, errorMessage, ioError } from '../../core/errors.js';
import type { Checkpoint, CheckpointStore } from '../../stores/types.js';
import { isTempName, writeFileAtomic } from '../../fs/files.js';

const SUFFIX = '.json';
/** File names stay well under the usual 255-byte limit. */
const MAX_ENCODED = 240;

export function encodeConsumer(name: string): string {
  let out = '';
  for (const byte of Buffer.from(name, 'utf8')) {
    const safe =
      (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x30 && byte <= 0x39) || byte === 0x5f || byte === 0x2d;
    out += safe ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function decodeConsumer(encoded: string): string | undefined {
  if (!/^(?:[a-z0-9_-]|%[0-9A-F]{2})+$/.test(encoded)) return undefined;
  try {
    return decodeURIComponent(encoded);
  } catch {
    return undefined;
  }
}

interface StoredCheckpoint extends Checkpoint {
  consumer: string;
}

export class FileCheckpointStore implements CheckpointStore {
  readonly dir: string;

  constructor(streamDir: string) {
    this.dir = path.join(streamDir, 'checkpoints');
  }

  private fileOf(consumer: string): string {
    if (typeof consumer !== 'string' || consumer.length === 0) {
      throw new StorepulseError('USAGE', 'a consumer name must be a non-empty string');
    }
    const encoded = encodeConsumer(consumer);
    if (encoded.length + SUFFIX.length > MAX_ENCODED) {
      throw new StorepulseError('USAGE', `consumer name too long: ${consumer.slice(0, 40)}…`);
    }
    return path.join(this.dir, encoded + SUFFIX);
  }

  async load(consumer: string): Promise<Checkpoint | undefined> {
    const file = this.fileOf(consumer);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw ioError(`cannot read checkpoint ${file}`, err);
    }
    let stored: StoredCheckpoint;
    try {
      stored = JSON.parse(text) as StoredCheckpoint;
    } catch (err) {
      throw new StorepulseError('STATE', `checkpoint ${file} is not valid JSON: ${errorMessage(err)}`);
    }
    const positions = stored?.positions;
    if (typeof positions !== 'object' || positions === null || typeof stored.updatedAt !== 'number') {
      throw new StorepulseError('STATE', `checkpoint ${file} lacks positions or updatedAt`);
    }
    return {
      positions: { ...positions },
      ...(typeof stored.state === 'string' ? { state: stored.state } : {}),
      updatedAt: stored.updatedAt,
    };
  }

  async save(consumer: string, checkpoint: Checkpoint): Promise<void> {
    const stored: StoredCheckpoint = {
      consumer,
      positions: checkpoint.positions,
      ...(checkpoint.state === undefined ? {} : { state: checkpoint.state }),
      updatedAt: checkpoint.updatedAt,
    };
    await writeFileAtomic(this.fileOf(consumer), JSON.stringify(stored));
  }

  async consumers(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw ioError(`cannot list ${this.dir}`, err);
    }
    const out: string[] = [];
    for (const name of names) {
      if (isTempName(name) || !name.endsWith(SUFFIX)) continue;
      const consumer = decodeConsumer(name.slice(0, -SUFFIX.length));
      if (consumer !== undefined) out.push(consumer);
    }
    return out.sort();
  }
}
