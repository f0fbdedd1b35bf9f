import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CSV_HEADER, type ClickEvent } from '../../../src/core/event.js';
import { isRejection, rowToEvent } from '../../../src/core/row.js';
import {
  formatCsvRow,
  generateEvents,
  generateLabels,
  generateToFile,
  type GenerateSummary,
  type LabelsFile,
} from '../../../src/sources/synthetic/generator.js';
import { splitCsvLine } from './stats.js';

const dir = mkdtempSync(path.join(tmpdir(), 'storepulse-rows-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const out = path.join(dir, 'rows.csv');
const opts = {
  events: 60_000,
  seed: 3,
  start: '2019-11-16',
  eventsPerDay: 400_000,
  attacks: ['cart-bot' as const],
};
let summary: GenerateSummary;
let lines: string[];

beforeAll(async () => {
  summary = await generateToFile({ ...opts, out });
  lines = readFileSync(out, 'latin1').split('\n');
});

describe('generated rows', () => {
  it('has the dataset header and exactly `events` rows, newline-terminated', () => {
    expect(lines[0]).toBe(CSV_HEADER);
    expect(lines.at(-1)).toBe('');
    expect(lines.length - 2).toBe(60_000);
    expect(summary.rows).toBe(60_000);
  });

  it('every row is valid after a CSV round trip and formats back to the same text', () => {
    const bad: string[] = [];
    for (const line of lines.slice(1, -1)) {
      const e = rowToEvent(splitCsvLine(line));
      if (isRejection(e)) bad.push(`${e.reason}: ${e.detail} in ${line}`);
      else if (formatCsvRow(e) !== line) bad.push(`formats differently: ${line}`);
    }
    expect(bad.slice(0, 5)).toEqual([]);
  });

  it('looks like the real files: UTC seconds, two-decimal prices, empty fields for null', () => {
    const sample = lines[1]!.split(',');
    expect(sample[0]).toMatch(/^2019-11-16 \d\d:\d\d:\d\d UTC$/);
    for (const line of lines.slice(1, 2_000)) {
      const f = splitCsvLine(line);
      expect(f[6]).toMatch(/^\d+\.\d\d$/);
      expect(f[3]).toMatch(/^\d{19}$/);
      expect(f[4]).toMatch(/^$|^[a-z_]+(\.[a-z_]+){1,3}$/);
      expect(f[5]).toMatch(/^[a-z0-9_]*$/);
      expect(f[8]).toMatch(/^$|^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
  });

  it('rows are in event_time order, starting on the --start day', () => {
    let prev = -Infinity;
    let outOfOrder = 0;
    for (const line of lines.slice(1, -1)) {
      const t = Date.parse(`${line.slice(0, 10)}T${line.slice(11, 19)}Z`);
      if (!(t >= prev)) outOfOrder++;
      prev = t;
    }
    expect(outOfOrder).toBe(0);
    expect(summary.first.startsWith('2019-11-16T')).toBe(true);
    expect(Date.parse(summary.last)).toBe(prev);
  });

  it('writes the labels file beside the output, matching generateLabels', () => {
    expect(summary.labelsPath).toBe(`${out}.labels.json`);
    const file = JSON.parse(readFileSync(summary.labelsPath!, 'utf8')) as LabelsFile;
    expect(file.attacks).toEqual(generateLabels(opts));
    expect(file.attacks).toEqual(summary.labels);
    expect(file).toMatchObject({
      seed: 3,
      events: 60_000,
      start: '2019-11-16',
      first: summary.first,
      last: summary.last,
    });
    expect(summary.attackEvents).toBe(file.attacks[0]!.events);
  });

  it('writes no labels without attacks, unless a labels path is given', async () => {
    const plain = path.join(dir, 'plain.csv');
    const s = await generateToFile({ events: 1_000, seed: 1, eventsPerDay: 100_000, out: plain });
    expect(s.labelsPath).toBeUndefined();
    expect(existsSync(`${plain}.labels.json`)).toBe(false);
    const custom = path.join(dir, 'sub', 'my-labels.json');
    const s2 = await generateToFile({
      events: 1_000,
      seed: 1,
      eventsPerDay: 100_000,
      out: plain,
      labelsPath: custom,
    });
    expect(s2.labelsPath).toBe(custom);
    expect((JSON.parse(readFileSync(custom, 'utf8')) as LabelsFile).attacks).toEqual([]);
  });

  it('quotes text fields only when they need it', () => {
    const e: ClickEvent = {
      event_time: Date.UTC(2019, 9, 1, 0, 0, 5),
      event_type: 'purchase',
      product_id: 1004767,
      category_id: '2053013555631882655',
      category_code: 'electronics.smartphone',
      brand: 'say "hi", store',
      price: 0,
      user_id: 541312140,
      user_session: null,
    };
    const row = formatCsvRow(e);
    expect(row).toBe(
      '2019-10-01 00:00:05 UTC,purchase,1004767,2053013555631882655,electronics.smartphone,"say ""hi"", store",0.00,541312140,',
    );
    expect(rowToEvent(splitCsvLine(row))).toEqual(e);
  });

  it('rejects bad options as usage errors', () => {
    expect(() => generateLabels({ events: 0, seed: 1 })).toThrow(/events/);
    expect(() => generateEvents({ events: 1.5, seed: 1 })).toThrow(/events/);
    expect(() => generateLabels({ events: 10, seed: -1 })).toThrow(/seed/);
    expect(() => generateLabels({ events: 10, seed: 1, start: '2019-02-30' })).toThrow(/start/);
    expect(() => generateLabels({ events: 10, seed: 1, attacks: ['botnet' as never] })).toThrow(
      /known: ddos-burst/,
    );
  });
});
