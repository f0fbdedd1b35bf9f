/**
 * A single-writer lock: `<dir>/writer.lock`, created with O_EXCL and holding the writer's pid. The
 * embedded stream (one writer per stream) and the lake (one writer per lake) each take one. A lock
 * whose pid is no longer alive (the writer was killed, e.g. `kill -9`) is taken over.
 */
import { closeSync, linkSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StorepulseError, ioError } from '../core/errors.js';

const LOCK_NAME = 'writer.lock';

export interface WriterLock {
  readonly file: string;
  /** Present when a stale lock was taken over: the pid that had left it behind. */
  readonly takenFrom?: number;
  release(): void;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8').split('\n')[0] ?? '', 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** What a lock protects, for its messages: e.g. `stream raw`, and what to do instead of waiting. */
export interface LockedThing {
  what: string;
  /** Appended to the "locked" error, e.g. how to run without writing to it. */
  hint?: string;
}

function lockedError(thing: LockedThing, file: string, pid: number | undefined): StorepulseError {
  const who =
    pid === process.pid ? 'this process already has it open for writing' : `process ${pid} is writing to it`;
  return new StorepulseError(
    'STATE',
    `${thing.what} is locked by another writer: ${who} (${file}). It takes one writer at a time; ` +
      `stop the other writer${thing.hint ? `, ${thing.hint}` : ''}, or delete the lock file if you are ` +
      'sure no process uses it.',
  );
}

/** The pid of the live process holding `<dir>/<name>`, or undefined when none does. */
export function lockHolder(dir: string, name = LOCK_NAME): number | undefined {
  const pid = readPid(path.join(dir, name));
  return pid !== undefined && isAlive(pid) ? pid : undefined;
}

/** Takes `<dir>/<name>` (default `writer.lock`). */
export function acquireWriterLock(dir: string, thing: LockedThing, name = LOCK_NAME): WriterLock {
  const file = path.join(dir, name);
  let takenFrom: number | undefined;
  for (let attempt = 0; attempt < 5; attempt++) {
    let fd: number;
    try {
      fd = openSync(file, 'wx', 0o644);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw ioError(`cannot create ${file}`, err);
      }
      const pid = readPid(file);
      if (pid !== undefined && (pid === process.pid || isAlive(pid))) throw lockedError(thing, file, pid);
      // Stale (or unreadable, e.g. cut short by a crash). Move it aside before deleting it, so that
      // of two processes taking it over at once only one succeeds, and check that what was moved is
      // still the stale lock and not a fresh one the other process just made.
      const aside = `${file}.stale-${process.pid}-${Date.now()}`;
      try {
        renameSync(file, aside);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw e;
      }
      const moved = readPid(aside);
      if (moved !== pid && moved !== undefined && isAlive(moved)) {
        try {
          linkSync(aside, file);
        } catch {
          // Someone made a new lock meanwhile; theirs stands.
        }
        unlinkSync(aside);
        throw lockedError(thing, file, moved);
      }
      unlinkSync(aside);
      takenFrom = pid ?? 0;
      continue;
    }
    try {
      writeSync(fd, `${process.pid}\n${os.hostname()}\n${new Date().toISOString()}\n`);
    } finally {
      closeSync(fd);
    }
    let released = false;
    return {
      file,
      ...(takenFrom !== undefined ? { takenFrom } : {}),
      release() {
        if (released) return;
        released = true;
        // Only our own lock: never one that a later writer took over.
        if (readPid(file) === process.pid) {
          try {
            unlinkSync(file);
          } catch {
            // Already gone.
          }
        }
      },
    };
  }
  throw new StorepulseError('STATE', `${thing.what}: could not take the writer lock ${file}`);
}
