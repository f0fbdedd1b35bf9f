import type { Command } from 'commander';

export function register(program: Command): void {
  program.command('alerts').description('(not built yet)');
}
