import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createContext } from '../../src/cli/context.js';
import { DEFAULT_CONFIG } from '../../src/core/config.js';
import { StorepulseError } from '../../src/core/errors.js';

describe('config file and data folder', () => {
  let cwd: string;
  const env = process.env.STOREPULSE_DATA_DIR;
  beforeEach(() => {
    cwd = mkdtempSync(path.join(tmpdir(), 'sp-ctx-'));
    delete process.env.STOREPULSE_DATA_DIR;
  });
  afterEach(() => {
    rmSync(cwd, { recursive: true, force: true });
    if (env === undefined) delete process.env.STOREPULSE_DATA_DIR;
    else process.env.STOREPULSE_DATA_DIR = env;
  });

  it('defaults to ./data and the documented defaults', () => {
    const ctx = createContext({}, cwd);
    expect(ctx.dataDir).toBe(path.join(cwd, 'data'));
    expect(ctx.config).toEqual(DEFAULT_CONFIG);
    expect(ctx.config.detect).toMatchObject({ threshold: 5, highThreshold: 10, windowSeconds: 10 });
  });

  it('reads storepulse.config.yaml from the current folder; flags and env override the data folder', () => {
    writeFileSync(
      path.join(cwd, 'storepulse.config.yaml'),
      'dataDir: from-config\ndetect:\n  threshold: 7\n',
    );
    expect(createContext({}, cwd)).toMatchObject({
      dataDir: path.join(cwd, 'from-config'),
      config: { detect: { threshold: 7, highThreshold: 10 } },
    });
    process.env.STOREPULSE_DATA_DIR = path.join(cwd, 'from-env');
    expect(createContext({}, cwd).dataDir).toBe(path.join(cwd, 'from-env'));
    expect(createContext({ dataDir: 'from-flag' }, cwd).dataDir).toBe(path.join(cwd, 'from-flag'));
  });

  it('names every problem of an invalid config, as a usage-class error', () => {
    const file = path.join(cwd, 'bad.json');
    writeFileSync(file, JSON.stringify({ detect: { threshold: -1, timeField: 'arrival' }, colour: 'red' }));
    let err: unknown;
    try {
      createContext({ config: file }, cwd);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StorepulseError);
    expect((err as StorepulseError).exitCode).toBe(2);
    expect((err as Error).message).toMatch(/detect\.threshold/);
    expect((err as Error).message).toMatch(/detect\.timeField/);
    expect((err as Error).message).toMatch(/colour/);
    writeFileSync(file, '{ not json');
    expect(() => createContext({ config: file }, cwd)).toThrow(/is not valid/);
  });
});
