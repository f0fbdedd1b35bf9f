/**
 * Kinesis records as the Lambda event source mapping delivers them: base64 data, possibly
 * KPL-aggregated (magic F3 89 9A C2, a protobuf AggregatedRecord, then the MD5 of the protobuf), which
 * is opened into its user records with sub-sequence numbers, as the KCL does. A record that cannot be
 * opened becomes a dead-letter entry with the reason, never an exception: one bad record must not
 * fail (and so block) its shard.
 */
import { createHash } from 'node:crypto';
import protobuf from 'protobufjs';
import { errorMessage } from '../../core/errors.js';
import { type KinesisEventRecord, shardOfEvent } from './types.js';

const MAGIC = Buffer.from([0xf3, 0x89, 0x9a, 0xc2]);
const MD5_BYTES = 16;

/** The KPL's aggregation format (amazon-kinesis-producer aws/kinesis/protobuf/messages.proto). */
const KPL_PROTO = `
syntax = "proto2";
message AggregatedRecord {
  repeated string partition_key_table = 1;
  repeated string explicit_hash_key_table = 2;
  repeated Record records = 3;
}
message Tag { required string key = 1; optional string value = 2; }
message Record {
  required uint64 partition_key_index = 1;
  optional uint64 explicit_hash_key_index = 2;
  required bytes data = 3;
  repeated Tag tags = 4;
}`;

const AggregatedRecord = protobuf.parse(KPL_PROTO, { keepCase: true }).root.lookupType('AggregatedRecord');

interface DecodedAggregate {
  partition_key_table: string[];
  records: { partition_key_index: number; data: Uint8Array }[];
}

/** One user record: its position in the shard is (sequence number, sub-sequence number). */
export interface UserRecord {
  shardId: string;
  sequenceNumber: string;
  /** Index within a KPL-aggregated record; 0 for a plain record. */
  subSequence: number;
  partitionKey: string;
  data: string;
}

/** A record that could not be opened, for the dead letter. */
export interface BadRecord {
  shardId: string;
  sequenceNumber: string;
  subSequence: number;
  reason: string;
  /** The raw payload, base64, cut to 1 KiB. */
  raw: string;
}

export interface Opened {
  records: UserRecord[];
  bad: BadRecord[];
}

/** Opens every record of a batch, in order. */
export function openRecords(event: readonly KinesisEventRecord[]): Opened {
  const out: Opened = { records: [], bad: [] };
  for (const r of event) {
    try {
      openRecord(r, out);
    } catch (err) {
      // A record shaped unlike any Kinesis record: its own dead letter, never the batch's failure.
      out.bad.push({
        shardId: shardOfEvent(r),
        sequenceNumber: String(r.kinesis?.sequenceNumber ?? ''),
        subSequence: 0,
        reason: `unreadable Kinesis record: ${errorMessage(err)}`,
        raw: String(r.kinesis?.data ?? '').slice(0, 1024),
      });
    }
  }
  return out;
}

function openRecord(r: KinesisEventRecord, out: Opened): void {
  const shardId = shardOfEvent(r);
  const { sequenceNumber, partitionKey } = r.kinesis;
  const bad = (reason: string, subSequence = 0) =>
    out.bad.push({ shardId, sequenceNumber, subSequence, reason, raw: r.kinesis.data.slice(0, 1024) });
  const bytes = Buffer.from(r.kinesis.data, 'base64');
  if (!isAggregated(bytes)) {
    out.records.push({ shardId, sequenceNumber, subSequence: 0, partitionKey, data: bytes.toString('utf8') });
    return;
  }
  const body = bytes.subarray(MAGIC.length, bytes.length - MD5_BYTES);
  const digest = createHash('md5').update(body).digest();
  if (!digest.equals(bytes.subarray(bytes.length - MD5_BYTES))) {
    bad('KPL aggregated record: the MD5 does not match its content');
    return;
  }
  let agg: DecodedAggregate;
  try {
    agg = AggregatedRecord.toObject(AggregatedRecord.decode(body), {
      arrays: true,
      defaults: true,
      longs: Number,
    }) as DecodedAggregate;
  } catch (err) {
    bad(`KPL aggregated record: not a protobuf AggregatedRecord (${errorMessage(err)})`);
    return;
  }
  agg.records.forEach((u, i) => {
    const k = u.partition_key_index;
    const key = agg.partition_key_table[k];
    if (key === undefined) {
      bad(
        `KPL aggregated record: user record ${i} names partition key ${k} of ${agg.partition_key_table.length}`,
        i,
      );
      return;
    }
    out.records.push({
      shardId,
      sequenceNumber,
      subSequence: i,
      partitionKey: key,
      data: Buffer.from(u.data).toString('utf8'),
    });
  });
}

function isAggregated(bytes: Buffer): boolean {
  return bytes.length > MAGIC.length + MD5_BYTES && bytes.subarray(0, MAGIC.length).equals(MAGIC);
}

/** -1, 0 or 1: the order of two positions in a shard (sequence numbers are decimal, up to 128 bits). */
export function comparePosition(a: Position, b: Position): number {
  const x = BigInt(a.sequenceNumber);
  const y = BigInt(b.sequenceNumber);
  if (x !== y) return x < y ? -1 : 1;
  return Math.sign(a.subSequence - b.subSequence);
}

export interface Position {
  sequenceNumber: string;
  subSequence: number;
}
