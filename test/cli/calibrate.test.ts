import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { validateConfig } from '../../src/core/config.js';
import { ATTACK_PROFILES } from '../../src/sources/synthetic/generator.js';
import { storepulse } from '../helpers/cli.js';

const dir = mkdtempSync(path.join(tmpdir(), 'storepulse-cli-calibrate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const data = path.join(dir, 'store.csv');

beforeAll(() => {
  // A store's traffic with a few attacks in it, labelled: calibration leaves the labelled attackers out.
  const gen = storepulse([
    '-q',
    'generate',
    '--events',
    '60000',
    '--seed',
    '4',
    '--attacks',
    'all',
    '--out',
    data,
  ]);
  expect(gen.code, gen.stderr).toBe(0);
}, 60_000);

describe('storepulse calibrate', () => {
  it('writes a valid config whose rules meet the budget on the humans, and shows the cost on generated attacks', () => {
    const out = path.join(dir, 'calibrated.yaml');
    const r = storepulse([
      'calibrate',
      data,
      '--budget',
      '0.001',
      '--out',
      out,
      '--check-events',
      '30000',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const c = JSON.parse(r.stdout) as {
      humans: number;
      labels: string | null;
      union: { after: number };
      rules: { feature: { rule: string }; after: { threshold: number } }[];
      items: {
        feature: { rule: string };
        keys: number;
        after: { minEvents: number; keys_flagged: number };
      }[];
      check: {
        before: { profiles: { profile: string }[] };
        after: { profiles: { recall: number | null }[] };
      };
    };
    expect(c.labels).toBe(`${data}.labels.json`);
    expect(c.union.after).toBeLessThanOrEqual(Math.floor(0.001 * c.humans));
    expect(c.check.before.profiles.map((p) => p.profile)).toEqual([...ATTACK_PROFILES]);
    // Key-surge floors from the per-key figures, each flagging at most the budget's share of keys.
    expect(c.items.map((x) => x.feature.rule)).toEqual([
      'product-view-surge',
      'product-cart-surge',
      'brand-view-surge',
      'category-view-surge',
    ]);
    for (const x of c.items) {
      expect(x.keys).toBeGreaterThan(0);
      expect(x.after.keys_flagged).toBeLessThanOrEqual(Math.floor(0.001 * x.keys));
    }
    // The file is a config storepulse accepts, with the calibrated thresholds in it.
    const text = readFileSync(out, 'utf8');
    expect(text).toMatch(/^# storepulse calibrate /);
    const parsed = validateConfig(parseYaml(text));
    expect(parsed.ok).toBe(true);
    const rules = parsed.ok ? parsed.config.detect.rules : [];
    for (const x of c.rules) {
      const rule = rules.find((y) => y.name === x.feature.rule)!;
      expect(
        rule.type === 'regular-timing' ? rule.maxVariation : (rule as { threshold: number }).threshold,
      ).toBe(x.after.threshold);
    }
    for (const x of c.items) {
      const rule = rules.find((y) => y.name === x.feature.rule)!;
      expect((rule as { minEvents: number }).minEvents).toBe(x.after.minEvents);
    }
    // And the rules command reads it.
    const shown = storepulse(['--config', out, 'rules']);
    expect(shown.code, shown.stderr).toBe(0);
  }, 120_000);

  it('prints a table per rule; refuses to overwrite, a bad budget and a missing file', () => {
    const out = path.join(dir, 'kept.yaml');
    writeFileSync(out, 'detect: {}\n');
    const refused = storepulse(['calibrate', data, '--out', out, '--check-events', '0']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/exists: pass --force/);
    expect(readFileSync(out, 'utf8')).toBe('detect: {}\n');
    const r = storepulse(['-q', 'calibrate', data, '--out', out, '--force', '--check-events', '0']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/humans p99\s+p99.9\s+most/);
    expect(r.stdout).toMatch(/user-rate\s+events in 10 s/);
    expect(r.stdout).toMatch(/humans flagged by any of these rules/);
    expect(r.stdout).toMatch(/key-surge floors[^\n]*\n[^\n]*keys with human traffic/);
    expect(r.stdout).toMatch(/product-view-surge\s+\d+/);
    expect(storepulse(['calibrate', data, '--budget', '2', '--out', path.join(dir, 'x.yaml')]).code).toBe(2);
    const missing = storepulse(['calibrate', path.join(dir, 'nope.csv'), '--out', path.join(dir, 'y.yaml')]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/not found/);
    expect(existsSync(path.join(dir, 'y.yaml'))).toBe(false);
  }, 120_000);
});
