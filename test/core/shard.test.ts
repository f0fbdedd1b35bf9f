import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { evenRanges, HASH_KEY_MAX, hashKey, shardFor } from '../../src/core/shard.js';

describe('Kinesis shard choice', () => {
  it('hashes the partition key with MD5 as a 128-bit big-endian integer', () => {
    const hex = createHash('md5').update('2053013555631882655').digest('hex');
    expect(hashKey('2053013555631882655')).toBe(BigInt(`0x${hex}`));
  });

  it('splits the key space like CreateStream does', () => {
    const two = evenRanges(2);
    expect(two[0]!.endingHashKey).toBe(170141183460469231731687303715884105727n);
    expect(two[1]!.startingHashKey).toBe(170141183460469231731687303715884105728n);
    expect(two[1]!.endingHashKey).toBe(HASH_KEY_MAX);
    expect(() => evenRanges(0)).toThrow();
  });

  it('places every key in the range that holds its hash', () => {
    const ranges = evenRanges(7);
    for (let i = 0; i < 500; i++) {
      const key = String(2053013555631882655n + BigInt(i) * 7919n);
      const s = shardFor(key, ranges);
      const h = hashKey(key);
      expect(h >= ranges[s]!.startingHashKey && h <= ranges[s]!.endingHashKey).toBe(true);
    }
  });
});
