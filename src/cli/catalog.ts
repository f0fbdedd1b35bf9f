/**
 * `storepulse catalog`: the lake's tables, schemas and partitions (the Glue Data Catalog's role);
 * `catalog crawl` registers partitions and reports schema drift (a Glue crawler);
 * `catalog export --glue` writes the requests that create the same table in Glue for Athena.
 * See docs/catalog.md.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { StorepulseError } from '../core/errors.js';
import type { LakeTable } from '../lake/catalog.js';
import type { CrawlResult } from '../lake/crawl.js';
import { contextOf, type Context } from './context.js';
import { requireRun } from './data-folder.js';
import { formatJson, formatRows, type OutputFormat, type Row } from './output.js';
import { lakeForRead } from './paths.js';
import { createProgress, formatCount } from './progress.js';

interface CatalogOptions {
  table?: string;
  partitions?: boolean;
  format: string;
  json?: boolean;
}

interface CrawlFlags {
  updateSchema?: boolean;
  update?: boolean;
  dryRun?: boolean;
}

interface ExportFlags {
  glue?: boolean;
  database?: string;
  location?: string;
  projection?: boolean;
}

const FORMATS: readonly OutputFormat[] = ['table', 'csv', 'json'];

function outputFormat(opts: CatalogOptions): OutputFormat {
  if (opts.json) return 'json';
  if (!(FORMATS as readonly string[]).includes(opts.format)) {
    throw new StorepulseError(
      'USAGE',
      `--format takes table, csv or json, got ${JSON.stringify(opts.format)}`,
    );
  }
  return opts.format as OutputFormat;
}

/** The lake of a data folder that holds a run (an S3 lake through its mirror). */
function lakeOf(ctx: Context): Promise<string> {
  requireRun(ctx);
  return lakeForRead(ctx);
}

const size = (bytes: number, format: OutputFormat) =>
  format === 'table' ? formatCount(bytes, 'bytes') : bytes;

function tableRow(t: LakeTable, format: OutputFormat): Row {
  return {
    table: t.name,
    partition_keys: t.partitionKeys.join(', '),
    columns: t.columns.filter((c) => !c.partitionKey).length,
    partitions: t.partitions.length,
    files: t.files,
    rows: t.rows,
    bytes: size(t.bytes, format),
    location: t.location,
  };
}

async function list(opts: CatalogOptions, cmd: Command): Promise<void> {
  const format = outputFormat(opts);
  const { describeLake } = await import('../lake/catalog.js');
  const d = await describeLake(await lakeOf(contextOf(cmd)), { table: opts.table });
  if (format === 'json') {
    process.stdout.write(formatJson(opts.table ? d.tables[0] : d));
    return;
  }
  if (opts.partitions) {
    const rows = d.tables.flatMap((t) =>
      t.partitions.map((p) => ({
        table: t.name,
        partition: `${t.partitionKeys[0]}=${p.value}`,
        files: p.files,
        rows: p.rows,
        bytes: size(p.bytes, format),
      })),
    );
    process.stdout.write(formatRows(rows, format, ['table', 'partition', 'files', 'rows', 'bytes']));
    return;
  }
  if (opts.table) {
    const t = d.tables[0]!;
    const columns = t.columns.map((c) => ({ column: c.name, type: c.type, partition_key: c.partitionKey }));
    if (format === 'table') process.stdout.write(formatRows([tableRow(t, format)], format));
    process.stdout.write(`${format === 'table' ? '\n' : ''}${formatRows(columns, format)}`);
    return;
  }
  process.stdout.write(
    formatRows(
      d.tables.map((t) => tableRow(t, format)),
      format,
    ),
  );
}

const CRAWL_CSV_COLUMNS = ['table', 'partition', 'file', 'change', 'column', 'registered', 'found'];

/** The partitions a crawl added, changed or found stale, for the CSV output. */
function partitionRows(r: CrawlResult): Row[] {
  return [
    ...r.partitions.added.map((p) => ({ table: r.table, partition: p.value, change: 'partition added' })),
    ...r.partitions.changed.map((p) => ({ table: r.table, partition: p.value, change: 'partition changed' })),
    ...r.partitions.stale.map((p) => ({ table: r.table, partition: p.value, change: 'partition stale' })),
  ];
}

/** One line per column change of a file. */
function driftRows(r: CrawlResult): Row[] {
  return r.drift.flatMap((d) => {
    const where = { partition: d.partition, file: path.basename(d.file) };
    return [
      ...d.added.map((c) => ({
        ...where,
        change: 'column added',
        column: c.name,
        registered: '',
        found: c.type,
      })),
      ...d.removed.map((c) => ({
        ...where,
        change: 'column removed',
        column: c.name,
        registered: c.type,
        found: '',
      })),
      ...d.changed.map((c) => ({
        ...where,
        change: 'type changed',
        column: c.name,
        registered: c.registered,
        found: c.found,
      })),
    ];
  });
}

function crawlSummary(r: CrawlResult): string {
  const p = r.partitions;
  const lines = [
    `${r.table}: ${r.registration.partitions.length} partitions registered (${p.added.length} new, ` +
      `${p.changed.length} changed, ${p.unchanged} unchanged, ${p.stale.length} stale` +
      `${r.staleDropped ? ', dropped' : ''}); ${r.files} files, ${formatCount(r.rows)} rows, ` +
      formatCount(r.bytes, 'bytes'),
  ];
  if (r.partitionKeyDrift) {
    const show = (cols: { name: string; type: string }[]) =>
      cols.map((c) => `${c.name} ${c.type}`).join(', ');
    lines.push(
      `  partition key drift: registered ${show(r.partitionKeyDrift.registered)}, found ${show(r.partitionKeyDrift.found)}`,
    );
  }
  const drifted = r.drift.length;
  lines.push(
    drifted === 0
      ? '  schema: as registered'
      : `  schema drift in ${drifted} of ${r.files} files${r.schemaUpdated ? ': accepted, schema updated' : ''}`,
  );
  if (!r.written) lines.push('  dry run: nothing registered');
  return `${lines.join('\n')}\n`;
}

