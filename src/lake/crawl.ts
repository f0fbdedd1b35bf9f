/**
 * The crawler, the embedded stand-in for a Glue crawler (docs/catalog.md): a registration per table
 * in `<lake>/_catalog/<table>.json` (schema, partitions with files, rows and bytes) that each crawl
 * brings up to date, reporting new, changed and removed partitions and schema drift per file. It reads
 * the Parquet footers only and never touches the data files.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { StorepulseError, errorMessage, ioError } from '../core/errors.js';
import { writeFileAtomic } from '../fs/files.js';
import { fileList, partitionKeyOf, partitionsOf, rowsByFile, tableNames } from './catalog.js';
import { type DuckDB, openDuckDB, queryPlain, sqlString } from './duckdb.js';
import { catalogDir, EVENTS_TABLE, type LakeFile, listTableFiles } from './layout.js';
import { EVENT_COLUMNS, PARTITION_COLUMN } from './schema.js';
import { withSnapshot } from './snapshot.js';

export interface CatalogColumn {
  name: string;
  /** DuckDB type as `DESCRIBE` prints it. */
  type: string;
}

export interface RegisteredPartition {
  value: string;
  files: number;
  rows: number;
  bytes: number;
}

/** What `<lake>/_catalog/<table>.json` holds: the table as the catalog knows it. */
export interface TableRegistration {
  version: 1;
  table: string;
  partitionKeys: CatalogColumn[];
  /** The registered schema of the files (partition keys not included). */
  columns: CatalogColumn[];
  partitions: RegisteredPartition[];
  crawledAt: string;
}

/** How one file's schema differs from the registered one. */
export interface FileDrift {
  file: string;
  partition: string;
  added: CatalogColumn[];
  removed: CatalogColumn[];
  changed: { name: string; registered: string; found: string }[];
}

export interface CrawlResult {
  table: string;
  /** True when the table had no registration before this crawl. */
  firstCrawl: boolean;
  partitions: {
    added: RegisteredPartition[];
    changed: { value: string; before: RegisteredPartition; after: RegisteredPartition }[];
    /** Registered partitions with no files any more: dropped only with `dropStale`. */
    stale: RegisteredPartition[];
    unchanged: number;
  };
  drift: FileDrift[];
  /** Set when the partition folders' key (or its inferred type) differs from the registered one. */
  partitionKeyDrift: { registered: CatalogColumn[]; found: CatalogColumn[] } | null;
  /** The drift was accepted (`updateSchema`): the registration now has the schema found. */
  schemaUpdated: boolean;
  staleDropped: boolean;
  /** False on a dry run. */
  written: boolean;
  files: number;
  rows: number;
  bytes: number;
  registration: TableRegistration;
}

export interface CrawlOptions {
  table?: string;
  /** Accept schema drift: register the schema the files have now. */
  updateSchema?: boolean;
  /** Drop the registration of partitions that have no files any more. */
  dropStale?: boolean;
  /** Report only; write no registration. */
  dryRun?: boolean;
  /** Called as footers are read, with files done and the total. */
  onProgress?: (done: number, total: number) => void;
  now?: () => Date;
}

export function registrationPath(lakeDir: string, table: string): string {
  return path.join(catalogDir(lakeDir), `${table}.json`);
}

export async function readRegistration(lakeDir: string, table: string): Promise<TableRegistration | null> {
  const file = registrationPath(lakeDir, table);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw ioError(`cannot read ${file}`, err);
  }
  try {
    const reg = JSON.parse(text) as TableRegistration;
    if (
      reg.version === 1 &&
      reg.table === table &&
      Array.isArray(reg.columns) &&
      Array.isArray(reg.partitions)
    ) {
      return reg;
    }
  } catch (err) {
    throw new StorepulseError(
      'STATE',
      `${file} is not valid JSON (${errorMessage(err)}): remove it and crawl again`,
    );
  }
  throw new StorepulseError(
    'STATE',
    `${file} is not a catalog registration of ${table}: remove it and crawl again`,
  );
}

/** Footers are read this many files per query, so that a progress bar can move. */
const FOOTER_BATCH = 256;

interface Footer {
  rows: number;
  columns: CatalogColumn[];
}

/**
 * Each file's row count and top-level columns, from `parquet_file_metadata` and `parquet_schema`
 * (footers only). A nested column has no `duckdb_type` there; such a file is described by DuckDB's
 * DESCRIBE of that file, which reads its footer too.
 */
