/**
 * The dashboard in a real browser (Debian's chromium through playwright-core), served by the main
 * job itself: `storepulse demo` replaying generated traffic with every attack profile at a pace a
 * person can watch. Screenshots of every page, light and dark, go to test-artifacts/screenshots.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, generateCsv, storepulse } from '../helpers/cli.js';
import { browserUnavailable, openBrowser, screenshot, watchPage } from '../helpers/browser.js';

const MARKUP = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>';
const TOKEN = 'e2e-token-0123456789';

let dir: string;
let demo: ChildProcess;
let demoExit: Promise<number | null>;
let url: string;
let browser: Browser;
let stderr = '';
let demoOut = '';

/** Waits for a line of the child's stdout that matches `re`. */
function lineOf(child: ChildProcess, re: RegExp): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = out.match(re);
      if (m) resolve(m);
    });
    child.on('close', (code) => reject(new Error(`exited ${code} before ${re}: ${out}\n${stderr}`)));
  });
}

const numberIn = async (page: Page, testid: string) =>
  Number(((await page.getByTestId(testid).textContent()) ?? '').replace(/[^\d.]/g, '') || 'NaN');

/** Alert ids in the store, newest detection first (read-only: the demo writes it). */
function storedAlertIds(): string[] {
  try {
    const db = new Database(path.join(dir, 'data', 'alerts.sqlite'), { readonly: true, fileMustExist: true });
    try {
      return db.prepare('SELECT id FROM alerts ORDER BY detected_at DESC').pluck().all() as string[];
    } finally {
      db.close();
    }
  } catch {
    return [];
  }
}

