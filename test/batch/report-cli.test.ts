import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { register, renderReports } from '../../src/cli/report.js';
import { LakeWriter } from '../../src/lake/writer.js';
import { SqliteAlertStore } from '../../src/stores/sqlite/alert-store.js';
import { alert } from '../helpers/alerts.js';
import { ev } from '../helpers/events.js';

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'storepulse-report-cli-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
beforeAll(async () => {
  const w = await LakeWriter.open({ lakeDir: path.join(dataDir, 'lake') });
  await w.write([1, 2, 3].map((u) => ({ event: ev(u, u * 1000, u === 3 ? { event_type: 'cart' } : {}) })));
  await w.close();
});

/** Runs `storepulse <args>` with only the report command, returning what went to stdout. */
async function cli(...args: string[]): Promise<string> {
  const program = new Command('storepulse').option('--data-dir <dir>').option('-q, --quiet').exitOverride();
  register(program);
  program.commands.forEach((c) => c.exitOverride());
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  try {
    await program.parseAsync(['node', 'storepulse', '--data-dir', dataDir, ...args]);
  } finally {
    spy.mockRestore();
  }
  return out;
}

describe('storepulse report', () => {
  it('prints one report as JSON', async () => {
    const out = JSON.parse(await cli('report', 'unique_visitors', '--format', 'json'));
    expect(out.name).toBe('unique_visitors');
    expect(out.tables[0].rows).toEqual([
      { day: '2019-10-01', unique_visitors: 3, sessions: 3, events: 3, purchases: 0, events_per_visitor: 1 },
    ]);
  });

  it('prints all reports as tables with headings', async () => {
    const out = await cli('report');
    expect(out).toContain(
      '== Unique visitors per day (unique_visitors) ==\ntraffic: people only: the events of 0 flagged users left out\n',
    );
    expect(out).toContain('traffic: people only: the events of 0 flagged users left out, top_n = 10\n');
    expect(out).toContain('-- top_products');
    expect(out).toMatch(/users_with_cart\s+users_abandoning/);
  });

  it('prints CSV, plain for one table and marked for several', async () => {
    expect(await cli('report', 'unique_visitors', '--format', 'csv')).toBe(
      'day,unique_visitors,sessions,events,purchases,events_per_visitor\n2019-10-01,3,3,3,0,1\n',
    );
    const many = await cli('report', 'cart_abandonment', '--format', 'csv', '--limit', '1');
    expect(many).toContain('# cart_abandonment.summary\nusers_with_cart,');
    expect(many).toContain('# cart_abandonment.top_products\nproduct_id,');
  });

  it('lists the reports', async () => {
    const out = JSON.parse(await cli('report', '--list', '--json'));
    expect(out.map((r: { name: string }) => r.name)).toContain('brands_needing_marketing');
    expect(out[0].question).toMatch(/\?$/);
  });

  it('refuses an unknown format or report', async () => {
    await expect(cli('report', '--format', 'xml')).rejects.toMatchObject({ code: 'USAGE' });
    await expect(cli('report', 'nope')).rejects.toMatchObject({ code: 'USAGE' });
  });

  it('notes a truncated table, and what traffic was counted', () => {
    const text = renderReports(
      [
        {
          name: 'r',
          title: 'R',
          traffic: 'all',
          flaggedUsers: 0,
          params: {},
          tables: [{ name: 't', columns: ['a'], rows: [{ a: 1 }], truncated: true }],
        },
      ],
      'table',
    );
    expect(text).toBe(
      '== R (r) ==\ntraffic: all traffic, flagged bots included\n\na\n-\n1\n(first 1 rows; --limit N for more)\n',
    );
  });

  it('prints Markdown: a heading per report and per table', async () => {
    const out = await cli('report', 'cart_abandonment', '--format', 'markdown', '--traffic', 'all');
    expect(out).toContain(
      '## Users and sessions that cart but do not buy (cart_abandonment)\n\ntraffic: all traffic',
    );
    expect(out).toContain('### top_products\n\n| product_id | category');
    expect(out).toMatch(/\| -+: \| -+ \|/);
  });

  it('prints chart-ready JSON', async () => {
    const [daily] = JSON.parse(await cli('report', 'unique_visitors', '--format', 'chart'));
    expect(daily).toEqual({
      report: 'unique_visitors',
      table: 'daily',
      title: 'Unique visitors per day',
      kind: 'line',
      x: { name: 'day', values: ['2019-10-01'] },
      series: [
        { name: 'unique_visitors', values: [3] },
        { name: 'sessions', values: [3] },
      ],
      truncated: false,
    });
  });

  it('cuts to --from/--to and takes --top', async () => {
    // the three events are 1, 2 and 3 s after 10:00
    const visitors = async (...args: string[]) =>
      JSON.parse(await cli('report', 'unique_visitors', '--json', ...args)).tables[0].rows[0]
        ?.unique_visitors;
    expect(await visitors('--from', '2019-10-01T10:00:02Z')).toBe(2);
    expect(await visitors('--from', '2019-10-01', '--to', '2019-10-01T10:00:02Z')).toBe(1);
    expect(await visitors('--to', '2019-10-01')).toBeUndefined();
    const sellers = JSON.parse(await cli('report', 'frequent_visitors', '--json', '--top', '2'));
    expect([sellers.params, sellers.tables[0].rows.length]).toEqual([{ top_n: 2 }, 2]);
    await expect(cli('report', 'unique_visitors', '--from', 'soon')).rejects.toMatchObject({ code: 'USAGE' });
    await expect(cli('report', 'unique_visitors', '--top', '3')).rejects.toMatchObject({ code: 'USAGE' });
    await expect(cli('report', '--traffic', 'bots')).rejects.toMatchObject({ code: 'USAGE' });
  });

  it("leaves out the alert store's flagged users by default, keeps them with --traffic all", async () => {
    const store = new SqliteAlertStore(path.join(dataDir, 'alerts.sqlite'));
    await store.put([alert(3, 12)]);
    await store.close();
    try {
      const run = async (...args: string[]) => {
        const r = JSON.parse(await cli('report', 'frequent_visitors', '--json', ...args));
        return [r.traffic, r.flaggedUsers, r.tables[0].rows.map((u: { user_id: number }) => u.user_id)];
      };
      expect(await run()).toEqual(['people', 1, [1, 2]]);
      expect(await run('--traffic', 'all')).toEqual(['all', 0, [1, 2, 3]]);
      expect(await run('--traffic', 'flagged')).toEqual(['flagged', 1, [3]]);
    } finally {
      rmSync(path.join(dataDir, 'alerts.sqlite'), { force: true });
    }
  });
});
