/**
 * The ETL (the reference's Glue ETL job): builds the `clean` table from `events`, partition by
 * partition, in the same Hive layout (docs/etl.md has its schema):
 *
 * - exact duplicates removed: rows equal in all nine dataset fields (NULL equal to NULL). The
 *   delivery columns (txn_timestamp, stream_shard, stream_seq) are left out of the comparison and of
 *   the table: they say how a row arrived, not what happened, so a row the source holds twice is one
 *   event however it came in;
 * - `category_code` split into its first three levels and the rest;
 * - flags for an empty brand and an empty category code;
 * - `is_bot`: the user is one the alert store flagged (batch/flagged.ts).
 *
 * Incremental: `<lake>/_etl/clean.json` keeps, per partition, a fingerprint of the source files and
 * one of the flagged-user set it was built from. A run rebuilds only the partitions whose
 * fingerprints changed (or whose clean files are gone), each by one replacing commit, so a reader
 * of `clean` never sees a partition half rebuilt, and a crash between a commit and the state write
 * only costs that partition's rebuild on the next run. Clean partitions whose source partition was
 * removed (retention) stay: the clean table usually outlives the raw copy; trim it with
 * `lake retention --table clean`.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { FLAGGED_USERS_TABLE, createFlaggedUsers } from '../batch/flagged.js';
import { StorepulseError, ioError } from '../core/errors.js';
import { writeFileAtomic } from '../fs/files.js';
import {
  DEFAULT_TARGET_MB,
  byPartition,
  parquetList,
  rewritePartition,
  sumBytes,
  withMaintenance,
} from './compact.js';
import { queryPlain } from './duckdb.js';
import { EVENTS_TABLE, type LakeFile, emptyLakeError, listTableFiles } from './layout.js';

export const CLEAN_TABLE = 'clean';
/** Part of every fingerprint: a change to the table's definition below rebuilds every partition. */
const ETL_VERSION = 1;

/** Where the ETL keeps its state; `_` so that readers skip it, like the lake's other bookkeeping. */
export function etlStatePath(lakeDir: string): string {
  return path.join(lakeDir, '_etl', `${CLEAN_TABLE}.json`);
}

interface PartitionState {
  /** sha256 of the source files' names and sizes (published files are never rewritten in place). */
  source: string;
  /** sha256 of the sorted flagged user ids. */
  flagged: string;
  rows: number;
}

interface EtlState {
  version: number;
  partitions: Record<string, PartitionState>;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

function sourceFingerprint(files: readonly LakeFile[]): string {
  return sha256(JSON.stringify([ETL_VERSION, files.map((f) => [path.basename(f.path), f.bytes])]));
}

function flaggedFingerprint(userIds: readonly number[]): string {
  return sha256(JSON.stringify([...new Set(userIds)].sort((a, b) => a - b)));
}

async function readState(lakeDir: string): Promise<EtlState> {
  const file = etlStatePath(lakeDir);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: ETL_VERSION, partitions: {} };
    throw ioError(`cannot read the ETL state ${file}`, err);
  }
  try {
    const state = JSON.parse(text) as EtlState;
    // Another version's table is rebuilt whole.
    return state.version === ETL_VERSION ? state : { version: ETL_VERSION, partitions: {} };
  } catch (err) {
    throw new StorepulseError(
      'STATE',
      `the ETL state ${file} is not valid JSON: delete it to rebuild (--full)`,
      {
        cause: err,
      },
    );
  }
}

/** The nine dataset fields: what "exact duplicate" compares. */
const EVENT_FIELDS =
  'event_time, event_type, product_id, category_id, category_code, brand, price, user_id, user_session';

