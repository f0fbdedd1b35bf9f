/**
 * The default rule set in docs/detection.md is what `storepulse rules` prints: the docs are checked
 * against the code, so a changed default cannot leave them behind.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_RULES } from '../../src/core/rules/spec.js';
import { storepulse } from '../helpers/cli.js';

const DOC = path.resolve(import.meta.dirname, '../../docs/detection.md');

function section(): string {
  const doc = readFileSync(DOC, 'utf8');
  return doc.slice(doc.indexOf('## The default set'), doc.indexOf('## The reference rule'));
}

describe('docs/detection.md', () => {
  it('shows the default rules exactly as storepulse rules prints them', () => {
    // An empty folder as the working directory: no config file is picked up.
    const cwd = mkdtempSync(path.join(tmpdir(), 'sp-rules-'));
    try {
      const r = storepulse(['rules'], { cwd });
      expect(r.code, r.stderr).toBe(0);
      const block = /```text\n([\s\S]*?)```/.exec(section());
      expect(block, 'a ```text block in "The default set"').not.toBeNull();
      expect(block![1]).toBe(r.stdout);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('says what each default rule is for, and only those', () => {
    const named = [...section().matchAll(/^\| `([a-z-]+)`/gm)].map((m) => m[1]);
    expect(named).toEqual(DEFAULT_RULES.map((r) => r.name));
  });
});
