/**
 * Runs a TypeScript file of this repository in a child Node process (for crash tests that kill it),
 * through the transpiling hooks in ts-hooks.mjs: no build step needed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const HOOKS = pathToFileURL(path.resolve(import.meta.dirname, 'ts-hooks.mjs')).href;
const REGISTER = `import { register } from 'node:module'; register(${JSON.stringify(HOOKS)});`;

export interface TsChildRun {
  child: ChildProcess;
  /** Exit code, or the signal that ended it. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

export function runTsChild(file: string, env: NodeJS.ProcessEnv = {}): TsChildRun {
  const child = spawn(
    process.execPath,
    ['--no-warnings', '--import', `data:text/javascript,${encodeURIComponent(REGISTER)}`, file],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } },
  );
  let output = '';
  const keep = (d: Buffer) => (output = (output + d.toString('utf8')).slice(-8000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return {
    child,
    exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
    output: () => output,
  };
}