/** The clean rows of the given source files (with FLAGGED_USERS_TABLE in the database). */
export function cleanRows(files: readonly LakeFile[]): string {
  return `
    SELECT event_time, event_type, product_id, category_id, category_code,
      nullif(levels[1], '') AS category_l1,
      nullif(levels[2], '') AS category_l2,
      nullif(levels[3], '') AS category_l3,
      CASE WHEN len(levels) > 3 THEN array_to_string(levels[4:], '.') END AS category_rest,
      brand, price, user_id, user_session,
      coalesce(brand, '') = '' AS brand_empty,
      coalesce(category_code, '') = '' AS category_empty,
      user_id IN (SELECT user_id FROM ${FLAGGED_USERS_TABLE}) AS is_bot
    FROM (
      SELECT DISTINCT ${EVENT_FIELDS}, string_split(category_code, '.') AS levels
      FROM read_parquet(${parquetList(files)}, union_by_name = true)
    )`;
}

export interface EtlOptions {
  /** The alert store's flagged users (AlertStore.alertedUsers). */
  flaggedUsers: readonly number[];
  /** Rebuild every partition, whatever the state says. */
  full?: boolean;
  /** Default DEFAULT_TARGET_MB. */
  targetBytes?: number;
  /** Source bytes done and in all, after each partition. */
  onProgress?: (done: number, total: number) => void;
}

export interface RebuiltPartition {
  partition: string;
  sourceRows: number;
  rows: number;
  duplicates: number;
  botRows: number;
  files: number;
  bytes: number;
}

export interface EtlSummary {
  rebuilt: RebuiltPartition[];
  /** Partitions whose clean files are up to date. */
  unchanged: string[];
  /** Clean partitions whose source partition is gone: kept (see the file comment). */
  orphans: string[];
}

export async function runEtl(lakeDir: string, opts: EtlOptions): Promise<EtlSummary> {
  const targetBytes = opts.targetBytes ?? DEFAULT_TARGET_MB * 1024 * 1024;
  return withMaintenance(path.resolve(lakeDir), async (run) => {
    const sources = byPartition(await listTableFiles(run.lakeDir, EVENTS_TABLE));
    if (sources.size === 0) throw emptyLakeError(run.lakeDir);
    const cleaned = byPartition(await listTableFiles(run.lakeDir, CLEAN_TABLE));
    const state = opts.full ? { version: ETL_VERSION, partitions: {} } : await readState(run.lakeDir);
    const flagged = flaggedFingerprint(opts.flaggedUsers);
    const summary: EtlSummary = {
      rebuilt: [],
      unchanged: [],
      orphans: [...cleaned.keys()].filter((p) => !sources.has(p)),
    };
    const todo: [string, LakeFile[], string][] = [];
    for (const [partition, files] of sources) {
      const source = sourceFingerprint(files);
      const was = state.partitions[partition];
      if (was?.source === source && was.flagged === flagged && cleaned.has(partition)) {
        summary.unchanged.push(partition);
      } else todo.push([partition, files, source]);
    }
    if (todo.length === 0) return summary;
    await createFlaggedUsers(run.db.connection, opts.flaggedUsers);
    const total = todo.reduce((n, [, files]) => n + sumBytes(files), 0);
    let done = 0;
    opts.onProgress?.(0, total);
    for (const [partition, files, source] of todo) {
      const meta = await queryPlain(
        run.db.connection,
        `SELECT sum(num_rows) AS n FROM parquet_file_metadata(${parquetList(files)})`,
      );
      const sourceRows = Number(meta.rows[0]?.n ?? 0);
      const written = await rewritePartition(run, {
        table: CLEAN_TABLE,
        partition,
        rows: cleanRows(files),
        replaces: (cleaned.get(partition) ?? []).map((f) => f.path),
        estimateBytes: sumBytes(files),
        targetBytes,
        tag: 'etl',
      });
      const bots = await queryPlain(
        run.db.connection,
        `SELECT count(*) AS n FROM read_parquet(${parquetList(written.files)}) WHERE is_bot`,
      );
      summary.rebuilt.push({
        partition,
        sourceRows,
        rows: written.rows,
        duplicates: sourceRows - written.rows,
        botRows: Number(bots.rows[0]?.n ?? 0),
        files: written.files.length,
        bytes: sumBytes(written.files),
      });
      state.partitions[partition] = { source, flagged, rows: written.rows };
      await writeFileAtomic(etlStatePath(run.lakeDir), JSON.stringify(state));
      done += sumBytes(files);
      opts.onProgress?.(done, total);
    }
    return summary;
  });
}
