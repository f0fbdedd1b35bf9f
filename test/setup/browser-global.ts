/**
 * vitest globalSetup: makes sure Debian's chromium is there for the browser tests, once per run and
 * before any test file starts (test files run in parallel forks: installing from them could run
 * apt-get twice at once). Present: one existence check, nothing printed. Missing: installs it with
 * scripts/ensure-chromium.mjs (apt-get output to test-artifacts/chromium-install.log). Cannot be
 * installed: prints why once; test/helpers/browser.ts's browserUnavailable() then gives the reason
 * the browser tests skip on. The result reaches the test files through provide('chromium').
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { TestProject } from 'vitest/node';

export type ChromiumStatus =
  | { ok: true; path: string; installed: boolean; seconds: number }
  | { ok: false; path: string; reason: string };

declare module 'vitest' {
  export interface ProvidedContext {
    chromium: ChromiumStatus;
  }
}

/** What scripts/ensure-chromium.mjs exports (plain JS: typed here, imported by URL). */
interface EnsureChromiumModule {
  ensureChromium(opts?: { log?: (line: string) => void; logFile?: string }): Promise<ChromiumStatus>;
}

const ROOT = path.resolve(import.meta.dirname, '../..');

export default async function setup(project: TestProject): Promise<void> {
  const script = pathToFileURL(path.join(ROOT, 'scripts/ensure-chromium.mjs')).href;
  const { ensureChromium } = (await import(/* @vite-ignore */ script)) as EnsureChromiumModule;
  const status = await ensureChromium({
    log: (line) => console.error(`[browser tests] ${line}`),
    logFile: path.join(ROOT, 'test-artifacts/chromium-install.log'),
  });
  if (!status.ok) {
    console.error(
      `[browser tests] SKIPPED: chromium is unavailable: ${status.reason}. ` +
        "To run them, install Debian's chromium as root (apt-get update && apt-get install -y chromium) " +
        'or run: node scripts/ensure-chromium.mjs',
    );
  }
  project.provide('chromium', status);
}
