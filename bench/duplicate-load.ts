/**
 * Benchmark (f): duplicate deliveries under load. A job's tick is delivered 50 times a second for
 * 10 s on loopback (open loop: a request every 20 ms whether or not earlier ones were answered),
 * through the full runtime: token, tick check, lock, ledger. The first delivery runs the tick (a
 * job that takes 2 s), so the first deliveries meet it running (409 in_progress) and the rest find
 * it succeeded (200 duplicate). The same schedule of requests goes to a bare Functions Framework
 * handler in the same run as the baseline.
 *
 * Reports p50/p99/max latency of both and their ratio, the answers by status, and the database
 * connections of the runtime's database sampled after a warm-up, every second of the load and
 * after it: duplicates must not grow them past the warmed-up pool (bounded by DB_MAX_CONNECTIONS,
 * and every request returns its connection).
 *
 * Bounded: a fixed number of requests, each with a timeout; the bench stops by itself.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import * as functions from '@google-cloud/functions-framework';
import { Pool } from 'pg';
import { cleanupWorker } from '../functions/catalog';
import { noConfig } from '../functions/core/config';
import { defineJob } from '../functions/core/job-spec';
import { Runtime } from '../functions/core/runtime';
import { serveJob } from '../functions/serve-job';
import { productionWiring } from '../functions/wiring';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import type { PostgresServer } from '../local/embedded-postgres';
import { startTokenIssuer } from '../local/token-issuer';
import { closeServer, get, listen } from './runtime-overhead';
import { fmt, fmtInt, percentile, table } from './stats';

const INVOKER = 'scheduler-invoker@enx-bench-project.iam.gserviceaccount.com';
const AUDIENCE = 'https://bench-duplicates.example.run.app';
const TICK = '2026-11-23T20:05:00.000Z';
const REQUEST_TIMEOUT_MS = 10_000;
/** The pool the runtime may open (DB_MAX_CONNECTIONS), so growth would show against a known cap. */
const POOL_MAX = 5;
const JOB_MS = 2_000;

export interface DuplicateLoadOptions {
  readonly pg: PostgresServer;
  readonly template: string;
  readonly ratePerSecond: number;
  readonly seconds: number;
  readonly log: (line: string) => void;
}

interface Side {
  readonly latencies: number[];
  readonly answers: Map<string, number>;
}

export interface DuplicateLoadResult {
  readonly requests: number;
  readonly bare: { p50: number; p99: number; max: number };
  readonly runtime: { p50: number; p99: number; max: number };
  readonly p99Ratio: number;
  readonly answers: Readonly<Record<string, number>>;
  readonly jobRuns: number;
  readonly connections: { before: number; peak: number; after: number; poolMax: number };
  readonly pass: boolean;
}

let registrations = 0;

export async function runDuplicateLoad(options: DuplicateLoadOptions): Promise<DuplicateLoadResult> {
  registrations += 1;
  const database = `bench_duplicates_${registrations}`;
  await options.pg.createDatabase(database, options.template);
  const issuer = await startTokenIssuer();
  const admin = new Pool({ connectionString: options.pg.url('postgres'), max: 1 });
  // Postgres stops when the bench ends; an idle connection it drops must not crash the report.
  admin.on('error', () => undefined);
  let jobRuns = 0;
  const runtime = new Runtime(
    {
      DATABASE_URL: options.pg.url(database),
      OIDC_ISSUER: issuer.issuer,
      OIDC_JWKS_URL: issuer.jwksUrl,
      OIDC_AUDIENCE: AUDIENCE,
      OIDC_INVOKER_EMAILS: INVOKER,
      GOOGLE_CLOUD_PROJECT: 'enx-bench-project',
      SIGNALS_SINK: 'local',
      DB_MIGRATE: 'off',
      DB_MAX_CONNECTIONS: String(POOL_MAX),
      LOG_LEVEL: 'error',
    },
    productionWiring,
    { writeLine: () => undefined },
  );
  const definition = defineJob({ ...cleanupWorker, id: 'bench-duplicates', config: noConfig }, async () => {
    jobRuns += 1;
    await new Promise((resolve) => setTimeout(resolve, JOB_MS));
    return {};
  });
  functions.http(`bench_dup_bare_${registrations}`, (_req, res) => void res.status(200).json({ ok: true }));
  const runtimeServer = await listen(serveJob(definition, runtime).server);
  const bareServer = await listen(getTestServer(`bench_dup_bare_${registrations}`) as http.Server);
  const connections = () => countConnections(admin, database);
  try {
    const token = await issuer.mint({ audience: AUDIENCE, email: INVOKER, ttlSeconds: 3600 });
    const headers = {
      authorization: `Bearer ${token}`,
      'x-cloudscheduler': 'true',
      'x-cloudscheduler-scheduletime': TICK,
      'content-length': '0',
    };
    // Warm-up: one tick run with 2 s of its duplicates at the same rate arriving while it runs, as
    // in the measured part, so the pool has grown to its working size (the run's lock connection
    // plus one for the duplicates' ledger reads) and the verifier's key cache is filled before
    // "before" is taken.
    const warm = { ...headers, 'x-cloudscheduler-scheduletime': '2026-11-23T20:00:00.000Z' };
    const warmRun = call(runtimeServer.port, warm);
    await openLoop(runtimeServer.port, warm, { ...options, seconds: 2 }, async () => undefined);
    await warmRun;
    const before = await connections();
    const total = options.ratePerSecond * options.seconds;
    options.log(
      `  duplicate load: ${fmtInt(total)} requests at ${options.ratePerSecond}/s, bare handler first`,
    );
    const bare = await openLoop(bareServer.port, {}, options, async () => undefined);
    let peak = before;
    const runtimeSide = await openLoop(runtimeServer.port, headers, options, async () => {
      peak = Math.max(peak, await connections());
    });
    const after = await connections();
    const bareStats = latencies(bare);
    const oursStats = latencies(runtimeSide);
    return {
      requests: total,
      bare: bareStats,
      runtime: oursStats,
      p99Ratio: oursStats.p99 / bareStats.p99,
      answers: Object.fromEntries(runtimeSide.answers),
      jobRuns,
      connections: { before, peak, after, poolMax: POOL_MAX },
      pass: after <= before && peak <= POOL_MAX && jobRuns === 2,
    };
  } finally {
    // Each is closed even if one before it fails, so no connection outlives the bench's Postgres.
    await Promise.allSettled([closeServer(runtimeServer.server), closeServer(bareServer.server)]);
    await Promise.allSettled([runtime.close(), issuer.close(), admin.end()]);
  }
}

