import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/core/config.js';

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
});
