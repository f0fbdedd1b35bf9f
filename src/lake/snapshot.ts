/**
 * How readers see the lake whole while maintenance replaces files (commit.ts): the files are listed
 * between two reads of the same even generation, and a read that fails after the generation moved
 * (a listed file was replaced meanwhile) is run again on a fresh listing. Appends need none of
 * this: a new file is either listed or not, and each file is whole.
 */
import { StorepulseError } from '../core/errors.js';
import { sleep } from '../core/sleep.js';
import { lockHolder } from '../fs/lock.js';
import { MAINTENANCE_LOCK, readGeneration } from './commit.js';
import { emptyLakeError, type LakeFile, listLakeFiles } from './layout.js';

/** How long a reader waits for a replacement to finish before it gives up. */
const WAIT_MS = 60_000;
const POLL_MS = 50;
const ATTEMPTS = 5;

/**
 * Runs `read` on a consistent listing (`list`) of the lake's files. A generation left odd by a
 * maintenance run that is no longer alive is reported: its next run finishes the replacement.
 */
export async function withSnapshot<F, T>(
  lakeDir: string,
  list: () => Promise<F>,
  read: (files: F) => Promise<T>,
): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (let attempt = 1; ; attempt++) {
    const before = await readGeneration(lakeDir);
    if (before % 2 === 1) {
      if (lockHolder(lakeDir, MAINTENANCE_LOCK) === undefined) {
        throw new StorepulseError(
          'STATE',
          `the lake at ${lakeDir} is halfway through a maintenance run that stopped: run ` +
            '`storepulse lake compact` there to finish it',
        );
      }
      if (Date.now() > deadline) {
        throw new StorepulseError('STATE', `the lake at ${lakeDir} stayed in maintenance for over a minute`);
      }
      await sleep(POLL_MS);
      attempt--;
      continue;
    }
    // The listing itself can meet a file deleted between readdir and stat: the same retry.
    try {
      const files = await list();
      if ((await readGeneration(lakeDir)) !== before) continue;
      return await read(files);
    } catch (err) {
      if (attempt >= ATTEMPTS || (await readGeneration(lakeDir)) === before) throw err;
    }
  }
}

/** Runs `read` on a snapshot of the events table's files; a STATE error when there are none yet. */
export function withEventFiles<T>(lakeDir: string, read: (files: LakeFile[]) => Promise<T>): Promise<T> {
  return withSnapshot(
    lakeDir,
    () => listLakeFiles(lakeDir),
    (files) => {
      if (files.length === 0) throw emptyLakeError(lakeDir);
      return read(files);
    },
  );
}
