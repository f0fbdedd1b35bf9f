#!/usr/bin/env node
/**
 * Makes sure Debian's `chromium` (/usr/bin/chromium) is there for the browser tests, installing it
 * with apt-get when it is missing: `apt-get update` once, then `apt-get install -y chromium`, as root
 * or through password-less `sudo -n`. It never installs anything else and never downloads a browser
 * of its own.
 *
 * By hand: `node scripts/ensure-chromium.mjs` (exit 0: chromium is there or was installed; exit 1:
 * the reason on stderr). The vitest globalSetup (test/setup/browser-global.ts) calls ensureChromium().
 *
 * Environment: STOREPULSE_CHROMIUM overrides the path looked for (default /usr/bin/chromium);
 * STOREPULSE_BROWSER_INSTALL=0 never installs (a missing chromium is then reported, not installed).
 */
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, closeSync, constants, mkdirSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { clearTimeout, setTimeout } from 'node:timers';
import { pathToFileURL } from 'node:url';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** The longest one apt-get step may take before it is killed. */
const STEP_TIMEOUT_MS = 10 * 60_000;
/** How long apt-get waits for the dpkg lock another install holds, instead of failing at once. */
const LOCK_WAIT_S = 300;

function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(cmd) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, cmd))) return path.join(dir, cmd);
  }
  return undefined;
}

function tail(file, lines) {
  try {
    return readFileSync(file, 'utf8')
      .split(/\r?\n|\r/)
      .filter(Boolean)
      .slice(-lines)
      .join('\n');
  } catch {
    return '';
  }
}

/** Runs one command, its output to `logFile` (appended) or to our stderr; resolves with its exit code. */
function run(argv, logFile) {
  return new Promise((resolve) => {
    const fd = logFile ? openSync(logFile, 'a') : 2;
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', fd, fd] });
    const timer = setTimeout(() => child.kill('SIGTERM'), STEP_TIMEOUT_MS);
    const done = (code) => {
      clearTimeout(timer);
      if (logFile) closeSync(fd);
      resolve(code);
    };
    child.once('error', () => done(-1));
    child.once('exit', (code, signal) => done(signal ? -1 : (code ?? -1)));
  });
}

/**
 * Ensures chromium is at `opts.path` (default: $STOREPULSE_CHROMIUM, else /usr/bin/chromium).
 * Present: returns at once (one existence check, no logging). Missing: installs it with apt-get,
 * logging each step through `opts.log` (default: stderr), apt-get's own output to `opts.logFile`
 * when given (else to stderr). Never throws: the result says whether chromium is usable and, if
 * not, why.
 *
 * @param {{ path?: string, install?: boolean, log?: (line: string) => void, logFile?: string }} [opts]
 * @returns {Promise<{ ok: true, path: string, installed: boolean, seconds: number }
 *   | { ok: false, path: string, reason: string }>}
 */
export async function ensureChromium(opts = {}) {
  const file = opts.path ?? process.env.STOREPULSE_CHROMIUM ?? CHROMIUM_PATH;
  if (isExecutable(file)) return { ok: true, path: file, installed: false, seconds: 0 };

  const log = opts.log ?? ((line) => process.stderr.write(`ensure-chromium: ${line}\n`));
  const fail = (reason) => ({ ok: false, path: file, reason });
  const install = opts.install ?? process.env.STOREPULSE_BROWSER_INSTALL !== '0';
  log(`${file} is missing`);
  if (!install) return fail(`${file} is missing and installing is off (STOREPULSE_BROWSER_INSTALL=0)`);
  const aptGet = onPath('apt-get');
  if (!aptGet) return fail(`${file} is missing and there is no apt-get here (not Debian/Ubuntu)`);

  let prefix = [];
  if (process.getuid?.() !== 0) {
    const sudo = onPath('sudo');
    if (!sudo) return fail(`${file} is missing; not root and no sudo to install it with`);
    if (spawnSync(sudo, ['-n', 'true'], { stdio: 'ignore' }).status !== 0) {
      return fail(`${file} is missing; not root and sudo needs a password (sudo -n fails)`);
    }
    prefix = [sudo, '-n'];
  }
  // `env VAR=value apt-get …`: the variable survives sudo, which resets the environment.
  const apt = (args) => [
    ...prefix,
    'env',
    'DEBIAN_FRONTEND=noninteractive',
    aptGet,
    '-o',
    `DPkg::Lock::Timeout=${LOCK_WAIT_S}`,
    ...args,
  ];
  if (opts.logFile) {
    mkdirSync(path.dirname(opts.logFile), { recursive: true });
    log(`apt-get output goes to ${opts.logFile}`);
  }
  const t0 = Date.now();

  log(`${prefix.length ? 'sudo ' : ''}apt-get update`);
  const updated = await run(apt(['update']), opts.logFile);
  // A failed update (a stale mirror, the lists lock held) still leaves the lists an install may use.
  if (updated !== 0) log(`apt-get update exited ${updated}; trying the install anyway`);

  log(`${prefix.length ? 'sudo ' : ''}apt-get install -y chromium (takes about a minute)`);
  const code = await run(apt(['install', '-y', 'chromium']), opts.logFile);
  const seconds = Math.round((Date.now() - t0) / 100) / 10;
  if (code !== 0) {
    const last = opts.logFile ? tail(opts.logFile, 15) : '';
    if (last) log(`last lines of ${opts.logFile}:\n${last}`);
    return fail(`apt-get install -y chromium failed (exit ${code}) after ${seconds} s`);
  }
  if (!isExecutable(file)) return fail(`apt-get installed chromium but ${file} is still missing`);
  log(`installed chromium at ${file} in ${seconds} s`);
  return { ok: true, path: file, installed: true, seconds };
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const result = await ensureChromium();
  if (result.ok) {
    process.stderr.write(`ensure-chromium: chromium is at ${result.path}\n`);
  } else {
    process.stderr.write(
      `ensure-chromium: chromium is unavailable: ${result.reason}\n` +
        'ensure-chromium: install it as root with: apt-get update && apt-get install -y chromium\n',
    );
  }
  process.exitCode = result.ok ? 0 : 1;
}
