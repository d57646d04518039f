/**
 * Builds the deployable function source: one bundle of functions/ (every job, selected at deploy
 * time by entry point = job id), the SQL migrations next to it, and a package.json whose only
 * dependency is the Functions Framework. Cloud Functions' buildpack installs that and starts the
 * framework, which loads the bundle. The framework stays outside the bundle on purpose: bundled and
 * also started by its CLI, it would keep two function registries and find no target.
 *
 * Output: dist/functions/{index.js, migrations/*.sql, package.json}. Infra archives that folder.
 */
import { build } from 'esbuild';
import { cpSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FUNCTION_RUNTIME, bundleTarget, runtimeSchedule } from '../infra/runtime-support';

const root = path.resolve(__dirname, '..');
const outDir = path.join(root, 'dist', 'functions');

async function main(): Promise<void> {
  const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });

  await build({
    entryPoints: [path.join(root, 'functions', 'index.ts')],
    outfile: path.join(outDir, 'index.js'),
    bundle: true,
    platform: 'node',
    // The deployed runtime's Node.js (infra/runtime-support.ts), not the build machine's.
    target: bundleTarget(FUNCTION_RUNTIME),
    format: 'cjs',
    sourcemap: 'linked',
    // pg-native is an optional native driver pg never needs here.
    external: ['pg-native', '@google-cloud/functions-framework'],
    logLevel: 'warning',
  });
  cpSync(path.join(root, 'functions', 'db', 'migrations'), path.join(outDir, 'migrations'), {
    recursive: true,
  });
  writeFileSync(
    path.join(outDir, 'package.json'),
    JSON.stringify(
      {
        name: 'enx-jobs-functions',
        private: true,
        main: 'index.js',
        engines: { node: `${runtimeSchedule(FUNCTION_RUNTIME)?.nodeMajor}.x` },
        dependencies: {
          '@google-cloud/functions-framework': manifest.dependencies['@google-cloud/functions-framework'],
        },
      },
      null,
      2,
    ) + '\n',
  );
  const bytes = statSync(path.join(outDir, 'index.js')).size;
  process.stdout.write(`built ${path.relative(root, outDir)}/index.js (${(bytes / 1e6).toFixed(1)} MB)\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`build failed: ${(error as Error).message}\n`);
  process.exit(1);
});
