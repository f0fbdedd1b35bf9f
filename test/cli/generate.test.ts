import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { register } from '../../src/cli/generate.js';
import { StorepulseError } from '../../src/core/errors.js';
import type { GenerateSummary, LabelsFile } from '../../src/sources/synthetic/generator.js';
import { ATTACK_PROFILES } from '../../src/sources/synthetic/attacks.js';

const dir = mkdtempSync(path.join(tmpdir(), 'storepulse-cli-gen-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

/** The command as main.ts mounts it, with the global options. */
function program(): Command {
  const p = new Command('storepulse')
    .option('--data-dir <dir>')
    .option('--config <file>')
    .option('-q, --quiet')
    .exitOverride()
    .configureOutput({ writeErr: () => {}, writeOut: () => {} });
  register(p);
  for (const c of p.commands) c.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  return p;
}

async function run(...args: string[]): Promise<string> {
  let stdout = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  await program().parseAsync(['node', 'storepulse', '--data-dir', dir, '-q', ...args]);
  return stdout;
}

describe('storepulse generate', () => {
  it('writes the data set and labels, and prints a short summary', async () => {
    const out = path.join(dir, 'g.csv.gz');
    const text = await run('generate', '--events', '40_000', '--seed', '5', '--out', out, '--attacks', 'all');
    expect(existsSync(out)).toBe(true);
    expect(text).toMatch(/^wrote 40,000 rows to .*g\.csv\.gz \(2019-10-01 /);
    expect(text).toMatch(/ddos-burst: [\d,]+ events/);
    expect(text).toContain(`labels in ${out}.labels.json`);
    const labels = JSON.parse(readFileSync(`${out}.labels.json`, 'utf8')) as LabelsFile;
    expect(labels.attacks.map((a) => a.profile)).toEqual([...ATTACK_PROFILES]);
  });

  it('--json prints the summary object; --labels and --start are honoured', async () => {
    const out = path.join(dir, 'h.csv');
    const labelsPath = path.join(dir, 'h-labels.json');
    const text = await run(
      'generate',
      '--events',
      '5000',
      '--out',
      out,
      '--start',
      '2019-11-17',
      '--per-day',
      '100000',
      '--attacks',
      'scraper',
      '--labels',
      labelsPath,
      '--json',
    );
    const summary = JSON.parse(text) as GenerateSummary;
    expect(summary).toMatchObject({ rows: 5000, out, labelsPath });
    expect(summary.first.startsWith('2019-11-17')).toBe(true);
    expect(summary.labels).toHaveLength(1);
    expect(existsSync(labelsPath)).toBe(true);
  });

  it('--attack-repeats injects each profile n times; labels carry instances and human counts', async () => {
    const out = path.join(dir, 'r.csv');
    const text = await run(
      'generate',
      '--events',
      '60000',
      '--seed',
      '2',
      '--out',
      out,
      '--attacks',
      'scraper,low-and-slow',
      '--attack-repeats',
      '3',
    );
    expect(text).toMatch(/scraper: [\d,]+ events, 3 instance\(s\)/);
    expect(text).toMatch(/human users [\d,]+, human sessions [\d,]+/);
    const labels = JSON.parse(readFileSync(`${out}.labels.json`, 'utf8')) as LabelsFile;
    expect(labels.attacks.map((a) => `${a.profile}#${a.instance}`)).toEqual([
      'scraper#1',
      'scraper#2',
      'scraper#3',
      'low-and-slow#1',
      'low-and-slow#2',
      'low-and-slow#3',
    ]);
    expect(labels.attackRepeats).toBe(3);
    expect(labels.human_users).toBeGreaterThan(1000);
    expect(labels.human_sessions).toBeGreaterThanOrEqual(labels.human_users);
    const err = await run('generate', '--out', out, '--attack-repeats', '0').catch((e: unknown) => e);
    expect((err as StorepulseError).code).toBe('USAGE');
  });

  it('--attack-intensity keeps every instance within the range asked for, and says so in the labels', async () => {
    const out = path.join(dir, 'i.csv');
    const labelsOf = async (...args: string[]) => {
      await run('generate', '--events', '60000', '--seed', '3', '--out', out, ...args);
      return JSON.parse(readFileSync(`${out}.labels.json`, 'utf8')) as LabelsFile;
    };
    const labels = await labelsOf(
      '--attacks',
      'all',
      '--attack-repeats',
      '3',
      '--attack-intensity',
      '0.2-0.4',
    );
    expect(labels.attackIntensity).toEqual([0.2, 0.4]);
    for (const a of labels.attacks) {
      expect(a.intensity).toBeGreaterThanOrEqual(0.2);
      expect(a.intensity).toBeLessThanOrEqual(0.4);
    }
    const one = await labelsOf('--attacks', 'scraper', '--attack-intensity', '1');
    expect(one.attacks.map((a) => a.intensity)).toEqual([1]);
    for (const bad of ['2', '0.5-0.1', 'x', '0.1-0.2-0.3', '-0.5']) {
      const err = await run('generate', '--out', out, '--attack-intensity', bad).catch((e: unknown) => e);
      expect((err as StorepulseError).code, bad).toBe('USAGE');
    }
  });

  it('an unknown attack profile is a usage error listing the known ones', async () => {
    const err = await run('generate', '--out', path.join(dir, 'x.csv'), '--attacks', 'scraper,botnet').catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StorepulseError);
    expect((err as StorepulseError).code).toBe('USAGE');
    expect((err as StorepulseError).exitCode).toBe(2);
    expect((err as Error).message).toContain(`"botnet"; known: ${ATTACK_PROFILES.join(', ')}`);
  });

  it('bad numbers and dates are usage errors; --out is required', async () => {
    const bad = (...args: string[]) => run('generate', ...args).catch((e: unknown) => e);
    expect(((await bad('--out', 'y.csv', '--events', '0')) as StorepulseError).code).toBe('USAGE');
    expect(((await bad('--out', 'y.csv', '--start', '2019-13-01')) as StorepulseError).code).toBe('USAGE');
    expect(((await bad('--events', '10')) as { code: string }).code).toBe(
      'commander.missingMandatoryOptionValue',
    );
  });
});
