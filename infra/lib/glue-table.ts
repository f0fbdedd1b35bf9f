/**
 * The lake's events table in the Glue Data Catalog, from the same code that writes
 * `storepulse catalog export --glue` (src/lake/glue.ts) over the lake's own schema (src/lake/schema.ts),
 * so the deployed table cannot drift from what the local lake and the CLI say it is. Partition
 * projection is on: Athena computes the `event_date` partitions, nothing registers them.
 */
import type { CfnTable } from 'aws-cdk-lib/aws-glue';
import type { TableRegistration } from '../../src/lake/crawl.js';
import { type GlueColumn, glueCreateTable } from '../../src/lake/glue.js';
import { EVENTS_TABLE } from '../../src/lake/layout.js';
import { EVENT_COLUMNS, PARTITION_COLUMN } from '../../src/lake/schema.js';

/** glue.ts checks `s3://bucket/prefix` literally; the real bucket name is only known at deploy time. */
const PLACEHOLDER = 's3://storepulse-lake-placeholder';

/** The events table as a crawl of the lake would register it, partitions aside. */
function eventsRegistration(projectionStart: string): TableRegistration {
  return {
    version: 1,
    table: EVENTS_TABLE,
    partitionKeys: [{ name: PARTITION_COLUMN.name, type: PARTITION_COLUMN.type }],
    columns: EVENT_COLUMNS.map((c) => ({ name: c.name, type: c.type })),
    // Only its first value matters: the start of the projected range.
    partitions: [{ value: projectionStart, files: 0, rows: 0, bytes: 0 }],
    crawledAt: new Date(0).toISOString(),
  };
}

function columns(cols: readonly GlueColumn[]): CfnTable.ColumnProperty[] {
  return cols.map((c) => ({ name: c.Name, type: c.Type, ...(c.Comment ? { comment: c.Comment } : {}) }));
}

/**
 * The `tableInput` of an AWS::Glue::Table for the events table under `location`
 * (`s3://<bucket>/<prefix>`, the bucket name may be a CDK token).
 */
export function eventsTableInput(location: string, projectionStart: string): CfnTable.TableInputProperty {
  const { TableInput: t } = glueCreateTable(eventsRegistration(projectionStart), {
    database: 'placeholder',
    location: `${PLACEHOLDER}/lake`,
    projection: true,
  });
  const at = (s: string): string => s.replace(`${PLACEHOLDER}/lake`, location);
  const sd = t.StorageDescriptor;
  return {
    name: t.Name,
    description: t.Description,
    tableType: t.TableType,
    parameters: Object.fromEntries(Object.entries(t.Parameters).map(([k, v]) => [k, at(v)])),
    partitionKeys: columns(t.PartitionKeys),
    storageDescriptor: {
      columns: columns(sd.Columns),
      location: at(sd.Location),
      inputFormat: sd.InputFormat,
      outputFormat: sd.OutputFormat,
      serdeInfo: {
        serializationLibrary: sd.SerdeInfo.SerializationLibrary,
        parameters: sd.SerdeInfo.Parameters,
      },
    },
  };
}
