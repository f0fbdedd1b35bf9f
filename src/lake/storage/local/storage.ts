/**
 * The lake in a local folder (the default, `<dataDir>/lake`). Staging lives on the same file system
 * (the writer's `_staging/` inside the lake folder), so publishing is a rename: atomic, and free.
 */
import { copyFile, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { StorepulseError } from '../../../core/errors.js';
import { isTempName, writeFileAtomic } from '../../../fs/files.js';
import { fetchTempPath, type LakeObject, type LakeStorage } from '../types.js';

const isMissing = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

export class LocalLakeStorage implements LakeStorage {
  readonly kind = 'local';
  readonly location: string;

  constructor(readonly dir: string) {
    this.location = path.resolve(dir);
  }

  /** The file of a key; a key that would leave the lake folder is a bug of the caller. */
  pathOf(key: string): string {
    const parts = key.split('/');
    if (path.isAbsolute(key) || parts.some((p) => p === '' || p === '.' || p === '..')) {
      throw new StorepulseError('INTERNAL', `not a lake key: "${key}"`);
    }
    return path.join(this.location, ...parts);
  }

  async publish(from: string, key: string): Promise<void> {
    const to = this.pathOf(key);
    await mkdir(path.dirname(to), { recursive: true });
    try {
      await rename(from, to);
    } catch (err) {
      // Done already, by this writer before a crash or by another writer's recovery.
      if (!isMissing(err)) throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  async list(prefix: string): Promise<LakeObject[]> {
    const cut = prefix.lastIndexOf('/');
    const start = cut < 0 ? '' : prefix.slice(0, cut);
    const out: LakeObject[] = [];
    const walk = async (dirKey: string): Promise<void> => {
      let names: string[];
      try {
        names = await readdir(dirKey === '' ? this.location : this.pathOf(dirKey));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return;
        throw err;
      }
      for (const name of names) {
        // writeText's temporary files are not objects (S3 has none).
        if (isTempName(name)) continue;
        const key = dirKey === '' ? name : `${dirKey}/${name}`;
        // A folder is listed when a key below it may start with the prefix.
        if (!key.startsWith(prefix) && !prefix.startsWith(`${key}/`)) continue;
        const s = await stat(this.pathOf(key)).catch((err: unknown) =>
          isMissing(err) ? null : Promise.reject(err),
        );
        if (s?.isDirectory()) await walk(key);
        else if (s?.isFile() && key.startsWith(prefix)) {
          out.push({ key, bytes: s.size, etag: `${s.size}-${s.mtimeMs}` });
        }
      }
    };
    await walk(start);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async readText(key: string): Promise<string | undefined> {
    try {
      return await readFile(this.pathOf(key), 'utf8');
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  writeText(key: string, text: string): Promise<void> {
    return writeFileAtomic(this.pathOf(key), text);
  }

  async fetch(key: string, to: string): Promise<void> {
    const tmp = fetchTempPath(to);
    await mkdir(path.dirname(to), { recursive: true });
    try {
      await copyFile(this.pathOf(key), tmp);
      await rename(tmp, to);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  close(): void {}
}
