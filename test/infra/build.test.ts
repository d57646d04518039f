/**
 * npm run build, for real, into a scratch folder: one archive per job, the Cloud Monitoring client
 * in fleet-watchdog's alone, no chunk that imports a Node.js builtin as an ES module (which
 * would build a facade that reads every export: node:http's loads undici at every cold start), and
 * an archive that starts under the Functions Framework's CLI as Cloud Functions starts it.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { builtinModules } from 'node:module';
import { jobDefinitions } from '../../functions/jobs';
import { freePort } from '../../local/embedded-postgres';
import { createTestDatabase } from '../support/database';
import { eventually } from '../support/test-jobs';
import { FRAMEWORK_CLI } from '../../scripts/build-output';

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

  it('gives a chunk of its own only to code that an import() in the archive shares', () => {
    const alone: string[] = [];
    for (const job of readdirSync(out)) {
      const archive = chunks(path.join(out, job));
      const entry = archive.get('index.js')!;
      // The entry's static imports: each is one more ES module for every cold start to load.
      for (const [, chunk] of entry.matchAll(
        /^import\s*(?:\{[^}]*\}\s*from\s*)?["']\.\/(chunk-\w+\.js)["']/gm,
      )) {
        const sharers = [...archive].filter(
          ([name, code]) => name !== 'index.js' && code.includes(`"./${chunk}"`),
        );
        if (sharers.length === 0) alone.push(`${job}/${chunk}`);
      }
    }
    expect(alone).toEqual([]);
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

  it('gives the code a cold start reads only the builtin exports it names (scripts/builtin-shim.ts)', () => {
    const whole: string[] = [];
    for (const job of readdirSync(out)) {
      const entry = chunks(path.join(out, job)).get('index.js')!;
      for (const match of entry.matchAll(
        /\/\/ builtin-via-require:(\S+)\n.*\n.*\n\s*module\.exports = __require/g,
      )) {
        whole.push(`${job}: ${match[1]}`);
      }
    }
    expect(whole).toEqual([]);
    expect(chunks(path.join(out, 'cleanup-worker')).get('index.js')).toContain('__esModule: !0, get ');
  });

  it("serves its job under the framework's CLI and connects to the database before any request", async () => {
    const id = 'cleanup-worker';
    const archive = path.join(out, id);
    // Where Cloud Functions' buildpack installs the archive's one dependency, the framework.
    symlinkSync(path.join(REPO, 'node_modules'), path.join(archive, 'node_modules'), 'dir');
    const db = await createTestDatabase(1);
    const port = await freePort();
    let instance: ChildProcess | undefined;
    let stderr = '';
    try {
      instance = spawn(process.execPath, [FRAMEWORK_CLI, `--target=${id}`, `--source=${archive}`], {
        env: {
          PATH: process.env.PATH,
          PORT: String(port),
          NODE_ENV: 'production',
          METADATA_SERVER_DETECTION: 'none',
          K_SERVICE: id,
          DATABASE_URL: db.url,
          DB_SSLMODE: 'disable',
          DB_MIGRATE: 'off',
          OIDC_ISSUER: 'https://accounts.google.com',
          OIDC_AUDIENCE: `http://127.0.0.1:${port}`,
          OIDC_INVOKER_EMAILS: 'scheduler@enx-test.iam.gserviceaccount.com',
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      instance.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      await eventually(
        async () => {
          const { rows } = await db.pool.query(
            'SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND application_name = $2',
            [db.name, id],
          );
          return rows.length === 1 || instance!.exitCode !== null;
        },
        `${id}'s connection at start`,
        20_000,
      );
      expect(stderr).toBe('');
      expect(instance.exitCode).toBeNull();
      let answer: Response | undefined;
      await eventually(
        async () => {
          answer = await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined);
          return answer !== undefined;
        },
        `${id}'s first answer`,
        20_000,
      );
      // No token: the job's own handler refuses it, which only a registered, configured runtime does.
      expect(answer!.status).toBe(401);
    } finally {
      instance?.kill('SIGKILL');
      await db.drop();
    }
  }, 60_000);
});
