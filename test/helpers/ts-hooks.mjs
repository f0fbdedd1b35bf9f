/**
 * Module hooks that let a test run a TypeScript file of this repository as a child process without a
 * build (see ts-child.ts): `./x.js` imports from a .ts file resolve to `./x.ts` when it exists, and .ts
 * files are transpiled on load (types are erased, not checked: `tsc --noEmit` does that). The
 * transpiler is rolldown's (it comes with vitest, and loads in a blink); TypeScript's own, which takes
 * seconds to load, is the fallback.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath, URL } from 'node:url';

/** (file, source) → JavaScript. */
const transpile = await (async () => {
  try {
    const { transformSync } = await import('rolldown/experimental');
    return (file, source) => {
      const out = transformSync(file, source, { sourcemap: false });
      if (out.errors.length > 0) throw new Error(`${file}: ${out.errors.map((e) => e.message).join('; ')}`);
      return out.code;
    };
  } catch {
    const { default: ts } = await import('typescript');
    return (file, source) =>
      ts.transpileModule(source, {
        fileName: file,
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      }).outputText;
  }
})();

export async function resolve(specifier, context, nextResolve) {
  const parent = context.parentURL;
  if (parent?.endsWith('.ts') && specifier.endsWith('.js') && /^(\.{1,2}\/|\/|file:)/.test(specifier)) {
    const candidate = new URL(specifier.replace(/\.js$/, '.ts'), parent);
    if (existsSync(fileURLToPath(candidate))) return { url: candidate.href, shortCircuit: true };
  }
  return nextResolve(specifier, context);
}

export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return nextLoad(url, context);
  const file = fileURLToPath(url);
  return { format: 'module', source: transpile(file, await readFile(file, 'utf8')), shortCircuit: true };
}
