/**
 * Where the lake is: the config file's `lake.location` (or a flag), a local folder or
 * `s3://bucket/prefix?region=…&endpoint=…`. Parsed strictly here, without the AWS SDK, so that a typo
 * is a usage error at start rather than a failed upload an hour into a run.
 */
import path from 'node:path';
import { awsUriParams } from '../../aws/uri.js';
import { StorepulseError } from '../../core/errors.js';

export type LakeLocation =
  | { kind: 'local'; dir: string }
  | { kind: 's3'; bucket: string; prefix: string; region?: string; endpoint?: string };

const LAKE_LOCATION_FORMS =
  "a folder (default: the data folder's lake/), or s3://BUCKET/PREFIX?region=REGION&endpoint=URL " +
  '(region and endpoint optional)';

/** S3's rules for a bucket name (without the legacy upper case and underscores). */
const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** Characters S3 documents as safe in keys; the prefix is a path of such segments. */
const SEGMENT_RE = /^[A-Za-z0-9!_.*'()=-]+$/;

/** Why `text` is not a lake location, or undefined when it is one. */
export function lakeLocationProblem(text: string): string | undefined {
  try {
    parseLakeLocation(text, '');
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * Parses a location; a local folder stays as given (relative to the current folder). `what` names
 * the setting in the error (e.g. `lake.location`); the error lists the accepted forms.
 */
export function parseLakeLocation(text: string, what: string): LakeLocation {
  const bad = (why: string) =>
    new StorepulseError(
      'USAGE',
      `${what ? `${what} ` : ''}${JSON.stringify(text)}: ${why}; use ${LAKE_LOCATION_FORMS}`,
    );
  if (text.trim() === '') throw bad('empty');
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(text)?.[1];
  if (scheme === undefined) return { kind: 'local', dir: text };
  if (scheme !== 's3') throw bad(`unknown scheme ${scheme}://`);
  const m = /^s3:\/\/([^/?#]*)(?:\/([^?#]*))?(?:\?([^#]*))?$/.exec(text);
  if (!m) throw bad('not an s3:// location');
  const [, bucket = '', rawPrefix = '', query] = m;
  if (!BUCKET_RE.test(bucket) || bucket.includes('..')) {
    throw bad(
      `bad bucket name "${bucket}" (3-63 of a-z 0-9 . -, starting and ending with a letter or digit)`,
    );
  }
  const prefix = rawPrefix.replace(/\/+$/, '');
  if (prefix !== '') {
    for (const segment of prefix.split('/')) {
      if (!SEGMENT_RE.test(segment) || segment === '.' || segment === '..') {
        throw bad(`bad prefix "${rawPrefix}" (segments of A-Z a-z 0-9 ! _ . * ' ( ) = -, no empty ones)`);
      }
    }
  }
  return { kind: 's3', bucket, prefix, ...awsUriParams(new URLSearchParams(query ?? ''), bad) };
}

/** A data folder's lake when the config names no other: `<dataDir>/lake`. */
export function defaultLakeDir(dataDir: string): string {
  return path.join(dataDir, 'lake');
}

/** The lake a run uses: `location` when set, else `<dataDir>/lake`. */
export function resolveLakeLocation(location: string | undefined, dataDir: string): LakeLocation {
  if (location === undefined) return { kind: 'local', dir: defaultLakeDir(dataDir) };
  const parsed = parseLakeLocation(location, 'lake.location');
  return parsed.kind === 'local' ? { kind: 'local', dir: path.resolve(parsed.dir) } : parsed;
}

/** A location as the user writes it (without the endpoint: messages stay short). */
export function formatLakeLocation(location: LakeLocation): string {
  if (location.kind === 'local') return location.dir;
  return `s3://${location.bucket}${location.prefix ? `/${location.prefix}` : ''}`;
}