async function readFooters(db: DuckDB, files: readonly LakeFile[]): Promise<Map<string, Footer>> {
  const out = new Map<string, Footer>();
  if (files.length === 0) return out;
  const rows = await rowsByFile(db, files);
  const schema = await queryPlain(
    db.connection,
    `SELECT file_name, name, duckdb_type, num_children FROM parquet_schema(${fileList(files)})
     ORDER BY file_name, column_id`,
  );
  const nodes = new Map<string, Record<string, unknown>[]>();
  for (const r of schema.rows) {
    const f = String(r.file_name);
    const list = nodes.get(f);
    if (list) list.push(r);
    else nodes.set(f, [r]);
  }
  for (const f of files) {
    const tree = nodes.get(f.path) ?? [];
    const children = (i: number) => Number(tree[i]?.num_children ?? 0);
    // Depth-first order: skip a node with its whole subtree.
    const skip = (i: number): number => {
      let next = i + 1;
      for (let c = children(i); c > 0; c--) next = skip(next);
      return next;
    };
    let columns: CatalogColumn[] | null = [];
    for (let i = 1; i < tree.length && columns; i = skip(i)) {
      const type = tree[i]!.duckdb_type;
      if (type === null || children(i) > 0) columns = null;
      else columns.push({ name: String(tree[i]!.name), type: String(type) });
    }
    if (!columns) {
      const d = await queryPlain(
        db.connection,
        `DESCRIBE SELECT * FROM read_parquet(${sqlString(f.path)}, hive_partitioning = false)`,
      );
      columns = d.rows.map((r) => ({ name: String(r.column_name), type: String(r.column_type) }));
    }
    out.set(f.path, { rows: rows.get(f.path) ?? 0, columns });
  }
  return out;
}

/** The type DuckDB's Hive partitioning gives values like these (`hive_types_autocast`). */
function partitionType(values: readonly string[]): string {
  if (values.every((v) => /^\d{4}-\d{2}-\d{2}$/.test(v))) return 'DATE';
  if (values.every((v) => /^-?\d{1,18}$/.test(v))) return 'BIGINT';
  return 'VARCHAR';
}

/**
 * The schema that accepts the drift: every column of any file, in order of first appearance; a type
 * that differs from the registered one wins (the last such one, in partition and file-name order).
 */
function acceptedSchema(
  schemas: readonly CatalogColumn[][],
  registered: readonly CatalogColumn[],
): CatalogColumn[] {
  const reg = new Map(registered.map((c) => [c.name, c.type]));
  const byName = new Map<string, CatalogColumn>();
  for (const cols of schemas) {
    for (const c of cols) {
      const seen = byName.get(c.name);
      if (!seen) byName.set(c.name, { ...c });
      else if (c.type !== reg.get(c.name)) seen.type = c.type;
    }
  }
  return [...byName.values()];
}

function driftOf(
  file: LakeFile,
  found: readonly CatalogColumn[],
  registered: readonly CatalogColumn[],
): FileDrift | null {
  const reg = new Map(registered.map((c) => [c.name, c.type]));
  const got = new Map(found.map((c) => [c.name, c.type]));
  const drift: FileDrift = {
    file: file.path,
    partition: file.partition,
    added: found.filter((c) => !reg.has(c.name)),
    removed: registered.filter((c) => !got.has(c.name)),
    changed: found
      .filter((c) => reg.has(c.name) && reg.get(c.name) !== c.type)
      .map((c) => ({ name: c.name, registered: reg.get(c.name)!, found: c.type })),
  };
  return drift.added.length + drift.removed.length + drift.changed.length > 0 ? drift : null;
}

const sameColumns = (a: readonly CatalogColumn[], b: readonly CatalogColumn[]) =>
  a.length === b.length && a.every((c, i) => c.name === b[i]!.name && c.type === b[i]!.type);

const samePartition = (a: RegisteredPartition, b: RegisteredPartition) =>
  a.files === b.files && a.rows === b.rows && a.bytes === b.bytes;

