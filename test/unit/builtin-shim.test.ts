import { createRequire } from 'node:module';
import crypto from 'node:crypto';
import http from 'node:http';
import { builtinShim } from '../../scripts/builtin-shim';

const nodeRequire = createRequire(__filename);

/** Evaluates a shim the way the bundle does: a CommonJS module with Node's require. */
function load(shim: string): Record<string, unknown> {
  const module = { exports: {} as Record<string, unknown> };
  new Function('module', 'require', shim)(module, nodeRequire);
  return module.exports;
}

describe('builtinShim', () => {
  it('offers only the names the importer takes, read from the builtin when used', () => {
    const exports = load(
      builtinShim(
        'node:crypto',
        'import type { KeyObject } from \'node:crypto\';\nimport {\n  createHash,\n  randomBytes as bytes,\n} from "node:crypto";',
      ),
    );
    expect(Object.keys(exports).sort()).toEqual(['KeyObject', '__esModule', 'createHash', 'randomBytes']);
    expect(exports.createHash).toBe(crypto.createHash);
  });

  it('gives a default import the whole module, and a name beside it that name', () => {
    const exports = load(builtinShim('node:http', "import http, { request } from 'node:http';"));
    expect(Object.keys(exports).sort()).toEqual(['__esModule', 'default', 'request']);
    expect(exports.default).toBe(http);
  });

  it('matches the specifier exactly: node:fs/promises is not node:fs', () => {
    const source = "import { readFile } from 'node:fs/promises';\nimport { existsSync } from 'node:fs';";
    expect(Object.keys(load(builtinShim('node:fs', source))).sort()).toEqual(['__esModule', 'existsSync']);
    expect(Object.keys(load(builtinShim('node:fs/promises', source))).sort()).toEqual([
      '__esModule',
      'readFile',
    ]);
  });

  it.each([
    ['a namespace import', "import * as crypto from 'node:crypto';"],
    ['a re-export', "export { createHash } from 'node:crypto';"],
    ['a side-effect import', "import 'node:crypto';"],
    [
      'a require beside the import',
      "import { createHash } from 'node:crypto';\nconst c = require('node:crypto');",
    ],
    ['a dynamic import beside it', "import { createHash } from 'node:crypto';\nawait import('node:crypto');"],
  ])('gives the whole module to %s', (_case, source) => {
    expect(builtinShim('node:crypto', source)).toBe('module.exports = require("node:crypto");');
  });
});