describe.skipIf(browserUnavailable() !== undefined)('dashboard in a browser', () => {
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sp-e2e-'));
    const csv = path.join(dir, 'events.csv');
    generateCsv(csv, 60_000, 3);
    // A brand carrying markup, bought for a fortune: it tops the live revenue list and sits in the lake.
    const last = readFileSync(csv, 'utf8').trimEnd().split('\n').pop()!;
    const time = last.split(',')[0];
    appendFileSync(
      csv,
      `${time},purchase,1,2053013555631882655,,"${MARKUP.replace(/"/g, '""')}",99999.00,7,markup-session\n`,
    );
    demo = spawn(
      process.execPath,
      [CLI, '--data-dir', path.join(dir, 'data'), 'demo', '--dataset', csv, '--rate', '2000', '--port', '0'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    demo.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    demo.stdout!.on('data', (d: Buffer) => (demoOut += d.toString()));
    demoExit = new Promise((resolve) => demo.on('close', resolve));
    url = (await lineOf(demo, /dashboard: (http:\/\/\S+)/))[1]!;
    browser = await openBrowser();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    if (demo && demo.exitCode === null) demo.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('pushes live counters and new alerts while the replay runs, with no reload', async () => {
    const alertsPage = await browser.newPage();
    const livePage = await browser.newPage();
    const wa = watchPage(alertsPage);
    const wl = watchPage(livePage);
    await alertsPage.goto(`${url}#alerts`);
    await livePage.goto(`${url}#live`);
    await alertsPage.getByTestId('alerts-count').waitFor();
    const before = new Set(storedAlertIds());

    // Live counters move.
    await expect.poll(() => numberIn(livePage, 'kpi-events'), { timeout: 15_000 }).toBeGreaterThan(0);
    const first = await numberIn(livePage, 'kpi-events');
    await expect.poll(() => numberIn(livePage, 'kpi-events'), { timeout: 15_000 }).toBeGreaterThan(first);
    expect(
      Number((await livePage.getByTestId('chart-events').getAttribute('data-points')) ?? 0),
    ).toBeGreaterThan(0);

    // An attack the generator injected is detected: its alert reaches the open Alerts page by push.
    let fresh: string | undefined;
    for (let i = 0; i < 600 && !fresh; i++) {
      fresh = storedAlertIds().find((id) => !before.has(id));
      if (!fresh) await new Promise((r) => setTimeout(r, 100));
    }
    expect(fresh, 'no alert was stored during the replay').toBeDefined();
    await alertsPage
      .locator(`[data-testid=alerts-table] tr[data-id="${fresh}"]`)
      .waitFor({ timeout: 10_000 });

    await screenshot(livePage, 'live-light');
    await livePage.emulateMedia({ colorScheme: 'dark' });
    await screenshot(livePage, 'live-dark');
    await screenshot(alertsPage, 'alerts-light');
    expect(wa.errors).toEqual([]);
    expect(wl.errors).toEqual([]);
    await alertsPage.close();
    await livePage.close();
  }, 120_000);

  it('shows a user drill-down, every report as a chart and table, and keeps markup as text', async () => {
    // The replay is over once the summary is printed; the dashboard keeps serving.
    for (let i = 0; i < 1200 && !/replay done/.test(demoOut); i++)
      await new Promise((r) => setTimeout(r, 100));
    const page = await browser.newPage();
    const w = watchPage(page);
    await page.goto(`${url}#alerts`);
    await page.locator('[data-testid=alerts-table] button', { hasText: 'Events' }).first().click();
    const points = (testid: string) =>
      page.getByTestId(testid).first().getAttribute('data-points').then(Number);
    await expect.poll(() => points('chart-user'), { timeout: 15_000 }).toBeGreaterThan(0);
    await page.evaluate('window.scrollTo(0, 0)');
    await screenshot(page, 'alerts-drilldown');

    await page.goto(`${url}#insights`);
    await expect
      .poll(() => page.getByTestId('reports').textContent(), { timeout: 60_000 })
      .not.toMatch(/running/);
    const charts = page.getByTestId('chart-report');
    expect(await charts.count()).toBeGreaterThanOrEqual(5);
    for (const points of await charts.evaluateAll((els) =>
      els.map((e) => Number(e.getAttribute('data-points'))),
    ))
      expect(points).toBeGreaterThan(0);
    expect(await page.locator('.report-table table tbody tr').count()).toBeGreaterThan(10);
    const download = page.waitForEvent('download');
    await page.locator('.report-table button', { hasText: 'CSV' }).first().click();
    expect((await download).suggestedFilename()).toMatch(/\.csv$/);
    await screenshot(page, 'insights-light');

    // Markup from the data is text, in the live top list and in a query result.
    await page.goto(`${url}#live`);
    await page.getByText(MARKUP, { exact: true }).first().waitFor();
    await page.goto(`${url}#sql`);
    await page.locator('#sql-text').fill("SELECT brand, price FROM events WHERE brand LIKE '%<img%'");
    await page.locator('#sql-run').click();
    await expect(page.getByTestId('sql-table').locator('td').first().textContent()).resolves.toBe(MARKUP);
    expect(await page.evaluate('window.__xss')).toBeUndefined();
    expect(w.errors).toEqual([]);
    await page.close();
  }, 180_000);

  it('refuses a write query and a file read, by the engine', async () => {
    const page = await browser.newPage();
    await page.goto(`${url}#sql`);
    for (const sql of [
      `COPY (SELECT 1) TO '${path.join(dir, 'written.csv')}'`,
      "SELECT * FROM read_text('/etc/passwd')",
      'CREATE TABLE t AS SELECT 1',
    ]) {
      await page.locator('#sql-text').fill(sql);
      await page.locator('#sql-run').click();
      await expect(page.locator('#sql-error').textContent()).resolves.toBeTruthy();
    }
    await page.locator('#sql-text').fill('SELECT count(*) AS n FROM events');
    await page.locator('#sql-run').click();
    await page.getByTestId('sql-table').waitFor();
    await screenshot(page, 'sql-light');
    await page.goto(`${url}#health`);
    await page.getByTestId('health-components').waitFor();
    await screenshot(page, 'health-light');
    await page.close();
  }, 60_000);

  it('needs a token off loopback', async () => {
    const refused = storepulse([
      '--data-dir',
      path.join(dir, 'data'),
      'serve',
      '--host',
      '0.0.0.0',
      '--port',
      '0',
    ]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/give a token/);
    const serve = spawn(
      process.execPath,
      [
        CLI,
        '--data-dir',
        path.join(dir, 'data'),
        'serve',
        '--host',
        '0.0.0.0',
        '--port',
        '0',
        '--token',
        TOKEN,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = new Promise((resolve) => serve.on('close', resolve));
    try {
      const served = (await lineOf(serve, /dashboard: (http:\/\/\S+)/))[1]!;
      const at = served.replace('0.0.0.0', '127.0.0.1');
      const page = await browser.newPage();
      const res = await page.goto(at);
      expect(res?.status()).toBe(401);
      await page.goto(`${at}?token=${TOKEN}`);
      await page.getByRole('navigation').waitFor();
      expect(page.url()).not.toContain(TOKEN);
      await page.close();
    } finally {
      serve.kill('SIGINT');
      expect(await exited).toBe(0);
    }
  }, 60_000);

  it('ends the main job cleanly on Ctrl-C', async () => {
    demo.kill('SIGINT');
    expect(await demoExit, stderr).toBe(0);
  }, 60_000);
});
