/**
 * The installed package: its root folder (where `sql/` and the dashboard's `src/web/ui/` ship) and
 * its version. Found by walking up from this module to storepulse's own package.json, which works
 * from src/ (tests) and from dist/src/ (the installed command) alike.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { StorepulseError } from './errors.js';

const NAME = '@storepulse/cli';

let found: { root: string; version: string } | undefined;

function locate(): { root: string; version: string } {
  if (found) return found;
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = here; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) {
      try {
        const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
        if (pkg.name === NAME) return (found = { root: dir, version: pkg.version ?? 'unknown' });
      } catch {
        // Not ours (or unreadable): keep walking up.
      }
    }
    if (path.dirname(dir) === dir)
      throw new StorepulseError('INTERNAL', `cannot find the package.json of ${NAME} above ${here}`);
  }
}

/** A path inside the installed package. */
export function packagePath(...parts: string[]): string {
  return path.join(locate().root, ...parts);
}

export function packageVersion(): string {
  try {
    return locate().version;
  } catch {
    return 'unknown';
  }
}
