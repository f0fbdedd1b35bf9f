/**
 * Who may change what in a data folder (README, "Data safety"). A folder is one of two kinds:
 * - a demo folder: `storepulse demo` made it and marks it with `.storepulse-demo`; each demo run
 *   replaces its lake, alerts and outbox;
 * - a pipeline folder: simulate and process accumulate streams, the lake, alerts and checkpoints.
 * The demo refuses a pipeline folder and the pipeline refuses a demo folder, so that no run deletes
 * or silently mixes with another's results. Read-only commands refuse a folder that holds no run: a
 * mistyped `--data-dir` would otherwise read as "no alerts".
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { StorepulseError } from '../core/errors.js';
import { PROGRESS_DIR } from '../lake/layout.js';
import type { Context } from './context.js';

const DEMO_MARKER = '.storepulse-demo';
/** What a run leaves in a data folder. */
const RUN_STATE = ['lake', 'alerts.sqlite', 'outbox.sqlite', 'journey.sqlite', 'streams'] as const;
const WHERE = 'check --data-dir (or STOREPULSE_DATA_DIR)';

function held(dataDir: string): string[] {
  return RUN_STATE.filter((name) => existsSync(path.join(dataDir, name)));
}

function isDemoFolder(dataDir: string): boolean {
  return existsSync(path.join(dataDir, DEMO_MARKER));
}

/** For commands that only read: the data folder exists and holds the results of some run. */
export function requireRun(ctx: Context): void {
  const dir = ctx.dataDir;
  // The context has checked that it is not a file.
  if (!existsSync(dir)) {
    throw new StorepulseError('STATE', `there is no data folder ${dir}: nothing has run there; ${WHERE}`);
  }
  if (held(dir).length === 0 && !isDemoFolder(dir)) {
    throw new StorepulseError(
      'STATE',
      `${dir} holds no storepulse run (no lake, alert store, outbox or stream); ${WHERE}, ` +
        'or run storepulse demo or storepulse process there first',
    );
  }
}

/** For a file one command reads: present, or an error that says which command makes it. */
export function requireFile(file: string, what: string, madeBy: string): void {
  if (!existsSync(file)) {
    throw new StorepulseError('STATE', `no ${what} at ${file}: ${madeBy} makes it; ${WHERE}`);
  }
}

/** simulate (into an embedded stream) and process do not write into the demo's folder. */
export function refuseDemoFolder(ctx: Context, command: string): void {
  if (!isDemoFolder(ctx.dataDir)) return;
  throw new StorepulseError(
    'STATE',
    `${ctx.dataDir} holds the results of storepulse demo, which its next run replaces: give ${command} ` +
      `a data folder of its own with --data-dir DIR (or STOREPULSE_DATA_DIR), or delete ${ctx.dataDir} ` +
      'to start over',
  );
}

/**
 * The demo may replace what is in its folder only if it made all of it. Call before any slow or
 * destructive step, so that a refusal comes first.
 */
export function checkDemoFolder(ctx: Context): void {
  const dir = ctx.dataDir;
  const state = held(dir);
  const demo = isDemoFolder(dir);
  // Things only simulate and process make: in a demo folder they come from an older version or by hand.
  const foreign = [
    ...(state.includes('streams') ? ['streams (storepulse simulate)'] : []),
    ...(existsSync(path.join(dir, 'lake', PROGRESS_DIR)) ? ['lake data from storepulse process'] : []),
  ];
  if (state.length > 0 && (!demo || foreign.length > 0)) {
    throw new StorepulseError(
      'STATE',
      `${dir} holds ${demo ? foreign.join(' and ') : state.join(', ')} from other commands; the demo ` +
        'replaces what is in its folder, so give it another one with --data-dir DIR (or ' +
        `STOREPULSE_DATA_DIR), or delete ${dir} to start over`,
    );
  }
}

/** Deletes the previous demo's lake, alerts and outbox and marks the folder as the demo's. */
export function resetDemoFolder(ctx: Context): void {
  checkDemoFolder(ctx);
  const files = ['alerts.sqlite', 'outbox.sqlite', 'journey.sqlite'].flatMap((f) => [
    f,
    `${f}-wal`,
    `${f}-shm`,
  ]);
  for (const p of ['lake', ...files]) rmSync(path.join(ctx.dataDir, p), { recursive: true, force: true });
  writeFileSync(
    ctx.dataPath(DEMO_MARKER),
    'The state in this folder was made by `storepulse demo` and is replaced by its next run.\n' +
      'simulate and process refuse this folder; delete this file to hand it over to them.\n',
  );
}
