import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { register } from '../../src/cli/inspect.js';
import type { InspectReport } from '../../src/cli/inspect.js';
import { StorepulseError } from '../../src/core/errors.js';

const HEADER = 'event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session';

function row(
  time: string,
  type: string,
  product: number,
  user: number,
  session: string,
  brand = 'samsung',
): string {
  return `2019-10-01 ${time} UTC,${type},${product},2053013555631882655,electronics.smartphone,${brand},10.50,${user},${session}`;
}

const S1 = '72d76fde-8bb3-4e00-8c23-a032dfed738c';
const S2 = '0819b51f-68e2-409c-a6e2-74913d93b78a';
const DATA = [
  HEADER,
  row('00:00:05', 'view', 1, 10, S1),
  row('00:00:01', 'view', 2, 10, S1),
  row('00:00:09', 'cart', 2, 11, S2, ''),
  row('00:00:07', 'purchase', 2, 11, S2),
  row('00:00:03', 'click', 2, 11, S2), // bad_event_type
  '2019-10-01 00:00:03 UTC,view', // field_count
  '',
].join('\n');

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'storepulse-inspect-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs `storepulse [global] inspect ...args` with only this command registered; returns stdout. */
async function run(args: string[], global: string[] = []): Promise<string> {
  const r = await capture(args, global);
  if (r.error) throw r.error;
  return r.out;
}

/** As run, for a run that fails: what it printed before, and the error. */
async function capture(args: string[], global: string[] = []): Promise<{ out: string; error?: unknown }> {
  const program = new Command('storepulse')
    .option('--data-dir <dir>')
    .option('--config <file>')
    .option('-q, --quiet')
    .exitOverride();
  register(program);
  for (const c of program.commands) c.exitOverride();
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  });
  try {
    await program.parseAsync([
      'node',
      'storepulse',
      '--data-dir',
      path.join(dir, 'data'),
      '-q',
      ...global,
      'inspect',
      ...args,
    ]);
  } catch (error) {
    return { out, error };
  } finally {
    spy.mockRestore();
  }
  return { out };
}

describe('storepulse inspect', () => {
  it('prints rows, rejects by reason, the dead-letter file, event mix, time range and distinct counts', async () => {
    const file = path.join(dir, 'day.csv.gz');
    await writeFile(file, gzipSync(DATA));
    const out = await run([file]);
    expect(out).toMatch(/^source\s+day\.csv\.gz \(gzip, /m);
    expect(out).toMatch(/^rows\s+6\s/m);
    expect(out).toMatch(/^valid\s+4$/m);
    expect(out).toMatch(/^rejected\s+2\s/m);
    expect(out).toMatch(/^ {2}field_count\s+1$/m);
    expect(out).toMatch(/^ {2}bad_event_type\s+1$/m);
    expect(out).toMatch(/^ {2}view\s+2\s+50\.00%$/m);
    expect(out).toMatch(/^ {2}remove_from_cart\s+0\s+0\.00%$/m);
    expect(out).toMatch(/^time range\s+2019-10-01T00:00:01\.000Z \.\. 2019-10-01T00:00:09\.000Z$/m);
    expect(out).toMatch(/^ {2}users\s+2$/m);
    expect(out).toMatch(/^ {2}sessions\s+2$/m);
    expect(out).toMatch(/^ {2}products\s+2$/m);
    expect(out).toMatch(/^ {2}category_id\s+1$/m);
    const dlDir = path.join(dir, 'data', 'deadletter');
    const files = readdirSync(dlDir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^day\.csv\.gz\.\d{8}T\d{6}Z\.ndjson$/);
    expect(out).toContain(path.join(dlDir, files[0]!));
    const recs = (await readFile(path.join(dlDir, files[0]!), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(recs.map((r: { line: number; reason: string }) => [r.line, r.reason])).toEqual([
      [6, 'bad_event_type'],
      [7, 'field_count'],
    ]);
  });

  it('prints JSON with --json, and honours --dead-letter and --max-line-bytes', async () => {
    const file = path.join(dir, 'day.csv');
    await writeFile(file, DATA);
    const dl = path.join(dir, 'custom', 'rejects.ndjson');
    const { out, error } = await capture([file, '--json', '--dead-letter', dl, '--max-line-bytes', '100']);
    // The report says why; the exit status says that no row is a valid event.
    expect(error).toMatchObject({ code: 'INPUT', message: expect.stringMatching(/holds no valid row/) });
    const r = JSON.parse(out) as InspectReport;
    expect(r).toMatchObject({
      source: 'day.csv',
      format: 'csv',
      lines: 7,
      blankLines: 0,
      rows: 6,
      deadLetterPath: dl,
      eventMix: { view: { count: 0 } },
      timeRange: null,
    });
    // every data row is longer than 100 bytes except the short field_count one
    expect(r.rejectedByReason).toEqual({ line_too_long: 5, field_count: 1 });
    expect(existsSync(dl)).toBe(true);
  });

  it('writes no dead-letter file for a clean file, and counts exactly', async () => {
    const file = path.join(dir, 'clean.csv');
    const rows = [HEADER];
    for (let i = 0; i < 500; i++)
      rows.push(row('00:00:00', i % 10 === 0 ? 'cart' : 'view', i % 37, i % 101, S1));
    await writeFile(file, `${rows.join('\r\n')}\r\n`);
    const r = JSON.parse(
      await run([file, '--json'], ['--data-dir', path.join(dir, 'clean-data')]),
    ) as InspectReport;
    expect(r).toMatchObject({ rows: 500, valid: 500, rejected: 0, deadLetterPath: null });
    expect(r.eventMix.cart).toEqual({ count: 50, share: 0.1 });
    expect(r.distinct).toMatchObject({ users: 101, products: 37, sessions: 1 });
    expect(existsSync(path.join(dir, 'clean-data', 'deadletter'))).toBe(false);
  });

  it('fails with an input error for a missing file', async () => {
    const err = await run([path.join(dir, 'missing.csv')]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StorepulseError);
    expect((err as StorepulseError).code).toBe('INPUT');
  });
});
