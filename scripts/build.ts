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
 * Output: dist/functions/<job id>/{index.js, migrations/*.sql, package.json}. Infra archives each
 * folder into that function's own source object.
 */
import { build } from 'esbuild';
import type { Metafile } from 'esbuild';
import { cpSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as jobs from '../functions/jobs';
import type { AnyJobDefinition } from '../functions/core/job-spec';
import type { Adapters } from '../functions/ports';
import { FUNCTION_RUNTIME, bundleTarget, runtimeSchedule } from '../infra/runtime-support';

const root = path.resolve(__dirname, '..');
const outDir = path.join(root, 'dist', 'functions');
const JOBS_DIR = 'functions/jobs/';

/** The build-time flag that leaves an adapter out of a bundle (functions/wiring.ts). */
const OMIT_FLAG: Record<keyof Adapters, string> = {
  keyManager: 'ENX_OMIT_KEY_MANAGER',
  gauges: 'ENX_OMIT_GAUGES',
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
    `registerDeployed([${exportName}]);`,
  ].join('\n');
}

/** Bytes of other jobs' logic (not their config.ts) in the bundle, per job folder. */
function foreignCode(metafile: Metafile, owns: (folder: string) => boolean): Map<string, number> {
  const foreign = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
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
    main: 'index.js',
    engines: { node: `${runtimeSchedule(FUNCTION_RUNTIME)?.nodeMajor}.x` },
    dependencies: { '@google-cloud/functions-framework': frameworkVersion },
  };
  return JSON.stringify(manifest, null, 2) + '\n';
}

async function buildFunction(exportName: string, definition: AnyJobDefinition) {
  const id = definition.spec.id;
  const dir = path.join(outDir, id);
  mkdirSync(dir, { recursive: true });
  const result = await build({
    stdin: { contents: entrySource(exportName), resolveDir: path.join(root, 'functions'), loader: 'ts' },
    outfile: path.join(dir, 'index.js'),
    bundle: true,
    platform: 'node',
    // The deployed runtime's Node.js (infra/runtime-support.ts), not the build machine's.
    target: bundleTarget(FUNCTION_RUNTIME),
    format: 'cjs',
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
  return { id, dir, foreign: foreignCode(result.metafile, (folder) => ownsFolder(id, folder)) };
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
      problems.push(`${built.id}'s bundle holds ${foreignBytes} B of other jobs' code (${where.join(', ')})`);
    }
    cpSync(path.join(root, 'functions', 'db', 'migrations'), path.join(built.dir, 'migrations'), {
      recursive: true,
    });
    writeFileSync(path.join(built.dir, 'package.json'), packageJson(framework));
    const bytes = statSync(path.join(built.dir, 'index.js')).size;
    process.stdout.write(
      `built ${path.relative(root, built.dir)}/index.js (${(bytes / 1e6).toFixed(2)} MB)\n`,
    );
  }
  if (problems.length > 0) {
    throw new Error(
      `${problems.join('; ')}: keep every definition in functions/jobs.ts a /* @__PURE__ */ export`,
    );
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`build failed: ${(error as Error).message}\n`);
  process.exit(1);
});
