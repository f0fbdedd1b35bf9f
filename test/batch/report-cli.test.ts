import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { register, renderReports } from '../../src/cli/report.js';
import { LakeWriter } from '../../src/lake/writer.js';
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
    expect(out).toContain('== Unique visitors per day (unique_visitors) ==');
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

  it('notes a truncated table', () => {
    const text = renderReports(
      [{ name: 'r', title: 'R', tables: [{ name: 't', columns: ['a'], rows: [{ a: 1 }], truncated: true }] }],
      'table',
    );
    expect(text).toBe('== R (r) ==\n\na\n-\n1\n(first 1 rows; --limit N for more)\n');
  });
});
