/**
 * Builds one deployable per function: dist/functions/<job id>/ holds a bundle of that job's entry
 * (its own definition from functions/jobs.ts, registered by functions/deployed.ts), the SQL
 * migrations, and a package.json whose only dependency is the Functions Framework. Cloud
 * Functions' buildpack installs that and starts the framework, which loads the bundle. The
 * framework stays outside the bundle on purpose: bundled and also started by its CLI, it would keep
 * two function registries and find no target.
 *
 * A bundle holds its job's code and nothing of the other jobs': every definition is a pure export,
 * so esbuild drops the ones the entry does not name. The build checks this from esbuild's metafile
 * and fails when another job's code made it in. Adapters are in every bundle but loaded on first
 * use (functions/wiring.ts), so a cold start evaluates only what its job calls.
 *
 * The bundle is ES modules split into chunks: the entry holds the runtime and the job, and each
 * adapter or Google client loaded with import() is a chunk read only when first called. It is
 * built twice: the second pass stubs the import() calls the first found unreachable, so that the
 * entry is not split into chunks it alone loads (stubUnreachedImports).
 *
 * Output: dist/functions/<job id>/{index.js, chunk-*.js, migrations/*.sql, package.json}. Infra
 * archives each folder into that function's own source object.
 */
import { build } from 'esbuild';
import type { Metafile, Plugin } from 'esbuild';
import { builtinModules } from 'node:module';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import * as jobs from '../functions/jobs';
import { archiveBytes } from './build-output';
import { builtinShim } from './builtin-shim';
import type { AnyJobDefinition } from '../functions/core/job-spec';
import type { Adapters } from '../functions/ports';
import { FUNCTION_RUNTIME, bundleTarget, runtimeSchedule } from '../infra/runtime-support';

const root = path.resolve(__dirname, '..');
/** Where the archives go; ENX_BUILD_OUT lets a test build elsewhere than the deployed dist/. */
const outDir = process.env.ENX_BUILD_OUT || path.join(root, 'dist', 'functions');
const JOBS_DIR = 'functions/jobs/';

/**
 * What the bundled CommonJS packages and the migration runner expect of a module scope, given to
 * each ES module chunk: require (for Node's own modules and JSON), __filename and __dirname.
 */
const ESM_BANNER = [
  "import { createRequire as enxCreateRequire } from 'node:module';",
  "import { fileURLToPath as enxFileURLToPath } from 'node:url';",
  "import { dirname as enxDirname } from 'node:path';",
  'const require = enxCreateRequire(import.meta.url);',
  'const __filename = enxFileURLToPath(import.meta.url);',
  'const __dirname = enxDirname(__filename);',
].join(' ');

const BUILTIN_NAMES = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));

/**
 * Node's own modules are required, not imported, by every chunk. An ES module import of a builtin
 * makes Node build an ES module facade of it, and building it reads every export, lazy ones
 * included: node:http's lazy exports load undici (WebSocket, fetch) and that alone cost a cold
 * start about 20 ms on Node.js 24 (CPU profile, 2026-12-06). A require reads only what is used.
 * Our code and ESM packages (jose) write `import ... from 'node:http'`; this turns each such import
 * into a CommonJS module that requires the builtin, through the banner's require.
 */
const requireBuiltins: Plugin = {
  name: 'require-builtins',
  setup(build) {
    build.onResolve({ filter: /^[a-z_:/]+$/ }, (args) =>
      args.kind === 'import-statement' && BUILTIN_NAMES.has(args.path)
        ? // One shim per importing module: a shim shared by the entry and a lazy chunk would become
          // a chunk of its own, one more ES module for every cold start to load.
          { path: `${args.path}#${args.importer}`, namespace: 'builtin-via-require' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'builtin-via-require' }, (args) => {
      const [builtin, importer] = args.path.split('#');
      // An importer that is not a file (a plugin's virtual module) gets the whole builtin.
      const source = existsSync(importer) ? readFileSync(importer, 'utf8') : '';
      return { contents: builtinShim(builtin, source), loader: 'js' };
    });
  },
};

