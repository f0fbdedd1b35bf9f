/**
 * Driving the dashboard in a real browser: Debian's chromium (/usr/bin/chromium, installed before
 * the tests by test/setup/browser-global.ts) through playwright-core, which never downloads a
 * browser of its own. A test file skips on browserUnavailable():
 *
 *   describe.skipIf(browserUnavailable() !== undefined)('…', () => { … openBrowser() … });
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { inject } from 'vitest';

const ARGS = [
  '--headless',
  '--no-sandbox', // chromium's sandbox refuses to run as root (CI runs as root)
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const LAUNCH_TIMEOUT_MS = 30_000;
const SCREENSHOTS = path.resolve(import.meta.dirname, '../../test-artifacts/screenshots');

/** Why the browser tests cannot run here (for describe.skipIf), or undefined when chromium is there. */
export function browserUnavailable(): string | undefined {
  const status = inject('chromium');
  if (!status) return 'chromium status unknown: the globalSetup test/setup/browser-global.ts did not run';
  return status.ok ? undefined : `chromium is unavailable: ${status.reason}`;
}

/** A headless chromium; the caller closes it (afterAll). Throws the reason when there is none. */
export async function openBrowser(): Promise<Browser> {
  const why = browserUnavailable();
  if (why) throw new Error(why);
  return chromium.launch({
    executablePath: inject('chromium').path,
    args: ARGS,
    headless: true,
    timeout: LAUNCH_TIMEOUT_MS,
  });
}

/** Saves a full-page PNG as test-artifacts/screenshots/<name>.png (gitignored); returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  if (!/^[\w.-]+$/.test(name))
    throw new Error(`screenshot name ${JSON.stringify(name)}: letters, digits, . _ - only`);
  mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/**
 * Collects, from now on, what went wrong in `page`, one line each, so a test can assert
 * `expect(w.errors).toEqual([])`:
 * - `csp: …`         a Content Security Policy violation (chromium's console report of it)
 * - `console: …`     any other console.error
 * - `pageerror: …`   an uncaught exception in the page
 * - `requestfailed: <method> <url> <why>`  a request that got no response (refused, blocked, reset);
 *   not net::ERR_ABORTED, what a navigation or page close does to a still open request (an SSE stream)
 * - `http <status>: <method> <url>`        a response of status 400 or more (chromium also logs it as
 *   `console: Failed to load resource: …`; a missing /favicon.ico shows only as that console line)
 * Call it before page.goto.
 */
export function watchPage(page: Page): { errors: string[] } {
  const errors: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    errors.push(/Content Security Policy/i.test(text) ? `csp: ${text}` : `console: ${text}`);
  });
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('requestfailed', (req) => {
    const why = req.failure()?.errorText ?? '';
    if (why !== 'net::ERR_ABORTED')
      errors.push(`requestfailed: ${req.method()} ${req.url()} ${why}`.trimEnd());
  });
  page.on('response', (res) => {
    if (res.status() >= 400) errors.push(`http ${res.status()}: ${res.request().method()} ${res.url()}`);
  });
  return { errors };
}
