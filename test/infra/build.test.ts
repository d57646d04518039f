/**
 * npm run build, for real, into a scratch folder: one archive per job, the Cloud Monitoring client
 * in fleet-watchdog's alone, and no chunk that imports a Node.js builtin as an ES module (which
 * would build a facade that reads every export: node:http's loads undici at every cold start).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { builtinModules } from 'node:module';
import { jobDefinitions } from '../../functions/jobs';

const REPO = path.resolve(__dirname, '..', '..');
const BUILTINS = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));

/** Every chunk of an archive, by name. */
function chunks(dir: string): Map<string, string> {
  return new Map(
    readdirSync(dir)
      .filter((name) => name.endsWith('.js'))
      .map((name) => [name, readFileSync(path.join(dir, name), 'utf8')]),
  );
}

describe('npm run build', () => {
  let out: string;
  beforeAll(() => {
    out = mkdtempSync(path.join(tmpdir(), 'enx-build-'));
    const build = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/build.ts'], {
      cwd: REPO,
      env: { ...process.env, ENX_BUILD_OUT: out },
      encoding: 'utf8',
    });
    if (build.status !== 0) throw new Error(`the build failed:\n${build.stderr}`);
  }, 180_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('writes one archive per job', () => {
    expect(readdirSync(out).sort()).toEqual(jobDefinitions.map((definition) => definition.spec.id).sort());
  });

  it('puts the Cloud Monitoring client in the archive of the job that declares it, and no other', () => {
    const holders = jobDefinitions
      .filter((definition) =>
        [...chunks(path.join(out, definition.spec.id)).values()].some((code) =>
          code.includes('google.monitoring.v3.MetricService'),
        ),
      )
      .map((definition) => definition.spec.id);
    expect(holders).toEqual(
      jobDefinitions
        .filter((definition) => definition.adapters.includes('metricsExport'))
        .map((definition) => definition.spec.id),
    );
    expect(holders).toEqual(['fleet-watchdog']);
  });

  it('imports no Node.js builtin as an ES module', () => {
    const imported: string[] = [];
    for (const job of readdirSync(out)) {
      for (const [name, code] of chunks(path.join(out, job))) {
        // The first line is the banner: its three imports give every chunk its require.
        const body = code.slice(code.indexOf('\n'));
        for (const match of body.matchAll(/\bfrom\s*["']([^"']+)["']/g)) {
          if (BUILTINS.has(match[1])) imported.push(`${job}/${name}: ${match[1]}`);
        }
      }
    }
    expect(imported).toEqual([]);
  });
});
