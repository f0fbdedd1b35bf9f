/** The events table of the lake: column names, DuckDB/Parquet types and meaning. See docs/lake.md. */
import type { ClickEvent } from '../core/event.js';

/** One row for the lake: an event, with its stream shard and sequence number when it came through one. */
export interface LakeRecord {
  event: ClickEvent;
  /** Shard id the record was read from, when it came through a stream. */
  shard?: string;
  /** Sequence number of the record in its shard (decimal text), when it came through a stream. */
  seq?: string;
}

export interface LakeColumn {
  name: string;
  /** DuckDB type as `DESCRIBE` prints it. */
  type: string;
  nullable: boolean;
  description: string;
}

export const EVENT_COLUMNS: readonly LakeColumn[] = [
  {
    name: 'event_time',
    type: 'TIMESTAMP',
    nullable: false,
    description:
      'UTC instant of the event (a plain TIMESTAMP that means UTC), microsecond storage, ms precision',
  },
  {
    name: 'event_type',
    type: 'VARCHAR',
    nullable: false,
    description: 'view | cart | remove_from_cart | purchase',
  },
  { name: 'product_id', type: 'BIGINT', nullable: false, description: 'product id' },
  {
    name: 'category_id',
    type: 'VARCHAR',
    nullable: false,
    description: '19-digit category id, kept as text (above 2^53)',
  },
  {
    name: 'category_code',
    type: 'VARCHAR',
    nullable: true,
    description: 'dotted category path; NULL when empty',
  },
  { name: 'brand', type: 'VARCHAR', nullable: true, description: 'lower-case brand; NULL when empty' },
  {
    name: 'price',
    type: 'DECIMAL(12,2)',
    nullable: true,
    description: 'price with two decimals; NULL only if above 9,999,999,999.99',
  },
  { name: 'user_id', type: 'BIGINT', nullable: false, description: 'user id' },
  { name: 'user_session', type: 'VARCHAR', nullable: true, description: 'session UUID; NULL when empty' },
  {
    name: 'txn_timestamp',
    type: 'TIMESTAMP',
    nullable: true,
    description: "simulator's send time (UTC); NULL for events that did not come through a stream",
  },
  { name: 'stream_shard', type: 'VARCHAR', nullable: true, description: 'shard id the record was read from' },
  {
    name: 'stream_seq',
    type: 'VARCHAR',
    nullable: true,
    description: 'sequence number of the record in its shard (decimal text)',
  },
];

/** The Hive partition column: not stored in the files, it comes from the folder name. */
export const PARTITION_COLUMN: LakeColumn = {
  name: 'event_date',
  type: 'DATE',
  nullable: false,
  description: 'UTC date of event_time, from the folder name event_date=YYYY-MM-DD',
};
