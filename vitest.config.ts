import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'infra/test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Installs Debian's chromium for the browser tests when it is missing (see docs/testing-browser.md).
    globalSetup: ['test/setup/browser-global.ts'],
  },
});
