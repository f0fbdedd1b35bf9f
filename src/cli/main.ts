#!/usr/bin/env node
/** The `storepulse` command line. Each command lives in its own file and registers itself here. */
import { Command, CommanderError } from 'commander';
import { StorepulseError, errorMessage } from '../core/errors.js';
import { packageVersion } from '../core/package.js';
import { register as alerts } from './alerts.js';
import { register as calibrate } from './calibrate.js';
import { register as catalog } from './catalog.js';
import { register as demo } from './demo.js';
import { register as etl } from './etl.js';
import { register as evaluate } from './evaluate.js';
import { register as generate } from './generate.js';
import { register as inspect } from './inspect.js';
import { register as lake } from './lake.js';
import { register as live } from './live.js';
import { register as notifications } from './notifications.js';
import { register as processCmd } from './process.js';
import { register as query } from './query.js';
import { register as report } from './report.js';
import { register as rules } from './rules.js';
import { register as serve } from './serve.js';
import { register as simulate } from './simulate.js';
import { stopIsNormalEnd, stoppedBySignal } from './signals.js';
import { register as streams } from './streams.js';

export function buildProgram(): Command {
  const program = new Command('storepulse')
    .description('E-commerce clickstream pipeline: shopping-journey insight and bot/DDoS detection')
    .version(packageVersion())
    .option('--data-dir <dir>', 'folder holding all state of a run (default ./data or $STOREPULSE_DATA_DIR)')
    .option('--config <file>', 'config file (default storepulse.config.json/.yaml in the current folder)')
    .option('-q, --quiet', 'no progress or log lines on stderr')
    .showHelpAfterError()
    .configureHelp({ showGlobalOptions: true })
    .exitOverride();
  for (const register of [
    demo,
    generate,
    inspect,
    simulate,
    processCmd,
    streams,
    live,
    serve,
    alerts,
    notifications,
    report,
    query,
    lake,
    catalog,
    etl,
    rules,
    evaluate,
    calibrate,
  ])
    register(program);
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

/** Node's codes for file-system failures a user causes (a wrong path, a full disk): one line, no stack. */
const FILE_ERRORS = new Set(['ENOENT', 'ENOTDIR', 'EEXIST', 'EISDIR', 'EACCES', 'EPERM', 'ENOSPC', 'EROFS']);

/** The exit status after a stop by signal: 130 after Ctrl-C, 0 after SIGTERM or for the dashboard (signals.ts). */
function afterStop(code: number): number {
  return stoppedBySignal() === 'SIGINT' && !stopIsNormalEnd() ? 130 : code;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return afterStop(0);
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version "errors" are normal exits; anything else is bad usage.
      return err.exitCode === 0 ? 0 : 2;
    }
    // A command stopped by a signal may end in the abort it caused: that is the stop, not a failure.
    if (stoppedBySignal() && (err as Error)?.name === 'AbortError') return afterStop(0);
    if (err instanceof StorepulseError) {
      process.stderr.write(`storepulse: ${err.message}\n`);
      return err.exitCode;
    }
    const code = (err as NodeJS.ErrnoException)?.code;
    if ((code && FILE_ERRORS.has(code)) || (err as Error)?.name === 'SqliteError') {
      process.stderr.write(`storepulse: ${errorMessage(err)}\n`);
      return 1;
    }
    process.stderr.write(`storepulse: unexpected failure: ${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  }
}

const invoked = process.argv[1] ?? '';
if (invoked.endsWith('main.js') || invoked.endsWith('storepulse')) {
  // A closed pipe (`storepulse simulate --to - | head -1`) ends the command quietly, as for any Unix tool.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