const UNREACHED_NAMESPACE = 'unreached-dynamic-import';
/** Marks the plugin's own resolve calls, which must not come back to it. */
const OWN_RESOLVE = { stubUnreachedImports: true };

/**
 * esbuild splits code into chunks by which entry points reach it, and every import() is an entry
 * point, also one in code it then drops (an adapter the job does not declare, behind its ENX_OMIT_*
 * test). Code the entry shares only with such a dropped import so became a chunk of its own, and
 * every cold start loaded it as one more ES module: appsync-worker's entry imported 10 chunks, 8 of
 * them used by nothing else. The second pass points every import() the first pass found
 * unreachable at a stub, so only imports that can run split the code.
 */
function stubUnreachedImports(reached: ReadonlySet<string>): Plugin {
  return {
    name: 'stub-unreached-imports',
    setup(build) {
      build.onResolve({ filter: /.*/ }, async (args) => {
        if (args.kind !== 'dynamic-import' || args.pluginData === OWN_RESOLVE) return undefined;
        const resolved = await build.resolve(args.path, {
          kind: args.kind,
          importer: args.importer,
          resolveDir: args.resolveDir,
          pluginData: OWN_RESOLVE,
        });
        if (resolved.errors.length > 0 || reached.has(path.relative(root, resolved.path))) return undefined;
        return { path: resolved.path, namespace: UNREACHED_NAMESPACE };
      });
      build.onLoad({ filter: /.*/, namespace: UNREACHED_NAMESPACE }, (args) => ({
        // Only dead code imports it; should that ever change, the import fails and says why.
        contents: `throw new Error(${JSON.stringify(`${path.relative(root, args.path)} is not in this function's archive`)});`,
        loader: 'js',
      }));
    },
  };
}

/** The modules behind the import() calls that stayed in the archive (chunks with an entry point). */
function reachedImports(metafile: Metafile, kept: ReadonlySet<string>): Set<string> {
  return new Set(
    Object.entries(metafile.outputs)
      .filter(([file, output]) => kept.has(path.basename(file)) && output.entryPoint !== undefined)
      .map(([, output]) => output.entryPoint!)
      .filter((entryPoint) => !entryPoint.startsWith('<stdin>')),
  );
}

/** The build-time flag that leaves an adapter out of a bundle (functions/wiring.ts). */
const OMIT_FLAG: Record<keyof Adapters, string> = {
  keyManager: 'ENX_OMIT_KEY_MANAGER',
  gauges: 'ENX_OMIT_GAUGES',
  metricsExport: 'ENX_OMIT_METRICS_EXPORT',
  secretStore: 'ENX_OMIT_SECRET_STORE',
  databaseExport: 'ENX_OMIT_DATABASE_EXPORT',
  rateLimiter: 'ENX_OMIT_RATE_LIMITER',
  mailer: 'ENX_OMIT_MAILER',
};

/**
 * What other jobs may leave in a bundle: the catalog reads every job's config.ts (and the setting
 * helpers beside them), and a module's initializer call or a constant computed at load (e2e's demo
 * apps) stays too. Their logic does not: one job's steps alone are several kilobytes.
 */
const FOREIGN_BYTES_ALLOWED = 2048;

/** Each job's definition and the name functions/jobs.ts exports it under. */
export function definitionExports(): { name: string; definition: AnyJobDefinition }[] {
  return Object.entries(jobs)
    .filter(([name]) => name !== 'jobDefinitions')
    .map(([name, value]) => ({ name, definition: value as AnyJobDefinition }))
    .filter(({ definition }) => typeof definition?.spec?.id === 'string');
}

function entrySource(exportName: string): string {
  return [
    "import { registerDeployed } from './deployed';",
    `import { ${exportName} } from './jobs';`,
    // Top-level await: the framework's import() settles once the database connection has started.
    `await registerDeployed([${exportName}]);`,
  ].join('\n');
}

