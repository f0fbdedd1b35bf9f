/**
 * The lake storage contract: where published lake files and the lake's small state objects live.
 * The commit protocol (lake/commit.ts) stages files in a local folder on the writer's machine and
 * publishes them through this contract; readers list and fetch through it.
 *
 * Backends, in folders with the same file names:
 * - local/: a folder (`<dataDir>/lake` by default); publishing is a rename within one file system;
 * - s3/: an S3 bucket and prefix (AWS SDK v3); publishing is an upload, multipart above a threshold.
 *
 * One conformance suite (test/lake/storage-conformance.test.ts) runs against both; docs/lake-s3.md
 * documents the S3 lake.
 *
 * Keys are relative, `/`-separated paths inside the lake: `events/event_date=2019-10-01/part-….parquet`,
 * `_progress/embedded%3Araw.json`, `_generation`. An object appears whole or not at all, in both
 * backends: that is what lets a reader list the lake while a writer publishes into it.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';

export type LakeStorageKind = 'local' | 's3';

export interface LakeObject {
  key: string;
  bytes: number;
  /** Changes whenever the content does (S3's ETag; local: size and modification time). */
  etag: string;
}

export interface LakeStorage {
  readonly kind: LakeStorageKind;
  /** Where the lake is, for messages and docs: a folder, or `s3://bucket/prefix`. */
  readonly location: string;
  /**
   * Makes the local file `from` appear under `key`, whole or not at all, replacing what was there.
   * Local: a rename (`from` is gone afterwards); S3: an upload (`from` stays, the caller removes its
   * staging). A missing `from` counts as published already (a rename before a crash moved it); the
   * commit protocol removes staged files only after their commit is done.
   */
  publish(from: string, key: string): Promise<void>;
  /** Removes `key`; a key that is not there is no error. */
  delete(key: string): Promise<void>;
  /** Every object whose key starts with `prefix` (e.g. `events/`), sorted by key, at any depth. */
  list(prefix: string): Promise<LakeObject[]>;
  /** A small object's text (progress, generation); undefined when there is none. */
  readText(key: string): Promise<string | undefined>;
  /** Replaces a small object so that a reader sees the old or the new text, never a mix. */
  writeText(key: string, text: string): Promise<void>;
  /** Copies `key` to the local file `to`, which appears whole (written aside, then renamed). */
  fetch(key: string, to: string): Promise<void>;
  /** Releases connections; the storage is not used afterwards. */
  close(): void;
}

/** Where a fetch writes before its rename: a hidden temporary name, which every lake reader skips. */
export function fetchTempPath(to: string): string {
  return path.join(path.dirname(to), `.${path.basename(to)}.${randomBytes(4).toString('hex')}.tmp`);
}
