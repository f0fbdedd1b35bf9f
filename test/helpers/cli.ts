import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

export const CLI = path.resolve(import.meta.dirname, '../../dist/src/cli/main.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built `storepulse` CLI the way a user does (npm test builds it first). */
export function storepulse(
  args: string[],
  opts: { input?: string; cwd?: string; env?: NodeJS.ProcessEnv } = {},
): CliResult {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm test does)`);
  const r = spawnSync(process.execPath, [CLI, ...args], {
    input: opts.input,
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** As `storepulse`, without blocking: for tests that serve something to the CLI from this process. */
export function storepulseAsync(args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...opts.env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * A generated data set through the CLI (`.csv` or `.csv.gz` by name), with every attack profile at
 * its strongest: the pipeline tests check that what the rules flag arrives everywhere, not how
 * gentle an attack they catch (that is `evaluate`'s).
 */
export function generateCsv(out: string, events: number, seed: number): void {
  const gen = storepulse([
    '-q',
    'generate',
    '--events',
    String(events),
    '--seed',
    String(seed),
    '--attacks',
    'all',
    '--attack-intensity',
    '1',
    '--out',
    out,
  ]);
  if (gen.code !== 0) throw new Error(`generate failed: ${gen.stderr}`);
}
