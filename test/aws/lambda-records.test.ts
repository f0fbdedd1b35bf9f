/** Kinesis records as Lambda delivers them: base64, KPL aggregation, bad records as dead letters. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { comparePosition, openRecords } from '../../src/aws/lambda/records.js';
import type { KinesisEventRecord } from '../../src/aws/lambda/types.js';
import { kplAggregate } from '../helpers/lambda-aws.js';

function record(seq: string, data: Buffer, key = 'k'): KinesisEventRecord {
  return {
    eventSource: 'aws:kinesis',
    eventSourceARN: 'arn:aws:kinesis:us-east-1:123456789012:stream/s',
    eventID: `shardId-000000000002:${seq}`,
    eventName: 'aws:kinesis:record',
    kinesis: {
      partitionKey: key,
      sequenceNumber: seq,
      data: data.toString('base64'),
      approximateArrivalTimestamp: 1,
    },
  };
}

describe('openRecords', () => {
  it('opens plain and KPL-aggregated records with sub-sequence numbers, in order', () => {
    const agg = kplAggregate([
      { partitionKey: 'a', data: 'one' },
      { partitionKey: 'b', data: 'two' },
      { partitionKey: 'a', data: 'three' },
    ]);
    const { records, bad } = openRecords([record('10', Buffer.from('plain')), record('11', agg)]);
    expect(bad).toEqual([]);
    expect(records.map((r) => [r.shardId, r.sequenceNumber, r.subSequence, r.partitionKey, r.data])).toEqual([
      ['shardId-000000000002', '10', 0, 'k', 'plain'],
      ['shardId-000000000002', '11', 0, 'a', 'one'],
      ['shardId-000000000002', '11', 1, 'b', 'two'],
      ['shardId-000000000002', '11', 2, 'a', 'three'],
    ]);
  });

  it('turns a bad checksum or a bad protobuf into a dead letter with the reason, and goes on', () => {
    const sum = kplAggregate([{ partitionKey: 'a', data: 'x' }]);
    sum[sum.length - 1] = sum[sum.length - 1]! ^ 1;
    // Field 3 (records) says 5 bytes follow, and one does: a truncated protobuf with a valid MD5.
    const body = Buffer.from([0x1a, 0x05, 0xff]);
    const proto = Buffer.concat([
      Buffer.from([0xf3, 0x89, 0x9a, 0xc2]),
      body,
      createHash('md5').update(body).digest(),
    ]);
    const { records, bad } = openRecords([
      record('1', sum),
      record('2', proto),
      record('3', Buffer.from('ok')),
    ]);
    expect(records.map((r) => r.data)).toEqual(['ok']);
    expect(bad.map((b) => [b.sequenceNumber, b.reason.split(' (')[0]])).toEqual([
      ['1', 'KPL aggregated record: the MD5 does not match its content'],
      ['2', 'KPL aggregated record: not a protobuf AggregatedRecord'],
    ]);
  });

  it('orders positions by sequence number as a number, then sub-sequence', () => {
    const p = (s: string, sub = 0) => ({ sequenceNumber: s, subSequence: sub });
    expect(comparePosition(p('9'), p('10'))).toBe(-1);
    expect(
      comparePosition(
        p('49590338271490256608559692538361571095921575989136588898'),
        p('49590338271490256608559692538361571095921575989136588897'),
      ),
    ).toBe(1);
    expect(comparePosition(p('5', 2), p('5', 1))).toBe(1);
    expect(comparePosition(p('5', 1), p('5', 1))).toBe(0);
  });
});
