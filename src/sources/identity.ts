/**
 * A dataset file's identity by content, for resumable replays: a file regenerated or replaced at the
 * same path is a new source (replayed from its start), and the same file under another path or with
 * a new mtime (copied, touched) is the same source (not replayed twice). Its size and SHA-256 of its
 * first and last MiB: cheap on a 9 GB month, and two real files that agree on all three are the same
 * data in practice.
 */
import { createHash } from 'node:crypto';
import { type FileHandle, open } from 'node:fs/promises';
import { StorepulseError, errorMessage } from '../core/errors.js';

const EDGE_BYTES = 1 << 20;

export async function fileIdentity(file: string): Promise<string> {
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    throw new StorepulseError('INPUT', `cannot read ${file}: ${errorMessage(err)}`, { cause: err });
  }
  try {
    const { size } = await fh.stat();
    const hash = createHash('sha256').update(`${size}\n`);
    const buf = Buffer.allocUnsafe(Math.min(size, EDGE_BYTES));
    for (const at of size > EDGE_BYTES ? [0, size - EDGE_BYTES] : [0]) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, at);
      hash.update(buf.subarray(0, bytesRead));
    }
    return `${size}-${hash.digest('hex').slice(0, 32)}`;
  } finally {
    await fh.close();
  }
}