/** Sends `rate × seconds` requests on a fixed schedule, each answered or timed out; samples once a second. */
async function openLoop(
  port: number,
  headers: Record<string, string>,
  options: DuplicateLoadOptions,
  sample: () => Promise<void>,
): Promise<Side> {
  const side: Side = { latencies: [], answers: new Map() };
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const intervalMs = 1000 / options.ratePerSecond;
  const total = options.ratePerSecond * options.seconds;
  const started = performance.now();
  const inFlight: Promise<void>[] = [];
  try {
    for (let i = 0; i < total; i += 1) {
      const due = started + i * intervalMs;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      if (i % options.ratePerSecond === 0) inFlight.push(sample());
      inFlight.push(
        call(port, headers, agent).then((result) => {
          side.latencies.push(result.ms);
          side.answers.set(result.answer, (side.answers.get(result.answer) ?? 0) + 1);
        }),
      );
    }
    await Promise.all(inFlight);
    return side;
  } finally {
    agent.destroy();
  }
}

/** One request through the overhead bench's GET helper, its answer as "<HTTP status> <body status>". */
function call(
  port: number,
  headers: Record<string, string>,
  agent?: http.Agent,
): Promise<{ ms: number; answer: string }> {
  const started = performance.now();
  return get(agent, port, headers, REQUEST_TIMEOUT_MS).then(
    (result) => ({ ms: result.ms, answer: `${result.status} ${bodyStatus(result.body)}`.trim() }),
    (error: Error) => ({ ms: performance.now() - started, answer: `error ${error.message}` }),
  );
}

function bodyStatus(body: string): string {
  try {
    return String((JSON.parse(body) as { status?: string }).status ?? '');
  } catch {
    return 'unreadable';
  }
}

async function countConnections(admin: Pool, database: string): Promise<number> {
  const { rows } = await admin.query<{ count: number }>(
    'SELECT count(*)::int AS count FROM pg_stat_activity WHERE datname = $1',
    [database],
  );
  return rows[0].count;
}

function latencies(side: Side) {
  return {
    p50: percentile(side.latencies, 50),
    p99: percentile(side.latencies, 99),
    max: Math.max(...side.latencies),
  };
}

export function formatDuplicateLoad(result: DuplicateLoadResult): string {
  const rows = [
    ['bare handler', fmt(result.bare.p50, 2), fmt(result.bare.p99, 2), fmt(result.bare.max, 2), ''],
    [
      'runtime, one tick',
      fmt(result.runtime.p50, 2),
      fmt(result.runtime.p99, 2),
      fmt(result.runtime.max, 2),
      `${fmt(result.p99Ratio, 1)}x`,
    ],
  ];
  const { before, peak, after, poolMax } = result.connections;
  return [
    table(['side', 'p50 ms', 'p99 ms', 'max ms', 'p99 ratio'], rows),
    `answers: ${Object.entries(result.answers)
      .map(([answer, count]) => `${answer} × ${count}`)
      .join(', ')}; the job ran ${result.jobRuns} times (warm-up tick + the loaded tick)`,
    `database connections: ${before} before, ${peak} at peak, ${after} after (pool max ${poolMax}): ` +
      (result.pass ? 'no growth' : 'GROWTH or extra runs'),
  ].join('\n');
}
