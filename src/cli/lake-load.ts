/** `storepulse lake load FILE…`: dataset files straight into the lake with DuckDB (docs/lake-load.md). */
import type { Command } from 'commander';
import { type FileLoad, loadFiles } from '../lake/load.js';
import { DEFAULT_MAX_LINE_BYTES } from '../sources/options.js';
import { contextOf, intOption } from './context.js';
import { formatJson, formatTable } from './output.js';
import { lakeTarget } from './paths.js';
import { type Progress, createProgress, formatCount } from './progress.js';

interface LoadCommandOptions {
  json?: boolean;
  maxLineBytes?: number;
  memoryLimit?: string;
  threads?: number;
}

export function register(lake: Command): void {
  lake
    .command('load')
    .description(
      'load dataset files (.csv, .csv.gz, .zip) into the lake with DuckDB: validated like the reader, ' +
        'rejects to a dead-letter file, each file once (a file loaded before is skipped)',
    )
    .argument('<files...>', 'dataset files')
    .option('--json', 'print the summary as JSON')
    .option(
      '--max-line-bytes <n>',
      `longest accepted row in bytes (default: config maxLineBytes, ${DEFAULT_MAX_LINE_BYTES})`,
      intOption('--max-line-bytes', 16),
    )
    .option('--memory-limit <size>', "DuckDB's memory limit, e.g. 512MB (default 1GB)")
    .option('--threads <n>', 'DuckDB threads (default: the cores, at most 4)', intOption('--threads'))
    .action(async (files: string[], opts: LoadCommandOptions, cmd: Command) => {
      const ctx = contextOf(cmd);
      const started = Date.now();
      let bar: Progress | undefined;
      let barFile = '';
      const target = await lakeTarget(ctx);
      const loads = await loadFiles(files, {
        dataDir: ctx.dataDir,
        lakeDir: target.dir,
        storage: target.storage,
        maxLineBytes: opts.maxLineBytes ?? ctx.config.maxLineBytes,
        memoryLimit: opts.memoryLimit,
        threads: opts.threads,
        lockedHint: 'or load once `storepulse process` has stopped',
        onProgress: (p) => {
          if (p.file !== barFile) {
            bar?.finish();
            barFile = p.file;
            bar = createProgress({
              label: `lake load ${p.file}`,
              total: p.total,
              unit: 'bytes',
              quiet: ctx.quiet,
            });
          }
          // One bar per file over its bytes; the phase in front (the fingerprint reads it first).
          bar!.update(p.done, p.phase);
        },
      }).finally(() => target.close());
      bar?.finish();
      const seconds = (Date.now() - started) / 1000;
      if (opts.json) {
        process.stdout.write(formatJson({ loads, ...totals(loads), seconds }));
        return;
      }
      process.stdout.write(formatTable(loads.map(row)));
      const t = totals(loads);
      process.stdout.write(
        `${formatCount(t.rows)} rows, ${formatCount(t.rejected)} rejected, ${t.partitions} partitions, ` +
          `${formatCount(t.files)} files, ${formatCount(t.bytes, 'bytes')} in ${seconds.toFixed(1)} s ` +
          `(${formatCount(Math.round(t.rows / Math.max(seconds, 0.001)))} rows/s)\n`,
      );
      for (const l of loads) {
        if (l.deadLetterPath) process.stdout.write(`rejects of ${l.source}: ${l.deadLetterPath}\n`);
      }
    });
}

function row(l: FileLoad): Record<string, unknown> {
  return {
    file: l.source,
    status: l.status,
    rows: l.rows,
    rejected: l.rejected,
    partitions: l.partitions.length,
    files: l.files,
    bytes: formatCount(l.bytes, 'bytes'),
    seconds: Math.round(l.seconds * 10) / 10,
  };
}

function totals(loads: readonly FileLoad[]) {
  return {
    rows: loads.reduce((a, l) => a + l.rows, 0),
    rejected: loads.reduce((a, l) => a + l.rejected, 0),
    partitions: new Set(loads.flatMap((l) => l.partitions)).size,
    files: loads.reduce((a, l) => a + l.files, 0),
    bytes: loads.reduce((a, l) => a + l.bytes, 0),
  };
}
