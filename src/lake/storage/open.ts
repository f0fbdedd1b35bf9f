/**
 * From a lake location (location.ts) to what the writer and the commit protocol take: the local lake
 * folder (lock, staging, manifests) and the storage files are published to. The AWS SDK loads only
 * for an S3 lake.
 */
import path from 'node:path';
import { LocalLakeStorage } from './local/storage.js';
import type { LakeLocation } from './location.js';
import type { LakeStorage } from './types.js';

/** Where the writer stages files for an S3 lake: on its own machine, inside the data folder. */
const S3_STAGING_DIR = 'lake-staging';

export interface LakeTarget {
  location: LakeLocation;
  /** The local lake folder: the lake itself, or for an S3 lake `<dataDir>/lake-staging`. */
  dir: string;
  storage: LakeStorage;
  /** Releases the storage's connections. */
  close(): void;
}

export async function openLakeTarget(location: LakeLocation, dataDir: string): Promise<LakeTarget> {
  if (location.kind === 'local') {
    const storage = new LocalLakeStorage(location.dir);
    return { location, dir: location.dir, storage, close: () => storage.close() };
  }
  const { S3LakeStorage } = await import('./s3/storage.js');
  const storage = new S3LakeStorage({
    bucket: location.bucket,
    prefix: location.prefix,
    region: location.region,
    endpoint: location.endpoint,
  });
  return { location, dir: path.join(dataDir, S3_STAGING_DIR), storage, close: () => storage.close() };
}
