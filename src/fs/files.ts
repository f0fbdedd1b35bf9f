/**
 * Small file helpers for crash-safe metadata (the embedded stream's meta and checkpoints, the lake's
 * commit manifests and progress): atomic replace, fsync of a file or of a folder's names.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { ioError } from '../core/errors.js';

/** Puts `file`'s content on disk, e.g. before a rename makes it visible. */
export async function syncFile(file: string): Promise<void> {
  const fh = await open(file, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Makes a new or removed name in `dir` durable (a folder is synced like a file). */
export function fsyncDir(dir: string): Promise<void> {
  return syncFile(dir);
}

/** A temporary file in the same folder, named so that readers of the folder can tell and skip it. */
function tempName(file: string): string {
  return path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  );
}

export function isTempName(name: string): boolean {
  return name.startsWith('.') && name.endsWith('.tmp');
}

/**
 * Replaces `file` with `text` so that after a crash it holds either the old or the new content:
 * write a temporary file, fsync it, rename it over the old one, fsync the folder.
 */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true });
  const tmp = tempName(file);
  try {
    const fh = await open(tmp, 'w', 0o644);
    try {
      await fh.writeFile(text, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
    await fsyncDir(dir);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw ioError(`cannot write ${file}`, err);
  }
}