/**
 * esbuild writes a chunk for every import() it saw, also those in code it then left out (the
 * adapters a job does not declare). Only what the entry can reach, statically or by import(), stays.
 */
function pruneUnreachable(dir: string): Set<string> {
  const reachable = new Set<string>();
  const pending = ['index.js'];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (reachable.has(file)) continue;
    reachable.add(file);
    const source = readFileSync(path.join(dir, file), 'utf8');
    for (const match of source.matchAll(/(?:from|import)\s*\(?\s*["']\.\/(chunk-[A-Z0-9]+\.js)["']/g)) {
      pending.push(match[1]);
    }
  }
  for (const name of readdirSync(dir)) {
    if (name.endsWith('.js') && !reachable.has(name)) rmSync(path.join(dir, name));
  }
  return reachable;
}

/** Bytes of other jobs' logic (not their config.ts) in the archive, per job folder. */
function foreignCode(
  metafile: Metafile,
  kept: ReadonlySet<string>,
  owns: (folder: string) => boolean,
): Map<string, number> {
  const foreign = new Map<string, number>();
  for (const [file, output] of Object.entries(metafile.outputs)) {
    if (!kept.has(path.basename(file))) continue;
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      if (!input.startsWith(JOBS_DIR) || input.endsWith('/config.ts')) continue;
      const [folder, file] = input.slice(JOBS_DIR.length).split('/');
      if (file !== undefined && !owns(folder))
        foreign.set(folder, (foreign.get(folder) ?? 0) + bytesInOutput);
    }
  }
  return foreign;
}

function packageJson(frameworkVersion: string): string {
  const manifest = {
    name: 'enx-jobs-functions',
    private: true,
    type: 'module',
    main: 'index.js',
    engines: { node: `${runtimeSchedule(FUNCTION_RUNTIME)?.nodeMajor}.x` },
    dependencies: { '@google-cloud/functions-framework': frameworkVersion },
  };
  return JSON.stringify(manifest, null, 2) + '\n';
}

async function buildFunction(exportName: string, definition: AnyJobDefinition) {
  const id = definition.spec.id;
  const dir = path.join(outDir, id);
  const first = await bundle(exportName, definition, dir, []);
  const reached = reachedImports(first.metafile, pruneUnreachable(dir));
  rmSync(dir, { recursive: true });
  const result = await bundle(exportName, definition, dir, [stubUnreachedImports(reached)]);
  const kept = pruneUnreachable(dir);
  const stillReached = reachedImports(result.metafile, kept);
  const lost = [...reached].filter((entry) => !stillReached.has(entry));
  if (lost.length > 0) throw new Error(`${id}: the second pass lost import() targets: ${lost.join(', ')}`);
  return {
    id,
    dir,
    foreign: foreignCode(result.metafile, kept, (folder) => ownsFolder(id, folder)),
    undeclared: undeclaredClients(result.metafile, kept, definition.adapters),
  };
}

function bundle(exportName: string, definition: AnyJobDefinition, dir: string, extraPlugins: Plugin[]) {
  mkdirSync(dir, { recursive: true });
  return build({
    stdin: { contents: entrySource(exportName), resolveDir: path.join(root, 'functions'), loader: 'ts' },
    outdir: dir,
    entryNames: 'index',
    // Beside index.js, so __dirname (the banner's) is the archive's root in every chunk.
    chunkNames: 'chunk-[hash]',
    bundle: true,
    platform: 'node',
    // The deployed runtime's Node.js (infra/runtime-support.ts), not the build machine's.
    target: bundleTarget(FUNCTION_RUNTIME),
    // ES modules so that every import() is a chunk of its own, read and compiled only when first
    // called: a cold start parses the entry (the runtime and the job), not the Google clients.
    format: 'esm',
    splitting: true,
    banner: { js: ESM_BANNER },
    plugins: [requireBuiltins, ...extraPlugins],
    minifySyntax: true,
    treeShaking: true,
    // pg-native is an optional native driver pg never needs here.
    external: ['pg-native', '@google-cloud/functions-framework'],
    metafile: true,
    // The adapters the job does not declare are left out (functions/wiring.ts).
    define: Object.fromEntries(
      Object.entries(OMIT_FLAG).map(([adapter, flag]) => [
        `process.env.${flag}`,
        JSON.stringify(String(!definition.adapters.includes(adapter as keyof Adapters))),
      ]),
    ),
    logLevel: 'warning',
  });
}

/** The package each adapter's Google (or other outside) client comes from. */
const ADAPTER_PACKAGE: Partial<Record<keyof Adapters, string>> = {
  keyManager: 'node_modules/@google-cloud/kms/',
  secretStore: 'node_modules/@google-cloud/secret-manager/',
  metricsExport: 'node_modules/@google-cloud/monitoring/',
  mailer: 'node_modules/nodemailer/',
  rateLimiter: 'node_modules/ioredis/',
};

/** The clients in the archive whose adapter the job does not declare: a wiring that leaks one. */
function undeclaredClients(
  metafile: Metafile,
  kept: ReadonlySet<string>,
  declared: readonly string[],
): string[] {
  const inputs = Object.entries(metafile.outputs)
    .filter(([file]) => kept.has(path.basename(file)))
    .flatMap(([, output]) => Object.keys(output.inputs));
  return Object.entries(ADAPTER_PACKAGE)
    .filter(
      ([adapter, prefix]) => !declared.includes(adapter) && inputs.some((input) => input.startsWith(prefix!)),
    )
    .map(([adapter, prefix]) => `${prefix!.slice('node_modules/'.length, -1)} (${adapter})`);
}

/** A job's code is in its own folder, or one its family shares (e2e-* share e2e/, emailer-* emailer/). */
function ownsFolder(id: string, folder: string): boolean {
  return folder === id || id.startsWith(`${folder}-`);
}

async function main(): Promise<void> {
  const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  const framework = manifest.dependencies['@google-cloud/functions-framework'];
  rmSync(outDir, { recursive: true, force: true });
  const problems: string[] = [];
  for (const { name, definition } of definitionExports()) {
    const built = await buildFunction(name, definition);
    const foreignBytes = [...built.foreign.values()].reduce((sum, bytes) => sum + bytes, 0);
    if (foreignBytes > FOREIGN_BYTES_ALLOWED) {
      const where = [...built.foreign].filter(([, bytes]) => bytes > 0).map(([f, b]) => `${f} ${b} B`);
      problems.push(
        `${built.id}'s bundle holds ${foreignBytes} B of other jobs' code (${where.join(', ')}): keep every definition in functions/jobs.ts a /* @__PURE__ */ export`,
      );
    }
    if (built.undeclared.length > 0) {
      problems.push(
        `${built.id}'s bundle holds clients of adapters it does not declare: ${built.undeclared.join(', ')} (functions/wiring.ts must reach them only behind their ENX_OMIT_* test)`,
      );
    }
    cpSync(path.join(root, 'functions', 'db', 'migrations'), path.join(built.dir, 'migrations'), {
      recursive: true,
    });
    writeFileSync(path.join(built.dir, 'package.json'), packageJson(framework));
    const entry = statSync(path.join(built.dir, 'index.js')).size / 1e6;
    const all = archiveBytes(built.dir) / 1e6;
    process.stdout.write(
      `built ${path.relative(root, built.dir)}: index.js ${entry.toFixed(2)} MB read at start, ${all.toFixed(2)} MB of JavaScript in all\n`,
    );
  }
  if (problems.length > 0) {
    throw new Error(problems.join('; '));
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`build failed: ${(error as Error).message}\n`);
  process.exit(1);
});
