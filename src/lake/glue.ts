/**
 * A registered lake table as the requests AWS Glue takes, so that Athena can query the same files
 * once they are on S3: `aws glue create-table --cli-input-json` (CreateTable) and
 * `aws glue batch-create-partition --cli-input-json` (BatchCreatePartition). Shapes follow the Glue
 * API reference (TableInput, StorageDescriptor, Column, SerDeInfo, PartitionInput); docs/catalog.md.
 */
import { StorepulseError } from '../core/errors.js';
import type { CatalogColumn, TableRegistration } from './crawl.js';
import { EVENTS_TABLE } from './layout.js';
import { EVENT_COLUMNS, PARTITION_COLUMN } from './schema.js';

export interface GlueColumn {
  Name: string;
  Type: string;
  Comment?: string;
}

export interface GlueStorageDescriptor {
  Columns: GlueColumn[];
  Location: string;
  InputFormat: string;
  OutputFormat: string;
  SerdeInfo: { SerializationLibrary: string; Parameters: Record<string, string> };
}

export interface GlueCreateTableRequest {
  DatabaseName: string;
  TableInput: {
    Name: string;
    Description: string;
    TableType: 'EXTERNAL_TABLE';
    Parameters: Record<string, string>;
    PartitionKeys: GlueColumn[];
    StorageDescriptor: GlueStorageDescriptor;
  };
}

export interface GlueBatchCreatePartitionRequest {
  DatabaseName: string;
  TableName: string;
  PartitionInputList: { Values: string[]; StorageDescriptor: GlueStorageDescriptor }[];
}

export interface GlueExportOptions {
  database: string;
  /** `s3://bucket/prefix`: each table lives at `<prefix>/<table>/`. */
  location: string;
  /** Athena partition projection on a DATE partition key, so that no partition needs registering. */
  projection?: boolean;
}

/** The Hive Parquet classes Athena and Glue use for a Parquet table. */
const PARQUET = {
  InputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
  OutputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
  SerdeInfo: {
    SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
    Parameters: { 'serialization.format': '1' },
  },
};

/** BatchCreatePartition takes at most 100 partitions per request. */
export const GLUE_PARTITION_BATCH = 100;

/**
 * DuckDB types that Parquet footers give and that Hive/Athena read as the same values. Anything else
 * (unsigned integers, HUGEINT, TIME, INTERVAL, UUID, TIMESTAMP WITH TIME ZONE, TIMESTAMP_NS...) has no
 * exact Hive type and is refused rather than guessed.
 */
const SCALAR_TYPES: Readonly<Record<string, string>> = {
  BOOLEAN: 'boolean',
  TINYINT: 'tinyint',
  SMALLINT: 'smallint',
  INTEGER: 'int',
  BIGINT: 'bigint',
  FLOAT: 'float',
  DOUBLE: 'double',
  VARCHAR: 'string',
  BLOB: 'binary',
  DATE: 'date',
  TIMESTAMP: 'timestamp',
};

/** Athena's rule for database, table and column names: lower case, digits and `_`, 1 to 255 bytes. */
const ATHENA_NAME = /^[a-z0-9_]{1,255}$/;

/** `USAGE` for a name given on the command line, `STATE` for one found in the lake. */
function checkName(what: string, name: string, code: 'USAGE' | 'STATE' = 'STATE'): string {
  if (!ATHENA_NAME.test(name)) {
    throw new StorepulseError(
      code,
      `${what} ${JSON.stringify(name)} is not a valid Athena name (lower-case letters, digits and _ only)`,
    );
  }
  return name;
}

/** Splits `a, b(c, d), "e, f" g` at the commas outside brackets and quotes. */
function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === '"') quoted = !quoted;
    else if (!quoted && ch === '(') depth++;
    else if (!quoted && ch === ')') depth--;
    else if (!quoted && depth === 0 && ch === ',') {
      parts.push(s.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(s.slice(start).trim());
  return parts;
}

/** The Glue (Hive) type of a DuckDB type, nested types included; an unmapped type is an error. */
export function glueType(duckdbType: string): string {
  const t = duckdbType.trim();
  const list = /^(.+)\[\d*\]$/s.exec(t);
  if (list) return `array<${glueType(list[1]!)}>`;
  const decimal = /^DECIMAL\((\d+),\s*(\d+)\)$/i.exec(t);
  if (decimal && Number(decimal[1]) <= 38) return `decimal(${decimal[1]},${decimal[2]})`;
  const nested = /^(STRUCT|MAP)\((.*)\)$/is.exec(t);
  if (nested) {
    const parts = splitTopLevel(nested[2]!);
    if (nested[1]!.toUpperCase() === 'MAP' && parts.length === 2) {
      return `map<${glueType(parts[0]!)},${glueType(parts[1]!)}>`;
    }
    if (nested[1]!.toUpperCase() === 'STRUCT') {
      const fields = parts.map((p) => {
        const m = /^("(?:[^"]|"")+"|\S+)\s+(.+)$/s.exec(p);
        if (!m) throw unmapped(duckdbType);
        const name = m[1]!.startsWith('"') ? m[1]!.slice(1, -1).replace(/""/g, '"') : m[1]!;
        return `${checkName('struct field', name)}:${glueType(m[2]!)}`;
      });
      return `struct<${fields.join(',')}>`;
    }
  }
  const scalar = SCALAR_TYPES[t.toUpperCase()];
  if (scalar) return scalar;
  throw unmapped(duckdbType);
}

