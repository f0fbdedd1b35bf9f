/** What every command needs: the data folder, the validated config, quiet mode, a logger on stderr. */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { type Config, validateConfig } from '../core/config.js';
import { StorepulseError, errorMessage } from '../core/errors.js';

export interface GlobalOptions {
  dataDir?: string;
  config?: string;
  quiet?: boolean;
}

export interface Context {
  dataDir: string;
  config: Config;
  quiet: boolean;
  log(message: string): void;
  /** A path inside the data folder, with its parent folder created. */
  dataPath(...parts: string[]): string;
}

const CONFIG_NAMES = ['storepulse.config.json', 'storepulse.config.yaml', 'storepulse.config.yml'];

function loadConfigFile(file: string | undefined, cwd = process.cwd()): Config {
  const found = file ?? CONFIG_NAMES.map((n) => path.join(cwd, n)).find((p) => existsSync(p));
  if (!found) return validateOrThrow({}, '(defaults)');
  let text: string;
  try {
    text = readFileSync(found, 'utf8');
  } catch (err) {
    throw new StorepulseError('CONFIG', `cannot read config file ${found}: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  let parsed: unknown;
  try {
    parsed = found.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new StorepulseError('CONFIG', `config file ${found} is not valid: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  return validateOrThrow(parsed, found);
}

function validateOrThrow(input: unknown, source: string): Config {
  const r = validateConfig(input);
  if (!r.ok)
    throw new StorepulseError('CONFIG', `invalid config in ${source}:\n  ${r.problems.join('\n  ')}`);
  return r.config;
}

export function createContext(opts: GlobalOptions, cwd = process.cwd()): Context {
  const config = loadConfigFile(opts.config, cwd);
  const dataDir = path.resolve(
    cwd,
    opts.dataDir ?? process.env.STOREPULSE_DATA_DIR ?? config.dataDir ?? 'data',
  );
  assertFolderPath(dataDir);
  const quiet = Boolean(opts.quiet);
  return {
    dataDir,
    config,
    quiet,
    log: (message) => {
      if (!quiet) process.stderr.write(`${message}\n`);
    },
    dataPath: (...parts) => {
      const p = path.join(dataDir, ...parts);
      mkdirSync(path.dirname(p), { recursive: true });
      return p;
    },
  };
}

/** A data folder below a regular file can never be made: say so once, not as ENOTDIR from a command. */
function assertFolderPath(dir: string): void {
  for (let p = dir; ; p = path.dirname(p)) {
    let isDir: boolean | undefined;
    try {
      isDir = statSync(p).isDirectory();
    } catch {
      // Not there (yet): look at its parent.
    }
    if (isDir === false) {
      throw new StorepulseError(
        'USAGE',
        `data folder ${dir}: ${p} is a file, not a folder (check --data-dir or STOREPULSE_DATA_DIR)`,
      );
    }
    if (isDir || path.dirname(p) === p) return;
  }
}

/** The context of a commander action, from its global options (`--data-dir`, `--config`, `--quiet`). */
export function contextOf(cmd: { optsWithGlobals(): GlobalOptions }): Context {
  return createContext(cmd.optsWithGlobals());
}

/** Parses a positive integer flag value, or throws a usage error naming the flag. */
export function intOption(flag: string, min = 1) {
  return (value: string): number => {
    const n = Number(value.replace(/_/g, ''));
    if (!Number.isInteger(n) || n < min) {
      throw new StorepulseError(
        'USAGE',
        `${flag} takes a whole number >= ${min}, got ${JSON.stringify(value)}`,
      );
    }
    return n;
  };
}
