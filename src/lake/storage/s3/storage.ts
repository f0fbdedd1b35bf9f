/**
 * The lake in an S3 bucket under a prefix (AWS SDK v3; the reference's Firehose → S3 copy). Staging
 * stays on the writer's machine; publishing uploads a staged file. An S3 object appears whole or not
 * at all once its PutObject or CompleteMultipartUpload succeeds, which is what the commit protocol
 * needs of a rename. A multipart upload that fails is aborted, so no parts are left to pay for.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import {
  type AwsCredentials,
  awsCall,
  awsClient,
  awsErrorCode,
  type AwsTarget,
  s3EndpointConfig,
} from '../../../aws/sdk.js';
import { RETRY_DEFAULTS } from '../../../core/retry.js';
import { fetchTempPath, type LakeObject, type LakeStorage } from '../types.js';

/** Files up to this size go up in one PutObject, larger ones in parts of this size. */
const DEFAULT_PART_BYTES = 16 * 1024 * 1024;
/** S3's smallest part (but the last). */
const MIN_PART_BYTES = 5 * 1024 * 1024;
/**
 * Parts in flight at once per file: memory is about this many parts per upload (the commit protocol
 * publishes up to four files at once, so at most 4 × 2 × 16 MiB are buffered).
 */
const PARTS_IN_FLIGHT = 2;

export interface S3LakeStorageOptions {
  bucket: string;
  /** Key prefix of the lake, without a leading or trailing `/`; '' for the bucket's root. */
  prefix: string;
  /** Default from the AWS environment or config files, else 'us-east-1'. */
  region?: string;
  /** Another endpoint than AWS's, e.g. an emulator's http://127.0.0.1:4568 (path-style). */
  endpoint?: string;
  /** Static credentials (emulators take any); otherwise the AWS SDK's default provider chain. */
  credentials?: AwsCredentials;
  /** Multipart part size and threshold (at least 5 MiB, S3's minimum part); default 16 MiB. */
  partBytes?: number;
  /** Retries of a failed call (a whole upload or download is tried again). */
  maxRetries?: number;
  /** Keys per ListObjectsV2 page (S3's maximum and default is 1,000; tests use fewer). */
  pageSize?: number;
}

export class S3LakeStorage implements LakeStorage {
  readonly kind = 's3';
  readonly location: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly partBytes: number;
  private readonly maxRetries: number;
  private readonly pageSize: number | undefined;

  constructor(opts: S3LakeStorageOptions) {
    this.bucket = opts.bucket;
    this.prefix = opts.prefix;
    this.location = `s3://${opts.bucket}${opts.prefix ? `/${opts.prefix}` : ''}`;
    this.partBytes = Math.max(opts.partBytes ?? DEFAULT_PART_BYTES, MIN_PART_BYTES);
    this.maxRetries = opts.maxRetries ?? RETRY_DEFAULTS.maxRetries;
    this.pageSize = opts.pageSize;
    const { region, endpoint, credentials } = opts;
    this.client = awsClient(S3Client, { region, endpoint, credentials }, s3EndpointConfig(endpoint));
  }

  private s3Key(key: string): string {
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  private call<T>(op: string, key: string, fn: () => Promise<T>): Promise<T> {
    const target: AwsTarget = {
      service: 'S3',
      resource: `object ${this.location}/${key}`,
      maxRetries: this.maxRetries,
    };
    return awsCall(target, op, fn);
  }

  async publish(from: string, key: string): Promise<void> {
    const size = await stat(from).then(
      (s) => s.size,
      (err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? undefined : Promise.reject(err)),
    );
    if (size === undefined) return;
    await this.call('Upload', key, () =>
      new Upload({
        client: this.client,
        params: {
          Bucket: this.bucket,
          Key: this.s3Key(key),
          Body: createReadStream(from),
          // Known length: lib-storage checks it uploaded every part it expected, so a file that
          // shrank under it fails rather than publishing a short object.
          ContentLength: size,
        },
        partSize: this.partBytes,
        queueSize: PARTS_IN_FLIGHT,
        leavePartsOnError: false,
      }).done(),
    );
  }

  async delete(key: string): Promise<void> {
    await this.call('DeleteObject', key, () =>
      this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.s3Key(key) })),
    );
  }

  async list(prefix: string): Promise<LakeObject[]> {
    const out: LakeObject[] = [];
    const strip = this.prefix ? this.prefix.length + 1 : 0;
    let token: string | undefined;
    do {
      const page = await this.call('ListObjectsV2', `${prefix}*`, () =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.s3Key(prefix),
            ContinuationToken: token,
            MaxKeys: this.pageSize,
          }),
        ),
      );
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined) continue;
        out.push({ key: o.Key.slice(strip), bytes: o.Size ?? 0, etag: o.ETag ?? '' });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async readText(key: string): Promise<string | undefined> {
    try {
      return await this.call('GetObject', key, async () => {
        const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.s3Key(key) }));
        return (await r.Body?.transformToString('utf8')) ?? '';
      });
    } catch (err) {
      if (awsErrorCode(err) === 'NoSuchKey') return undefined;
      throw err;
    }
  }

  async writeText(key: string, text: string): Promise<void> {
    await this.call('PutObject', key, () =>
      this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.s3Key(key),
          Body: text,
          ContentType: 'application/json',
        }),
      ),
    );
  }

  async fetch(key: string, to: string): Promise<void> {
    await mkdir(path.dirname(to), { recursive: true });
    await this.call('GetObject', key, async () => {
      const tmp = fetchTempPath(to);
      try {
        const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.s3Key(key) }));
        await pipeline(r.Body as Readable, createWriteStream(tmp));
        await rename(tmp, to);
      } catch (err) {
        await rm(tmp, { force: true });
        throw err;
      }
    });
  }

  close(): void {
    this.client.destroy();
  }
}
