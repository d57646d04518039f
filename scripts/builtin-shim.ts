/**
 * What scripts/build.ts gives an importer of a Node.js builtin in place of an ES module import of it
 * (its require-builtins plugin says why).
 */

/**
 * The shim for one importer's imports of a builtin. esbuild gives a CommonJS module to an importer
 * through __toESM, which defines a getter for every property the module has: some 100 for
 * node:crypto or node:fs, and 18 such shims in an entry cost about 3 ms of a cold start (CPU
 * profile, Node.js 24, 2026-12-07). When every import of the builtin in the importer names what it
 * takes, the shim offers just those names, read on use as before. A namespace import, a re-export
 * or any form this does not recognise gets the whole module.
 */
export function builtinShim(builtin: string, importerSource: string): string {
  const whole = `module.exports = require(${JSON.stringify(builtin)});`;
  const quoted = `['"]${builtin.replace(/[/]/g, '\\/')}['"]`;
  const mentions = importerSource.match(new RegExp(quoted, 'g'))?.length ?? 0;
  const imports = [
    ...importerSource.matchAll(
      new RegExp(
        String.raw`\bimport\s+(?:type\s+)?([\w$]+)?\s*,?\s*(?:\{([^}]*)\})?\s*from\s*${quoted}`,
        'g',
      ),
    ),
  ];
  if (mentions === 0 || imports.length !== mentions) return whole;
  const names = new Set<string>();
  for (const [, defaultName, named] of imports) {
    if (defaultName === undefined && named === undefined) return whole;
    if (defaultName !== undefined) names.add('default');
    for (const part of (named ?? '').split(',')) {
      const name = part
        .trim()
        .replace(/^type\s+/, '')
        .split(/\s+as\s+/)[0];
      if (name !== '') names.add(name);
    }
  }
  const getters = [...names].map((name) =>
    name === 'default' ? 'get default() { return m; }' : `get ${name}() { return m.${name}; }`,
  );
  return `const m = require(${JSON.stringify(builtin)});\nmodule.exports = { __esModule: true, ${getters.join(', ')} };`;
}
