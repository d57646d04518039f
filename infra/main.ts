/**
 * The CDKTF app entry (`npm run synth`, `npx cdktf synth|deploy`): reads the settings once, builds
 * each function's source (one archive per function), and synthesizes one stack per environment into
 * cdktf.out/stacks/<environment>. Every cdktf import stays inside infra/.
 *
 * With no settings at all (no ENX_INFRA_SETTINGS_FILE, no ENX_INFRA_* variable) it synthesizes
 * infra/settings.example.json, so a fresh clone synthesizes offline; a deployment names its own.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { buildApp } from './app';
import { deployedJobs } from './job-env';
import { formatViolations, preflight } from './preflight';
import type { StackJson } from './preflight';
import type { InfraSettings } from './settings';
import { BUILD_ENV, InfraSettingsError, SETTINGS_FILE_ENV, loadSettings } from './settings';

const REPOSITORY_ROOT = path.resolve(__dirname, '..');
const EXAMPLE_SETTINGS = 'infra/settings.example.json';
/** What scripts/build.ts writes. */
const BUILD_OUTPUT = 'dist/functions';

function readSettings(): InfraSettings {
  const env = { ...process.env };
  const given = Object.keys(env).some((name) => name.startsWith('ENX_INFRA_') && name !== BUILD_ENV);
  if (!given) {
    process.stderr.write(
      `No ${SETTINGS_FILE_ENV} or ENX_INFRA_* settings: synthesizing ${EXAMPLE_SETTINGS} (see docs/deploy.md).\n`,
    );
    env[SETTINGS_FILE_ENV] = path.join(REPOSITORY_ROOT, EXAMPLE_SETTINGS);
  }
  return loadSettings(env, process.cwd());
}

/** Builds dist/functions unless told not to, so no archive ever holds a stale bundle. */
function buildFunctions(settings: InfraSettings): void {
  const usesBuild = settings.environments.some((environment) => environment.functionSource === BUILD_OUTPUT);
  if (!usesBuild || process.env[BUILD_ENV]?.trim().toLowerCase() === 'false') return;
  const result = spawnSync(process.execPath, ['--import', 'tsx', path.join('scripts', 'build.ts')], {
    cwd: REPOSITORY_ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (result.status !== 0) {
    throw new Error(
      `npm run build failed (exit ${result.status ?? result.signal}); the functions cannot be archived`,
    );
  }
}

/**
 * The archive's zip entries carry file times; pinning them makes two syntheses of the same build
 * byte-identical, so Terraform re-uploads the archive only when its content changed.
 */
function pinFileTimes(folder: string): void {
  const pinned = new Date('2000-01-01T00:00:00Z');
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const entryPath = path.join(folder, entry.name);
    if (entry.isDirectory()) pinFileTimes(entryPath);
    utimesSync(entryPath, pinned, pinned);
  }
}

function main(): void {
  const settings = readSettings();
  buildFunctions(settings);
  if (settings.environments.some((environment) => environment.functionSource === BUILD_OUTPUT)) {
    pinFileTimes(path.join(REPOSITORY_ROOT, BUILD_OUTPUT));
  }
  // Every function deploys from its own archive: <functionSource>/<job id>.
  const missing = settings.environments.flatMap((environment) =>
    deployedJobs(environment)
      .map((spec) => path.join(environment.functionSource, spec.id))
      .filter((folder) => !existsSync(path.join(REPOSITORY_ROOT, folder))),
  );
  if (missing.length > 0) {
    throw new InfraSettingsError([
      `functionSource (ENX_INFRA_FUNCTION_SOURCE): ${missing.join(', ')} do not exist; run npm run build, or point it at the built functions (one folder per job)`,
    ]);
  }
  const { app, stacks } = buildApp(settings);
  app.synth();
  checkSynthesized(
    app.outdir,
    stacks.map((stack) => stack.node.id),
  );
}

class PreflightError extends Error {}

/** Reads back what synth wrote and refuses it when it breaks a documented limit (preflight.ts). */
function checkSynthesized(outdir: string, stackNames: readonly string[]): void {
  const refusals = stackNames.flatMap((name) => {
    const file = path.join(outdir, 'stacks', name, 'cdk.tf.json');
    const violations = preflight(JSON.parse(readFileSync(file, 'utf8')) as StackJson);
    return violations.length > 0 ? [formatViolations(name, violations)] : [];
  });
  if (refusals.length > 0) throw new PreflightError(refusals.join('\n'));
}

try {
  main();
} catch (error) {
  if (error instanceof InfraSettingsError || error instanceof PreflightError) {
    process.stderr.write(`${error.message}\n`);
  } else {
    process.stderr.write(`synth failed: ${(error as Error).stack ?? String(error)}\n`);
  }
  process.exit(1);
}