async function crawl(flags: CrawlFlags, cmd: Command): Promise<void> {
  const opts = cmd.optsWithGlobals<CatalogOptions & CrawlFlags>();
  const format = outputFormat(opts);
  const ctx = contextOf(cmd);
  const { crawlLake, needsAttention, pendingDecisions, registrationPath } = await import('../lake/crawl.js');
  const lakeDir = await lakeOf(ctx);
  const progress = createProgress({ label: 'crawl: footers read', quiet: ctx.quiet });
  const results = await crawlLake(lakeDir, {
    table: opts.table,
    updateSchema: flags.updateSchema,
    dropStale: flags.update,
    dryRun: flags.dryRun,
    onProgress: (done, total) => progress.update(done, `of ${total} files`),
  });
  progress.finish();
  const attention = results.filter(needsAttention);
  if (format === 'json') {
    const tables = results.map((r) => {
      const { registration, ...rest } = r;
      return {
        ...rest,
        needsAttention: needsAttention(r),
        registration: registrationPath(lakeDir, registration.table),
      };
    });
    process.stdout.write(formatJson({ ok: attention.length === 0, tables }));
  } else if (format === 'csv') {
    const rows = results.flatMap((r) => [
      ...partitionRows(r),
      ...driftRows(r).map((d) => ({ table: r.table, ...d })),
    ]);
    process.stdout.write(formatRows(rows, format, CRAWL_CSV_COLUMNS));
  } else {
    for (const r of results) {
      const drift = driftRows(r);
      process.stdout.write(crawlSummary(r));
      if (drift.length > 0) process.stdout.write(`\n${formatRows(drift, format)}`);
      const stale = r.partitions.stale.map((p) => ({ ...p, bytes: size(p.bytes, format) }));
      if (stale.length > 0) {
        const list = formatRows(stale, format, ['value', 'files', 'rows', 'bytes']);
        process.stdout.write(`\nstale partitions (no files any more):\n${list}`);
      }
    }
  }
  if (attention.length > 0) {
    const what = attention.flatMap((r) => {
      const p = pendingDecisions(r);
      return [
        ...(p.drift ? [`${r.table}: schema drift (accept with --update-schema)`] : []),
        ...(p.stale ? [`${r.table}: stale partitions (drop with --update)`] : []),
      ];
    });
    throw new StorepulseError('STATE', `the crawl needs a decision: ${what.join('; ')}`);
  }
}

async function exportGlue(flags: ExportFlags, cmd: Command): Promise<void> {
  const opts = cmd.optsWithGlobals<CatalogOptions & ExportFlags>();
  if (!flags.glue)
    throw new StorepulseError('USAGE', 'catalog export needs --glue (the one format it writes)');
  if (!flags.database || !flags.location) {
    throw new StorepulseError(
      'USAGE',
      'catalog export --glue needs --database NAME and --location s3://bucket/prefix',
    );
  }
  const { readRegistration } = await import('../lake/crawl.js');
  const { glueBatchCreatePartitions, glueCreateTable } = await import('../lake/glue.js');
  const table = opts.table ?? 'events';
  const lakeDir = await lakeOf(contextOf(cmd));
  const reg = await readRegistration(lakeDir, table);
  if (!reg) {
    throw new StorepulseError(
      'STATE',
      `table ${table} is not registered yet: run storepulse catalog crawl first`,
    );
  }
  const glueOpts = { database: flags.database, location: flags.location, projection: flags.projection };
  if (opts.partitions) {
    // One complete request per line (BatchCreatePartition takes at most 100 partitions).
    for (const req of glueBatchCreatePartitions(reg, glueOpts))
      process.stdout.write(`${JSON.stringify(req)}\n`);
    return;
  }
  process.stdout.write(formatJson(glueCreateTable(reg, glueOpts)));
}

export function register(program: Command): void {
  const catalog = program
    .command('catalog')
    .description("the lake's tables, columns, partitions, rows and sizes (the Glue Data Catalog's role)")
    .option('--table <name>', 'only this table')
    .option('--partitions', 'list partitions (with export: the batch-create-partition requests)')
    .option('--format <format>', 'table, csv or json', 'table')
    .option('--json', 'same as --format json')
    .action(list);
  catalog
    .command('crawl')
    .description(
      'register new partitions and report changed ones, stale ones and schema drift (reads footers only)',
    )
    .option('--update-schema', 'accept the drift: register the schema the files have now')
    .option('--update', 'drop the registration of partitions whose files are gone')
    .option('--dry-run', 'report only, register nothing')
    .action(crawl);
  catalog
    .command('export')
    .description('write the JSON `aws glue create-table --cli-input-json` takes for a registered table')
    .option('--glue', 'AWS Glue format (create-table; batch-create-partition with --partitions)')
    .option('--database <name>', 'Glue database name')
    .option('--location <s3-uri>', 's3://bucket/prefix; each table is at <prefix>/<table>/')
    .option('--projection', 'add Athena partition projection, so that no partition needs registering')
    .action(exportGlue);
  for (const cmd of catalog.commands) cmd.exitOverride();
}
