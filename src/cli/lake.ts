/** `storepulse lake …`: commands on the lake itself. Each subcommand lives in its own file (lake-*.ts). */
import type { Command } from 'commander';
import { register as load } from './lake-load.js';
import { register as maintain } from './lake-maintain.js';

export function register(program: Command): void {
  const lake = program
    .command('lake')
    .description('load, compact and trim the Parquet lake (<data-dir>/lake)');
  for (const register of [load, maintain] as ((lake: Command) => void)[]) register(lake);
  for (const cmd of lake.commands) cmd.exitOverride();
}
