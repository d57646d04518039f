/**
 * Composition at the edge: the core (functions/core) and the ports it names never import an
 * implementation. Adapters are chosen by a wiring at an entry (functions/wiring.ts, local/wiring.ts,
 * test/support), so nothing in core can pull Google clients, local stand-ins or test fakes into a
 * deployed archive. Every import in core is read from the source, type-only ones included.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const REPO = path.resolve(__dirname, '..', '..', '..');
const FORBIDDEN = ['functions/adapters', 'local', 'test'].map((dir) => path.join(REPO, dir));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** Every module specifier a file names: import/export ... from, import(), require(). */
export function importedModules(source: string): string[] {
  const patterns = [
    /\b(?:import|export)\s[^'"]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  return patterns.flatMap((pattern) => [...source.matchAll(pattern)].map((match) => match[1]));
}

function forbiddenImports(dir: string): string[] {
  return sourceFiles(dir).flatMap((file) =>
    importedModules(readFileSync(file, 'utf8'))
      .filter((specifier) => specifier.startsWith('.'))
      .map((specifier) => path.resolve(path.dirname(file), specifier))
      .filter((target) => FORBIDDEN.some((dir) => target === dir || target.startsWith(dir + path.sep)))
      .map((target) => `${path.relative(REPO, file)} imports ${path.relative(REPO, target)}`),
  );
}

describe('composition at the edge', () => {
  it('finds every kind of import (the scan itself can fail)', () => {
    const source = [
      "import type { A } from '../adapters/a';",
      "import { B,\n  C } from '../../local/b';",
      "export { D } from '../../test/d';",
      "import '../adapters/side-effect';",
      "const e = await import('../adapters/e');",
      "const f = require('../adapters/f');",
    ].join('\n');
    expect(importedModules(source)).toEqual([
      '../adapters/a',
      '../../local/b',
      '../../test/d',
      '../adapters/side-effect',
      '../adapters/e',
      '../adapters/f',
    ]);
  });

  it('functions/core imports nothing from adapters/, local/ or test/', () => {
    expect(forbiddenImports(path.join(REPO, 'functions', 'core'))).toEqual([]);
  });

  it('functions/ports imports nothing from adapters/, local/ or test/', () => {
    expect(forbiddenImports(path.join(REPO, 'functions', 'ports'))).toEqual([]);
  });

  it('no production file imports local/ or test/', () => {
    const production = forbiddenImports(path.join(REPO, 'functions')).filter(
      (line) => !line.includes(' imports functions/adapters'),
    );
    expect(production).toEqual([]);
  });
});
