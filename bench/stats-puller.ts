/**
 * Benchmark (d): stats-puller-worker over many realms (issue 5 §7): N realms on the system key,
 * pulled by the real runStatsPuller from the loopback key-server stand-in that answers each request
 * in a fixed latency, into a fresh clone of the migrated database. The ideal wall time is
 * realms × latency / workers (the key server's latency is the only wait); the target is at least
 * 0.8 of that throughput. Tokens are signed by the local key manager (pure-JS P-256, a few ms of
 * CPU each), so the figure includes signing, as production includes a KMS call.
 */
import { onlyAdapters } from '../test/support/only-adapters';
import { statsPullerWorker } from '../functions/catalog';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { Pool } from 'pg';
import { LocalGauges } from '../functions/ports/gauges';
import { LocalKeyManager } from '../functions/adapters/local-key-manager';
import { systemClock } from '../functions/core/clock';
import type { JobContext, JobResult } from '../functions/core/job-spec';
import { createLogger, SecretRegistry } from '../functions/core/logger';
import { statsPullerConfig } from '../functions/jobs/stats-puller-worker/config';
import { runStatsPuller } from '../functions/jobs/stats-puller-worker/run';
import type { PostgresServer } from '../local/embedded-postgres';
import { fmt, fmtInt, table, verdict } from './stats';

export const STATS_PULLER_TARGET_RATIO = 0.8;

export interface StatsPullerBenchOptions {
  readonly pg: PostgresServer;
  readonly template: string;
  readonly log: (line: string) => void;
  readonly realms: number;
  readonly latencyMs: number;
  readonly workers: readonly number[];
}

export interface StatsPullerRun {
  readonly workers: number;
  readonly ms: number;
  readonly idealMs: number;
  readonly ratio: number;
  readonly maxInFlight: number;
  readonly rssMb: number;
  readonly heapMb: number;
  readonly result: JobResult;
}

export interface StatsPullerBenchResult {
  readonly realms: number;
  readonly latencyMs: number;
  readonly runs: readonly StatsPullerRun[];
}

const SYSTEM_KEY = 'projects/bench/locations/local/keyRings/certs/cryptoKeys/system';

/** Starts the stand-in child process; resolves with its URL once it listens. */
async function startChildStandIn(env: NodeJS.ProcessEnv): Promise<{ url: string; child: ChildProcess }> {
  const tsx = path.join(__dirname, '..', 'node_modules', '.bin', 'tsx');
  const child = spawn(tsx, [path.join(__dirname, 'stats-puller-stand-in.ts')], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the stand-in exited with ${code}`)));
    lines.once('line', (line) => resolve((JSON.parse(line) as { url: string }).url));
  });
  return { url, child };
}

async function counters(url: string): Promise<{ requests: number; maxInFlight: number }> {
  const response = await fetch(`${url}/_counters`);
  return (await response.json()) as { requests: number; maxInFlight: number };
}

export async function runStatsPullerBench(options: StatsPullerBenchOptions): Promise<StatsPullerBenchResult> {
  const database = 'bench_stats_puller';
  await options.pg.createDatabase(database, options.template);
  const pool = new Pool({ connectionString: options.pg.url(database), max: 10 });
  // An idle connection cut when Postgres stops at the end must not crash the process.
  pool.on('error', () => undefined);
  const keys = new LocalKeyManager(pool, systemClock);
  const systemVersion = await keys.createKeyVersion(SYSTEM_KEY);
  const standIn = await startChildStandIn({
    BENCH_DATABASE_URL: options.pg.url(database),
    BENCH_SYSTEM_KEY_VERSION: systemVersion,
    BENCH_LATENCY_MS: String(options.latencyMs),
  });
  try {
    await pool.query(
      `INSERT INTO realms (id, name, region_code) SELECT g, 'Bench realm ' || g, 'BR-' || g FROM generate_series(1, $1) g`,
      [options.realms],
    );
    await pool.query(
      `INSERT INTO key_server_stats (realm_id, key_server_url_override)
       SELECT g, $2 || '/realms/' || g FROM generate_series(1, $1) g`,
      [options.realms, standIn.url],
    );
    const context: JobContext = {
      db: pool,
      clock: systemClock,
      logger: createLogger({ write: () => undefined, minSeverity: 'WARNING' }),
      spec: statsPullerWorker,
      abortSignal: new AbortController().signal,
      secrets: new SecretRegistry(),
      tick: { id: 'bench', scheduledAt: new Date(), manual: true },
      attempt: 1,
      adapters: onlyAdapters({ keyManager: keys, gauges: new LocalGauges() }),
    };
    const runs: StatsPullerRun[] = [];
    for (const workers of options.workers) {
      options.log(`  ${fmtInt(options.realms)} realms, ${workers} workers ...`);
      const config = statsPullerConfig.parse({
        KEY_SERVER_URL: standIn.url,
        CERTIFICATE_SIGNING_KEY: systemVersion,
        STATS_PULLER_MAX_WORKERS: String(workers),
      });
      const before = await counters(standIn.url);
      const started = performance.now();
      const result = await runStatsPuller(context, config);
      const ms = performance.now() - started;
      const idealMs = (options.realms * options.latencyMs) / workers;
      const memory = process.memoryUsage();
      const after = await counters(standIn.url);
      runs.push({
        workers,
        ms,
        idealMs,
        ratio: idealMs / ms,
        maxInFlight: Math.max(after.maxInFlight, before.maxInFlight),
        rssMb: memory.rss / 1e6,
        heapMb: memory.heapUsed / 1e6,
        result,
      });
    }
    return { realms: options.realms, latencyMs: options.latencyMs, runs };
  } finally {
    standIn.child.stdin?.end();
    await new Promise((resolve) => standIn.child.once('exit', resolve));
    await pool.end();
  }
}

export function formatStatsPullerBench(result: StatsPullerBenchResult): string {
  const rows = result.runs.map((run) => {
    const summary = run.result as { realmsPulled?: number; daysUpserted?: number };
    return [
      String(run.workers),
      `${fmt(run.ms / 1000, 2)} s`,
      `${fmt(run.idealMs / 1000, 2)} s`,
      fmt(run.ratio, 2),
      verdict(run.ratio >= STATS_PULLER_TARGET_RATIO),
      String(run.maxInFlight),
      fmtInt(summary.realmsPulled ?? 0),
      fmtInt(summary.daysUpserted ?? 0),
      `${fmt(run.rssMb, 0)} MB`,
      `${fmt(run.heapMb, 0)} MB`,
    ];
  });
  return [
    `${fmtInt(result.realms)} realms, key server answering in ${result.latencyMs} ms; target >= ${STATS_PULLER_TARGET_RATIO} of ideal throughput`,
    table(
      [
        'workers',
        'wall time',
        'ideal',
        'ratio',
        'verdict',
        'max in flight',
        'realms',
        'days',
        'rss after',
        'heap used',
      ],
      rows,
    ),
  ].join('\n');
}
