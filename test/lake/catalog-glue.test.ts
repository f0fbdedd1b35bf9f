import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StorepulseError } from '../../src/core/errors.js';
import { crawlLake, type TableRegistration } from '../../src/lake/crawl.js';
import { openDuckDB, sqlString } from '../../src/lake/duckdb.js';
import {
  GLUE_PARTITION_BATCH,
  glueBatchCreatePartitions,
  glueCreateTable,
  glueType,
} from '../../src/lake/glue.js';
import { EVENT_COLUMNS } from '../../src/lake/schema.js';
import { LakeWriter } from '../../src/lake/writer.js';
import { ev } from '../helpers/events.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'storepulse-glue-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/**
 * The Glue API reference's structures (CreateTable, BatchCreatePartition, TableInput,
 * StorageDescriptor, SerDeInfo, Column, PartitionInput): the fields each may have, the required ones
 * and the length limits of the strings. A field outside a structure (a typo) fails as well.
 */
type Shape = Record<string, { required?: boolean; check: (v: unknown, at: string) => string[] }>;

const str =
  (min: number, max: number) =>
  (v: unknown, at: string): string[] =>
    typeof v === 'string' && Buffer.byteLength(v) >= min && Buffer.byteLength(v) <= max
      ? []
      : [`${at}: a string of ${min}..${max} bytes, got ${JSON.stringify(v)}`];

const list =
  (item: (v: unknown, at: string) => string[], max = Infinity) =>
  (v: unknown, at: string): string[] =>
    Array.isArray(v) && v.length <= max
      ? v.flatMap((x, i) => item(x, `${at}[${i}]`))
      : [`${at}: a list of at most ${max}`];

const params = (v: unknown, at: string): string[] =>
  typeof v === 'object' && v !== null && !Array.isArray(v)
    ? Object.entries(v).flatMap(([k, x]) => [
        ...str(1, 255)(k, `${at} key`),
        ...str(0, 512000)(x, `${at}.${k}`),
      ])
    : [`${at}: a string map`];

const struct =
  (shape: Shape) =>
  (v: unknown, at: string): string[] => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return [`${at}: an object`];
    const o = v as Record<string, unknown>;
    return [
      ...Object.keys(o)
        .filter((k) => !(k in shape))
        .map((k) => `${at}.${k}: no such field`),
      ...Object.entries(shape).flatMap(([k, f]) =>
        o[k] === undefined ? (f.required ? [`${at}.${k}: required`] : []) : f.check(o[k], `${at}.${k}`),
      ),
    ];
  };

const COLUMN = struct({
  Name: { required: true, check: str(1, 255) },
  Type: { check: str(0, 131072) },
  Comment: { check: str(0, 255) },
  Parameters: { check: params },
});
const STORAGE_DESCRIPTOR = struct({
  Columns: { check: list(COLUMN) },
  Location: { check: str(0, 2056) },
  InputFormat: { check: str(0, 128) },
  OutputFormat: { check: str(0, 128) },
  Compressed: { check: (v, at) => (typeof v === 'boolean' ? [] : [`${at}: boolean`]) },
  SerdeInfo: {
    check: struct({
      Name: { check: str(1, 255) },
      SerializationLibrary: { check: str(1, 255) },
      Parameters: { check: params },
    }),
  },
  Parameters: { check: params },
});
const CREATE_TABLE = struct({
  CatalogId: { check: str(1, 255) },
  DatabaseName: { required: true, check: str(1, 255) },
  TableInput: {
    required: true,
    check: struct({
      Name: { required: true, check: str(1, 255) },
      Description: { check: str(0, 2048) },
      TableType: { check: str(0, 255) },
      Parameters: { check: params },
      PartitionKeys: { check: list(COLUMN) },
      StorageDescriptor: { check: STORAGE_DESCRIPTOR },
    }),
  },
});
const BATCH_CREATE_PARTITION = struct({
  CatalogId: { check: str(1, 255) },
  DatabaseName: { required: true, check: str(1, 255) },
  TableName: { required: true, check: str(1, 255) },
  PartitionInputList: {
    required: true,
    check: list(
      struct({
        Values: { required: true, check: list(str(0, 1024)) },
        StorageDescriptor: { check: STORAGE_DESCRIPTOR },
        Parameters: { check: params },
      }),
      100,
    ),
  },
});

