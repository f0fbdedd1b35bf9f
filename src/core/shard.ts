/** Kinesis shard choice: MD5 of the partition key, as a 128-bit integer, over the hash-key ranges. */
import { createHash } from 'node:crypto';

export const HASH_KEY_MAX = (1n << 128n) - 1n;

export interface HashKeyRange {
  startingHashKey: bigint;
  endingHashKey: bigint;
}

export function hashKey(partitionKey: string): bigint {
  const digest = createHash('md5').update(partitionKey, 'utf8').digest();
  return digest.readBigUInt64BE(0) * (1n << 64n) + digest.readBigUInt64BE(8);
}

/** The even split Kinesis makes when a stream is created with `count` shards. */
export function evenRanges(count: number): HashKeyRange[] {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`shard count must be a positive integer`);
  const size = (HASH_KEY_MAX + 1n) / BigInt(count);
  return Array.from({ length: count }, (_, i) => ({
    startingHashKey: size * BigInt(i),
    endingHashKey: i === count - 1 ? HASH_KEY_MAX : size * BigInt(i + 1) - 1n,
  }));
}

/** Index of the range holding the key's hash. Ranges are sorted and cover the whole key space. */
export function shardFor(partitionKey: string, ranges: readonly HashKeyRange[]): number {
  const h = hashKey(partitionKey);
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (h > ranges[mid]!.endingHashKey) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Shard choice with a memo of recent keys: partition keys repeat (a store has hundreds of categories),
 * and MD5 plus 128-bit arithmetic per record would dominate a replay. The memo is cleared when full.
 */
export function shardChooser(
  ranges: readonly HashKeyRange[],
  memo = 100_000,
): (partitionKey: string) => number {
  const cache = new Map<string, number>();
  return (key) => {
    let s = cache.get(key);
    if (s === undefined) {
      if (cache.size >= memo) cache.clear();
      s = shardFor(key, ranges);
      cache.set(key, s);
    }
    return s;
  };
}
