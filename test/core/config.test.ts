import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { configSchema, validateConfig } from '../../src/core/config.js';

describe('config', () => {
  it('has the defaults the README shows', () => {
    const readme = readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### Configuration'));
    const shown = JSON.parse(/```json\n([\s\S]*?)```/.exec(section)![1]!) as {
      detect: { rules: unknown };
    };
    const defaults = configSchema.parse({});
    // The rule set is too long for the README; `storepulse rules --defaults` prints it.
    shown.detect.rules = defaults.detect.rules;
    expect(JSON.parse(JSON.stringify(defaults))).toEqual(shown);
  });

  it('names each bad value by its path in the file, whichever component the setting belongs to', () => {
    const r = validateConfig({
      maxLineBytes: 100,
      simulate: { shards: 0 },
      streams: { pollMs: 0, durability: 'fast', segmentBytes: 2048, checkpointSeconds: 0 },
      actions: { metrics: { prometheus: { port: 70_000 } }, notify: { maxAgeHours: 0 } },
    });
    expect(r.ok).toBe(false);
    expect(r.ok ? [] : r.problems).toEqual([
      'maxLineBytes: Too small: expected number to be >=256',
      'simulate.shards: Too small: expected number to be >=1',
      'streams.durability: Invalid option: expected one of "batch"|"interval"|"none"',
      // The file's floor, above the one a library caller may give the stream directly.
      'streams.segmentBytes: Too small: expected number to be >=65536',
      'streams.pollMs: Too small: expected number to be >=1',
      'streams.checkpointSeconds: Too small: expected number to be >0',
      'actions.metrics.prometheus.port: Too big: expected number to be <=65535',
      'actions.notify.maxAgeHours: Too small: expected number to be >0',
    ]);
  });

  it('leaves the email port to the notifier, which picks 465 for implicit TLS', () => {
    const email = { host: 'smtp.example.com', from: 'a@example.com', to: ['b@example.com'], secure: true };
    const r = validateConfig({ actions: { notify: { email } } });
    expect(r.ok && r.config.actions.notify.email?.port).toBeUndefined();
  });
});