/** Athena's DDL reserved words (a name among them would need backticks in every DDL statement). */
const DDL_RESERVED = new Set(
  `ALL ALTER AND ARRAY AS AUTHORIZATION BETWEEN BIGINT BINARY BOOLEAN BOTH BY CASE CASHE CAST CHAR COLUMN CONF
  CONSTRAINT COMMIT CREATE CROSS CUBE CURRENT CURRENT_DATE CURRENT_TIMESTAMP CURSOR DATABASE DATE DAYOFWEEK DECIMAL
  DELETE DESCRIBE DISTINCT DOUBLE DROP ELSE END EXCHANGE EXISTS EXTENDED EXTERNAL EXTRACT FALSE FETCH FLOAT FLOOR
  FOLLOWING FOR FOREIGN FROM FULL FUNCTION GRANT GROUP GROUPING HAVING IF IMPORT IN INNER INSERT INT INTEGER INTERSECT
  INTERVAL INTO IS JOIN LATERAL LEFT LESS LIKE LOCAL MACRO MAP MORE NONE NOT NULL NUMERIC OF ON ONLY OR ORDER OUT OUTER
  OVER PARTIALSCAN PARTITION PERCENT PRECEDING PRECISION PRESERVE PRIMARY PROCEDURE RANGE READS REDUCE REGEXP
  REFERENCES REVOKE RIGHT RLIKE ROLLBACK ROLLUP ROW ROWS SELECT SET SMALLINT START TABLE TABLESAMPLE THEN TIME
  TIMESTAMP TO TRANSFORM TRIGGER TRUE TRUNCATE UNBOUNDED UNION UNIQUEJOIN UPDATE USER USING UTC_TIMESTAMP VALUES
  VARCHAR VIEWS WHEN WHERE WINDOW WITH`.split(/\s+/),
);

/** A name Athena takes in DDL as is: lower case, letters, digits and `_`, not starting with `_`, not reserved. */
function plainAthenaName(name: string): boolean {
  return /^[a-z][a-z0-9_]{0,254}$/.test(name) && !DDL_RESERVED.has(name.toUpperCase());
}

const OPTS = { database: 'storepulse', location: 's3://my-bucket/lake' };
let events: TableRegistration;

beforeAll(async () => {
  const lakeDir = path.join(root, 'lake');
  const w = await LakeWriter.open({ lakeDir });
  await w.write([0, 1, 2].map((i) => ({ event: ev(i, i * 86_400_000) })));
  await w.close();
  events = (await crawlLake(lakeDir))[0]!.registration;
});