async function crawlTable(
  db: DuckDB,
  lakeDir: string,
  table: string,
  opts: CrawlOptions,
): Promise<CrawlResult> {
  const { files, footers } = await withSnapshot(
    lakeDir,
    () => listTableFiles(lakeDir, table),
    async (files) => {
      const footers = new Map<string, Footer>();
      for (let i = 0; i < files.length; i += FOOTER_BATCH) {
        for (const [f, footer] of await readFooters(db, files.slice(i, i + FOOTER_BATCH)))
          footers.set(f, footer);
        opts.onProgress?.(Math.min(i + FOOTER_BATCH, files.length), files.length);
      }
      return { files, footers };
    },
  );
  const key = partitionKeyOf(table, files);
  const prev = await readRegistration(lakeDir, table);
  const schemas = files.map((f) => footers.get(f.path)!.columns);
  const declared = table === EVENTS_TABLE ? EVENT_COLUMNS.map((c) => ({ name: c.name, type: c.type })) : null;
  // A first crawl registers the declared schema (events) or what the files have; drift is then
  // measured against it, so a lake that breaks the events contract shows up on the first crawl.
  const registered = prev?.columns ?? declared ?? acceptedSchema(schemas, []);
  const drift = files.flatMap((f, i) => driftOf(f, schemas[i]!, registered) ?? []);

  const values = [...new Set(files.map((f) => f.partition))];
  const foundKeys: CatalogColumn[] =
    files.length === 0
      ? (prev?.partitionKeys ?? (key ? [{ name: key, type: PARTITION_COLUMN.type }] : []))
      : [{ name: key!, type: partitionType(values) }];
  const partitionKeyDrift =
    prev && !sameColumns(prev.partitionKeys, foundKeys)
      ? { registered: prev.partitionKeys, found: foundKeys }
      : null;

  const rows = new Map(files.map((f) => [f.path, footers.get(f.path)!.rows]));
  const found: RegisteredPartition[] = partitionsOf(files, rows).map(({ value, files, rows, bytes }) => ({
    value,
    files,
    rows,
    bytes,
  }));
  const before = new Map((prev?.partitions ?? []).map((p) => [p.value, p]));
  const foundValues = new Set(found.map((p) => p.value));
  const stale = (prev?.partitions ?? []).filter((p) => !foundValues.has(p.value));
  const updateSchema = Boolean(opts.updateSchema);
  const dropStale = Boolean(opts.dropStale);

  const registration: TableRegistration = {
    version: 1,
    table,
    partitionKeys: prev && !updateSchema ? prev.partitionKeys : foundKeys,
    columns: updateSchema && files.length > 0 ? acceptedSchema(schemas, registered) : registered,
    partitions: [...found, ...(dropStale ? [] : stale)].sort((a, b) => (a.value < b.value ? -1 : 1)),
    crawledAt: (opts.now?.() ?? new Date()).toISOString(),
  };
  if (!opts.dryRun)
    await writeFileAtomic(registrationPath(lakeDir, table), `${JSON.stringify(registration, null, 2)}\n`);
  return {
    table,
    firstCrawl: prev === null,
    partitions: {
      added: found.filter((p) => !before.has(p.value)),
      changed: found
        .filter((p) => before.has(p.value) && !samePartition(before.get(p.value)!, p))
        .map((p) => ({ value: p.value, before: before.get(p.value)!, after: p })),
      stale,
      unchanged: found.filter((p) => before.has(p.value) && samePartition(before.get(p.value)!, p)).length,
    },
    drift,
    partitionKeyDrift,
    schemaUpdated: updateSchema && (drift.length > 0 || partitionKeyDrift !== null),
    staleDropped: dropStale && stale.length > 0,
    written: !opts.dryRun,
    files: files.length,
    rows: found.reduce((n, p) => n + p.rows, 0),
    bytes: found.reduce((n, p) => n + p.bytes, 0),
    registration,
  };
}

/**
 * Crawls every table of the lake (or `opts.table`): reads the Parquet footers, registers new
 * partitions, updates the counts of changed ones, and reports removed partitions and schema drift
 * per file. Never touches the data files. The registration is replaced atomically, so a crawl that
 * stops half-way leaves the previous one.
 */
export async function crawlLake(lakeDir: string, opts: CrawlOptions = {}): Promise<CrawlResult[]> {
  const dir = path.resolve(lakeDir);
  const db = await openDuckDB();
  try {
    const results: CrawlResult[] = [];
    for (const table of await tableNames(dir, opts.table))
      results.push(await crawlTable(db, dir, table, opts));
    return results;
  } finally {
    db.close();
  }
}

/** What a crawl left for a person to decide: drift it did not accept, stale partitions it kept. */
export function pendingDecisions(r: CrawlResult): { drift: boolean; stale: boolean } {
  const drifted = r.drift.length > 0 || r.partitionKeyDrift !== null;
  return { drift: drifted && !r.schemaUpdated, stale: r.partitions.stale.length > 0 && !r.staleDropped };
}

export function needsAttention(r: CrawlResult): boolean {
  const p = pendingDecisions(r);
  return p.drift || p.stale;
}
