#!/usr/bin/env node
/** The `storepulse` command line. Each command lives in its own file and registers itself here. */
import { Command, CommanderError } from 'commander';
import { StorepulseError } from '../core/errors.js';
import { register as alerts } from './alerts.js';
import { register as demo } from './demo.js';
import { register as evaluate } from './evaluate.js';
import { register as generate } from './generate.js';
import { register as inspect } from './inspect.js';
import { register as notifications } from './notifications.js';
import { register as processCmd } from './process.js';
import { register as report } from './report.js';
import { register as rules } from './rules.js';
import { register as simulate } from './simulate.js';
import { register as streams } from './streams.js';

export function buildProgram(): Command {
  const program = new Command('storepulse')
    .description('E-commerce clickstream pipeline: shopping-journey insight and bot/DDoS detection')
    .version('0.1.0')
    .option('--data-dir <dir>', 'folder holding all state of a run (default ./data or $STOREPULSE_DATA_DIR)')
    .option('--config <file>', 'config file (default storepulse.config.json/.yaml in the current folder)')
    .option('-q, --quiet', 'no progress or log lines on stderr')
    .showHelpAfterError()
    .exitOverride();
  for (const register of [
    demo,
    generate,
    inspect,
    simulate,
    processCmd,
    streams,
    alerts,
    notifications,
    report,
    rules,
    evaluate,
  ])
    register(program);
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version "errors" are normal exits; anything else is bad usage.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof StorepulseError) {
      process.stderr.write(`storepulse: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`storepulse: unexpected failure: ${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  }
}

const invoked = process.argv[1] ?? '';
if (invoked.endsWith('main.js') || invoked.endsWith('storepulse')) {
  main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
