import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { CSV_HEADER } from '../../../src/core/event.js';
import {
  formatCsvRow,
  generateEvents,
  generateLabels,
  generateToFile,
  type GenerateOptions,
} from '../../../src/sources/synthetic/generator.js';

const dir = mkdtempSync(path.join(tmpdir(), 'storepulse-gen-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const opts: GenerateOptions = {
  events: 30_000,
  seed: 42,
  eventsPerDay: 300_000,
  attacks: ['ddos-burst', 'scraper', 'cart-bot', 'low-and-slow'],
};

async function bytes(o: GenerateOptions, name: string): Promise<Buffer> {
  const out = path.join(dir, name);
  await generateToFile({ ...o, out });
  return readFileSync(out);
}

describe('generator determinism', () => {
  it('same seed and options give byte-identical files, labels included', async () => {
    const a = await bytes(opts, 'a.csv');
    const b = await bytes(opts, 'b.csv');
    expect(a.equals(b)).toBe(true);
    const la = readFileSync(path.join(dir, 'a.csv.labels.json'), 'utf8');
    const lb = readFileSync(path.join(dir, 'b.csv.labels.json'), 'utf8');
    expect(la).toBe(lb);
  });

  it('gzip output is deterministic and holds the same rows', async () => {
    const plain = await bytes(opts, 'c.csv');
    const gz1 = await bytes(opts, 'c.csv.gz');
    const gz2 = await bytes(opts, 'd.csv.gz');
    expect(gz1[0]).toBe(0x1f);
    expect(gz1[1]).toBe(0x8b);
    expect(gz1.equals(gz2)).toBe(true);
    expect(gunzipSync(gz1).equals(plain)).toBe(true);
  });

  it('a different seed gives a different data set', async () => {
    const a = await bytes(opts, 'e.csv');
    const b = await bytes({ ...opts, seed: 43 }, 'f.csv');
    expect(a.equals(b)).toBe(false);
    expect(generateLabels(opts)).not.toEqual(generateLabels({ ...opts, seed: 43 }));
  });

  it('generateEvents yields exactly the rows of the file', async () => {
    const small: GenerateOptions = { ...opts, events: 8_000, eventsPerDay: 100_000 };
    const file = (await bytes(small, 'g.csv')).toString('latin1');
    const fromEvents = [...generateEvents(small)].map(formatCsvRow);
    expect(file).toBe(`${CSV_HEADER}\n${fromEvents.join('\n')}\n`);
  });

  it('generateEvents is repeatable and yields exactly `events` rows', () => {
    const a = [...generateEvents({ events: 3_000, seed: 9 })];
    const b = [...generateEvents({ events: 3_000, seed: 9 })];
    expect(b).toEqual(a);
    expect(a).toHaveLength(3_000);
  });

  it('injecting attacks leaves the human traffic as it was', () => {
    const base: GenerateOptions = { events: 30_000, seed: 5, eventsPerDay: 200_000 };
    const plain = [...generateEvents(base)];
    const attacked = { ...base, attacks: opts.attacks };
    const attackers = new Set(generateLabels(attacked).flatMap((l) => l.user_ids));
    const humans = [...generateEvents(attacked)].filter((e) => !attackers.has(e.user_id));
    expect(humans.length).toBeGreaterThan(25_000);
    expect(humans).toEqual(plain.slice(0, humans.length));
  });
});
