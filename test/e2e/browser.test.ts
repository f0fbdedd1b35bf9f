/**
 * The browser pipeline end to end: Debian's chromium through playwright-core loads a page from a
 * local server under a strict CSP, runs its external script, blocks its inline one (watchPage sees
 * the violation) and takes a screenshot. Skips, with the reason, where chromium cannot be had.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserUnavailable, openBrowser, screenshot, watchPage } from '../helpers/browser.js';

const CSP = "default-src 'self'; script-src 'self'";

const PAGE = `<!doctype html>
<html>
  <head><meta charset="utf-8"><title>browser smoke</title></head>
  <body>
    <h1>storepulse browser smoke</h1>
    <p id="out">external script did not run</p>
    <p id="inline">inline script did not run</p>
    <script>document.getElementById('inline').textContent = 'inline script ran';</script>
    <script src="/app.js"></script>
  </body>
</html>`;

const APP_JS = "document.getElementById('out').textContent = 'written by app.js';\n";

const BROKEN = `<!doctype html>
<html>
  <head><meta charset="utf-8"><title>broken</title></head>
  <body><script src="/missing.js"></script><script src="/throw.js"></script></body>
</html>`;

function serve(req: http.IncomingMessage, res: http.ServerResponse): void {
  const headers = { 'content-security-policy': CSP, 'cache-control': 'no-store' };
  if (req.url === '/') {
    res.writeHead(200, { ...headers, 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
  } else if (req.url === '/broken') {
    res.writeHead(200, { ...headers, 'content-type': 'text/html; charset=utf-8' }).end(BROKEN);
  } else if (req.url === '/app.js') {
    res.writeHead(200, { ...headers, 'content-type': 'text/javascript; charset=utf-8' }).end(APP_JS);
  } else if (req.url === '/throw.js') {
    res
      .writeHead(200, { ...headers, 'content-type': 'text/javascript; charset=utf-8' })
      .end("throw new Error('boom from throw.js');\n");
  } else if (req.url === '/favicon.ico') {
    res.writeHead(204, headers).end();
  } else {
    res.writeHead(404, { ...headers, 'content-type': 'text/plain' }).end('not found');
  }
}

describe.skipIf(browserUnavailable() !== undefined)('browser (chromium via playwright-core)', () => {
  let server: http.Server | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let base = '';

  beforeAll(async () => {
    const s = http.createServer(serve);
    server = s;
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => resolve());
    });
    base = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
    browser = await openBrowser();
    context = await browser.newContext();
  });

  function newPage() {
    if (!context) throw new Error('no browser context: beforeAll failed');
    return context.newPage();
  }

  afterAll(async () => {
    await context?.close().catch(() => {});
    await browser?.close();
    const s = server;
    if (s) {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  });

  it('runs the external script, blocks the inline one by CSP, and takes a screenshot', async () => {
    const page = await newPage();
    const w = watchPage(page);
    const res = await page.goto(`${base}/`, { waitUntil: 'load' });
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-security-policy']).toBe(CSP);

    expect(await page.textContent('#out')).toBe('written by app.js');
    expect(await page.textContent('#inline')).toBe('inline script did not run');
    expect(w.errors).toHaveLength(1);
    // Chromium's wording varies by version ("Refused to execute inline script…", "Executing inline script violates…").
    expect(w.errors[0]).toMatch(/^csp: .*inline script.*script-src 'self'/i);

    const png = await screenshot(page, 'browser-smoke');
    expect(readFileSync(png).subarray(0, 8)).toEqual(
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    );
  });

  it('watchPage reports a failed load and an uncaught exception', async () => {
    const page = await newPage();
    const w = watchPage(page);
    await page.goto(`${base}/broken`, { waitUntil: 'load' });
    expect(w.errors).toContain(`http 404: GET ${base}/missing.js`);
    expect(w.errors).toContain('pageerror: boom from throw.js');
    expect(w.errors.some((e) => e.startsWith('csp:'))).toBe(false);
  });
});