function unmapped(type: string): StorepulseError {
  return new StorepulseError(
    'STATE',
    `DuckDB type ${type} has no exact Glue/Hive type; cast the column in the lake (docs/catalog.md)`,
  );
}

/** The events table's column descriptions (schema.ts) become Glue column comments (at most 255 characters). */
const EVENT_COMMENTS = new Map([...EVENT_COLUMNS, PARTITION_COLUMN].map((c) => [c.name, c.description]));

function glueColumns(table: string, columns: readonly CatalogColumn[]): GlueColumn[] {
  return columns.map((c) => {
    const comment = table === EVENTS_TABLE ? EVENT_COMMENTS.get(c.name) : undefined;
    return {
      Name: checkName('column', c.name),
      Type: glueType(c.type),
      ...(comment ? { Comment: comment.slice(0, 255) } : {}),
    };
  });
}

/** `s3://bucket/prefix` → `s3://bucket/prefix/<table>/`, checked. */
function tableLocation(location: string, table: string): string {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(\/.*)?$/.exec(location);
  if (!m) {
    throw new StorepulseError(
      'USAGE',
      `--location takes s3://bucket/prefix, got ${JSON.stringify(location)}`,
    );
  }
  return `${location.replace(/\/+$/, '')}/${table}/`;
}

function storageDescriptor(columns: GlueColumn[], location: string): GlueStorageDescriptor {
  return { Columns: columns, Location: location, ...PARQUET };
}

function checkRequest(reg: TableRegistration, opts: GlueExportOptions): void {
  checkName('database', opts.database, 'USAGE');
  checkName('table', reg.table);
  if (reg.partitionKeys.length !== 1) {
    throw new StorepulseError('STATE', `table ${reg.table} has no partition key registered: crawl it first`);
  }
}

/** The request `aws glue create-table --cli-input-json` takes for a registered table. */
export function glueCreateTable(reg: TableRegistration, opts: GlueExportOptions): GlueCreateTableRequest {
  checkRequest(reg, opts);
  const location = tableLocation(opts.location, reg.table);
  const key = reg.partitionKeys[0]!;
  const parameters: Record<string, string> = { classification: 'parquet', EXTERNAL: 'TRUE' };
  if (opts.projection) {
    if (key.type !== 'DATE') {
      throw new StorepulseError(
        'USAGE',
        `--projection needs a DATE partition key; ${reg.table}.${key.name} is ${key.type}`,
      );
    }
    const first = reg.partitions[0]?.value;
    if (first === undefined) {
      throw new StorepulseError(
        'STATE',
        `table ${reg.table} has no partitions registered: nothing to project`,
      );
    }
    // Athena computes partitions from these (UTC days from the first one to today) instead of
    // listing them, so new days are queryable with no MSCK REPAIR and no registration.
    Object.assign(parameters, {
      'projection.enabled': 'true',
      [`projection.${key.name}.type`]: 'date',
      [`projection.${key.name}.format`]: 'yyyy-MM-dd',
      [`projection.${key.name}.range`]: `${first},NOW`,
      [`projection.${key.name}.interval`]: '1',
      [`projection.${key.name}.interval.unit`]: 'DAYS',
      'storage.location.template': `${location}${key.name}=\${${key.name}}/`,
    });
  }
  return {
    DatabaseName: opts.database,
    TableInput: {
      Name: reg.table,
      Description: `storepulse lake table ${reg.table}: Parquet, one Hive partition per ${key.name}`,
      TableType: 'EXTERNAL_TABLE',
      Parameters: parameters,
      PartitionKeys: glueColumns(reg.table, reg.partitionKeys),
      StorageDescriptor: storageDescriptor(glueColumns(reg.table, reg.columns), location),
    },
  };
}

/** The registered partitions as `aws glue batch-create-partition --cli-input-json` requests of at most 100. */
export function glueBatchCreatePartitions(
  reg: TableRegistration,
  opts: GlueExportOptions,
): GlueBatchCreatePartitionRequest[] {
  checkRequest(reg, opts);
  const location = tableLocation(opts.location, reg.table);
  const key = reg.partitionKeys[0]!.name;
  const columns = glueColumns(reg.table, reg.columns);
  const requests: GlueBatchCreatePartitionRequest[] = [];
  for (let i = 0; i < reg.partitions.length; i += GLUE_PARTITION_BATCH) {
    requests.push({
      DatabaseName: opts.database,
      TableName: reg.table,
      PartitionInputList: reg.partitions.slice(i, i + GLUE_PARTITION_BATCH).map((p) => ({
        Values: [p.value],
        StorageDescriptor: storageDescriptor(columns, `${location}${key}=${p.value}/`),
      })),
    });
  }
  return requests;
}