describe('glueType', () => {
  it('maps DuckDB types to Glue/Hive types, nested ones included', () => {
    expect(
      Object.fromEntries(
        [
          'TIMESTAMP',
          'DECIMAL(12,2)',
          'VARCHAR',
          'BIGINT',
          'DATE',
          'INTEGER',
          'SMALLINT',
          'TINYINT',
          'DOUBLE',
          'FLOAT',
          'BOOLEAN',
          'BLOB',
          'VARCHAR[]',
          'INTEGER[][]',
          'MAP(VARCHAR, BIGINT)',
          'STRUCT(l1 VARCHAR, "n" DECIMAL(38, 0), tags VARCHAR[])',
          'STRUCT(a STRUCT(b INTEGER, c MAP(VARCHAR, DOUBLE)))[]',
        ].map((t) => [t, glueType(t)]),
      ),
    ).toEqual({
      TIMESTAMP: 'timestamp',
      'DECIMAL(12,2)': 'decimal(12,2)',
      VARCHAR: 'string',
      BIGINT: 'bigint',
      DATE: 'date',
      INTEGER: 'int',
      SMALLINT: 'smallint',
      TINYINT: 'tinyint',
      DOUBLE: 'double',
      FLOAT: 'float',
      BOOLEAN: 'boolean',
      BLOB: 'binary',
      'VARCHAR[]': 'array<string>',
      'INTEGER[][]': 'array<array<int>>',
      'MAP(VARCHAR, BIGINT)': 'map<string,bigint>',
      'STRUCT(l1 VARCHAR, "n" DECIMAL(38, 0), tags VARCHAR[])':
        'struct<l1:string,n:decimal(38,0),tags:array<string>>',
      'STRUCT(a STRUCT(b INTEGER, c MAP(VARCHAR, DOUBLE)))[]':
        'array<struct<a:struct<b:int,c:map<string,double>>>>',
    });
  });

  it('refuses a type with no exact Glue type rather than guessing', () => {
    for (const t of [
      'HUGEINT',
      'UBIGINT',
      'UINTEGER',
      'TIME',
      'INTERVAL',
      'UUID',
      'TIMESTAMP WITH TIME ZONE',
      'TIMESTAMP_NS',
      'DECIMAL(40,2)',
      'STRUCT("Mixed Case" INTEGER)',
      'VARCHAR[', // not a type
    ]) {
      expect(() => glueType(t), t).toThrow(StorepulseError);
    }
  });

  it('maps every type the lake writer produces, read back from the files', async () => {
    const db = await openDuckDB();
    try {
      const file = path.join(root, 'types.parquet');
      await db.connection.run(
        `COPY (SELECT 1::BIGINT AS b, 'x' AS s, 1.5::DECIMAL(12,2) AS p, TIMESTAMP '2019-10-01' AS t,
          DATE '2019-10-01' AS d, ['a'] AS l) TO ${sqlString(file)} (FORMAT parquet)`,
      );
      const types = (
        await db.connection.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${sqlString(file)})`)
      )
        .getRowObjectsJson()
        .map((r) => String(r.column_type));
      expect(types.map(glueType)).toEqual([
        'bigint',
        'string',
        'decimal(12,2)',
        'timestamp',
        'date',
        'array<string>',
      ]);
    } finally {
      db.close();
    }
    expect(events.columns.map((c) => glueType(c.type))).toEqual([
      'timestamp',
      'string',
      'bigint',
      'string',
      'string',
      'string',
      'decimal(12,2)',
      'bigint',
      'string',
      'timestamp',
      'string',
      'string',
    ]);
  });
});

describe('glueCreateTable', () => {
  it('writes a CreateTable request of the API reference shape for a Parquet table', () => {
    const req = glueCreateTable(events, OPTS);
    expect(CREATE_TABLE(req, 'CreateTable')).toEqual([]);
    const t = req.TableInput;
    expect(req.DatabaseName).toBe('storepulse');
    expect(t.Name).toBe('events');
    expect(t.TableType).toBe('EXTERNAL_TABLE');
    expect(t.Parameters.classification).toBe('parquet');
    expect(t.StorageDescriptor.Location).toBe('s3://my-bucket/lake/events/');
    expect(t.StorageDescriptor.InputFormat).toBe(
      'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
    );
    expect(t.StorageDescriptor.OutputFormat).toBe(
      'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
    );
    expect(t.StorageDescriptor.SerdeInfo.SerializationLibrary).toBe(
      'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
    );
    expect(t.PartitionKeys.map((k) => [k.Name, k.Type])).toEqual([['event_date', 'date']]);
    expect(t.StorageDescriptor.Columns.map((c) => c.Name)).toEqual(EVENT_COLUMNS.map((c) => c.name));
    expect(t.StorageDescriptor.Columns.find((c) => c.Name === 'category_id')).toMatchObject({
      Type: 'string',
      Comment: expect.stringContaining('19-digit'),
    });
    expect(t.Parameters['projection.enabled']).toBeUndefined();
    // Athena takes every name as is in DDL: nothing to quote, nothing it would lower-case.
    for (const name of [req.DatabaseName, t.Name, ...t.PartitionKeys.map((k) => k.Name)]) {
      expect(plainAthenaName(name), name).toBe(true);
    }
    for (const c of t.StorageDescriptor.Columns) expect(plainAthenaName(c.Name), c.Name).toBe(true);
    // The same location, with or without a trailing slash.
    expect(glueCreateTable(events, { ...OPTS, location: 's3://my-bucket/lake/' })).toEqual(req);
  });

  it('adds Athena partition projection on the date key: first partition to NOW, Hive-style template', () => {
    const p = glueCreateTable(events, { ...OPTS, projection: true }).TableInput.Parameters;
    expect(p).toMatchObject({
      'projection.enabled': 'true',
      'projection.event_date.type': 'date',
      'projection.event_date.format': 'yyyy-MM-dd',
      'projection.event_date.range': '2019-10-01,NOW',
      'projection.event_date.interval': '1',
      'projection.event_date.interval.unit': 'DAYS',
      'storage.location.template': 's3://my-bucket/lake/events/event_date=${event_date}/',
    });
    // Athena refuses a range whose first bound is not before the second.
    expect(Date.parse(p['projection.event_date.range']!.split(',')[0]!)).toBeLessThan(Date.now());
    const clicks = { ...events, table: 'clicks', partitionKeys: [{ name: 'shard', type: 'BIGINT' }] };
    expect(() => glueCreateTable(clicks, { ...OPTS, projection: true })).toThrow(
      /needs a DATE partition key/,
    );
    expect(() => glueCreateTable({ ...events, partitions: [] }, { ...OPTS, projection: true })).toThrow(
      /no partitions/,
    );
  });

  it('refuses names and locations Glue or Athena would not take', () => {
    for (const database of ['Store-Pulse', 'store pulse', '', 'x'.repeat(256)]) {
      expect(() => glueCreateTable(events, { ...OPTS, database }), database).toThrow(
        expect.objectContaining({ code: 'USAGE' }),
      );
    }
    for (const location of [
      'my-bucket/lake',
      's3://My_Bucket/lake',
      'https://my-bucket.s3.amazonaws.com/x',
      's3://',
    ]) {
      expect(() => glueCreateTable(events, { ...OPTS, location }), location).toThrow(/--location takes/);
    }
    const mixed = { ...events, columns: [...events.columns, { name: 'Coupon', type: 'VARCHAR' }] };
    expect(() => glueCreateTable(mixed, OPTS)).toThrow(/"Coupon" is not a valid Athena name/);
    const huge = { ...events, columns: [...events.columns, { name: 'n', type: 'HUGEINT' }] };
    expect(() => glueCreateTable(huge, OPTS)).toThrow(/HUGEINT has no exact Glue\/Hive type/);
  });
});

describe('glueBatchCreatePartitions', () => {
  it('writes BatchCreatePartition requests of the API reference shape, one folder per partition', () => {
    const [req, ...more] = glueBatchCreatePartitions(events, OPTS);
    expect(more).toEqual([]);
    expect(BATCH_CREATE_PARTITION(req, 'BatchCreatePartition')).toEqual([]);
    expect(req!.TableName).toBe('events');
    expect(req!.PartitionInputList.map((p) => [p.Values, p.StorageDescriptor.Location])).toEqual([
      [['2019-10-01'], 's3://my-bucket/lake/events/event_date=2019-10-01/'],
      [['2019-10-02'], 's3://my-bucket/lake/events/event_date=2019-10-02/'],
      [['2019-10-03'], 's3://my-bucket/lake/events/event_date=2019-10-03/'],
    ]);
    const table = glueCreateTable(events, OPTS).TableInput.StorageDescriptor;
    expect(req!.PartitionInputList[0]!.StorageDescriptor).toEqual({ ...table, Location: expect.any(String) });
  });

  it('splits many partitions into requests of at most 100, in order', () => {
    const partitions = Array.from({ length: 250 }, (_, i) => ({
      value: new Date(Date.UTC(2019, 0, 1 + i)).toISOString().slice(0, 10),
      files: 1,
      rows: 1,
      bytes: 1,
    }));
    const reqs = glueBatchCreatePartitions({ ...events, partitions }, OPTS);
    expect(reqs.map((r) => r.PartitionInputList.length)).toEqual([
      GLUE_PARTITION_BATCH,
      GLUE_PARTITION_BATCH,
      50,
    ]);
    for (const r of reqs) expect(BATCH_CREATE_PARTITION(r, 'BatchCreatePartition')).toEqual([]);
    expect(reqs.flatMap((r) => r.PartitionInputList.map((p) => p.Values[0]))).toEqual(
      partitions.map((p) => p.value),
    );
  });
});
