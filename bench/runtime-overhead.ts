/**
 * Benchmark (a): what the runtime adds to every invocation.
 *
 * Baseline: a bare Functions Framework HTTP function that answers {ok:true}.
 * Ours: a no-op job (the catalog's cleanup-worker spec with no config and `run = async () => ({})`)
 * behind the full runtime: OIDC verification of a real token minted by the loopback issuer, tick
 * naming, the advisory job lock, the ledger rows, the timeout wrapper, the signals and the logs.
 *
 * Both are served by the real Functions Framework (serveJob, getTestServer) on 127.0.0.1 and called over real
 * HTTP with one keep-alive connection each, sequentially, in interleaved rounds so that noise from
 * other processes lands on both sides alike. A third side in the same rounds calls the runtime's
 * handler directly in process (no HTTP, no Express), which splits "ours" into runtime work and
 * HTTP-side work. Every runtime call carries its own X-CloudScheduler-ScheduleTime, so every call
 * really runs the job (no duplicate answers).
 *
 * A breakdown then times the pieces in process: the verifier alone, a database round trip, the
 * lock, and each ledger statement.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import * as functions from '@google-cloud/functions-framework';
import type { Request, Response } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { cleanupWorker } from '../functions/catalog';
import { noConfig } from '../functions/core/config';
import { createJobHandler } from '../functions/core/handler';
import { serveJob } from '../functions/serve-job';
import { productionWiring } from '../functions/wiring';
import type { HttpHandler } from '../functions/core/handler';
import { defineJob } from '../functions/core/job-spec';
import { abandonOrphans, closeAttempt, openAttempt } from '../functions/core/ledger';
import { acquireJobLock } from '../functions/core/lock';
import { Runtime } from '../functions/core/runtime';
import { tickFromHeader } from '../functions/core/tick';
import type { PostgresServer } from '../local/embedded-postgres';
import { startTokenIssuer } from '../local/token-issuer';
import type { Summary } from './stats';
import { fmt, summarize, table, verdict } from './stats';

export const RUNTIME_TARGET_ADDED_MS = 5;

const INVOKER = 'scheduler-invoker@enx-bench-project.iam.gserviceaccount.com';
const AUDIENCE = 'https://bench-noop.example.run.app';
const REQUEST_TIMEOUT_MS = 30_000;

export interface RuntimeOverheadOptions {
  readonly pg: PostgresServer;
  /** A migrated database to clone. */
  readonly template: string;
  readonly warmup: number;
  readonly calls: number;
  /** Calls per side per round; the order of the sides rotates from round to round. */
  readonly roundSize: number;
  /** Samples per piece in the in-process breakdown. */
  readonly breakdownSamples: number;
  readonly log: (line: string) => void;
}

export interface BreakdownRow {
  readonly piece: string;
  readonly summary: Summary;
  readonly note: string;
}

export interface RuntimeOverheadResult {
  readonly bare: Summary;
  readonly runtime: Summary;
  /** The same handler called directly (no HTTP, no Express), interleaved with the HTTP calls. */
  readonly inProcess: Summary;
  /** The same handler's time as measured inside the HTTP server (entry to answer written). */
  readonly handlerUnderHttp: Summary;
  readonly addedMedianMs: number;
  /** Median over rounds of (runtime round median − bare round median): the paired estimate. */
  readonly addedPairedMs: number;
  readonly ratio: number;
  readonly pass: boolean;
  readonly breakdown: readonly BreakdownRow[];
  readonly logLines: number;
}

interface HttpResult {
  readonly status: number;
  readonly body: string;
  readonly ms: number;
}

export function get(
  agent: http.Agent | undefined,
  port: number,
  headers: Record<string, string>,
  timeoutMs = REQUEST_TIMEOUT_MS,
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const request = http.request(
      { host: '127.0.0.1', port, path: '/', method: 'GET', agent, headers, timeout: timeoutMs },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            ms: performance.now() - started,
          }),
        );
      },
    );
    request.on('timeout', () => request.destroy(new Error(`request timed out after ${timeoutMs} ms`)));
    request.on('error', reject);
    request.end();
  });
}

export async function listen(server: http.Server): Promise<{ server: http.Server; port: number }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}

export async function closeServer(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/**
 * Distinct, well-formed schedule times, never repeating: ticks of the job's cron (every 5 minutes)
 * from 2020-01-01, since the runtime refuses a time its schedule does not have.
 */
let scheduleCounter = 0;
function nextScheduleTime(): string {
  scheduleCounter += 1;
  return new Date(Date.UTC(2020, 0, 1) + scheduleCounter * 5 * 60_000).toISOString();
}

function traceHeader(): string {
  return `${randomBytes(16).toString('hex')}/${randomBytes(4).readUInt32BE()};o=1`;
}

let registrations = 0;

export async function runRuntimeOverhead(options: RuntimeOverheadOptions): Promise<RuntimeOverheadResult> {
  const { pg, log } = options;
  registrations += 1;
  const database = `bench_runtime_${registrations}`;
  await pg.createDatabase(database, options.template);

  const issuer = await startTokenIssuer();
  // Production writes log lines synchronously to stdout; /dev/null keeps that syscall in the
  // measurement without flooding the bench's own output.
  const devNull = openSync('/dev/null', 'w');
  // A call cut off at the end may still log after the descriptor is closed; drop those lines.
  let devNullClosed = false;
  let logLines = 0;
  const runtime = new Runtime(
    {
      DATABASE_URL: pg.url(database),
      OIDC_ISSUER: issuer.issuer,
      OIDC_JWKS_URL: issuer.jwksUrl,
      OIDC_AUDIENCE: AUDIENCE,
      OIDC_INVOKER_EMAILS: INVOKER,
      GOOGLE_CLOUD_PROJECT: 'enx-bench-project',
      LOG_LEVEL: 'info',
      SIGNALS_SINK: 'local',
      DB_MIGRATE: 'auto',
    },
    productionWiring,
    {
      writeLine: (line) => {
        logLines += 1;
        if (!devNullClosed) writeSync(devNull, line + '\n');
      },
    },
  );

  const definition = defineJob(
    {
      ...cleanupWorker,
      id: 'bench-noop',
      description: 'No-op job: measures the runtime around it.',
      config: noConfig,
    },
    async () => ({}),
  );
  const bareName = `bench_bare_${registrations}`;
  functions.http(bareName, (_req, res) => {
    res.status(200).json({ ok: true });
  });
  const served = serveJob(definition, runtime);
  // The time from the request reaching the framework's server to the answer being written, for
  // the split between runtime and HTTP work.
  let serverSide: number[] | undefined;
  served.server.on('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
    const started = performance.now();
    res.once('finish', () => serverSide?.push(performance.now() - started));
  });

  const runtimeServer = await listen(served.server);
  const bareServer = await listen(getTestServer(bareName) as http.Server);
  const runtimeAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const bareAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const token = await issuer.mint({ audience: AUDIENCE, email: INVOKER, ttlSeconds: 3600 });

  const callBare = async (): Promise<number> => {
    const result = await get(bareAgent, bareServer.port, {});
    if (result.status !== 200) throw new Error(`bare function answered ${result.status}: ${result.body}`);
    return result.ms;
  };
  const callRuntime = async (): Promise<number> => {
    const result = await get(runtimeAgent, runtimeServer.port, {
      authorization: `Bearer ${token}`,
      'x-cloudscheduler-scheduletime': nextScheduleTime(),
      'x-cloud-trace-context': traceHeader(),
      'user-agent': 'Google-Cloud-Scheduler',
    });
    const body = JSON.parse(result.body) as { status?: string };
    if (result.status !== 200 || body.status !== 'succeeded') {
      throw new Error(`runtime answered ${result.status} (${body.status}), not a run: ${result.body}`);
    }
    return result.ms;
  };
  const handler = createJobHandler(definition, runtime);
  const callInProcess = () => callHandlerInProcess(handler, token);

  try {
    log(`  runtime overhead: warm-up ${options.warmup} calls per side`);
    for (let i = 0; i < options.warmup; i += 1) {
      await callBare();
      await callRuntime();
      await callInProcess();
    }

    log(
      `  runtime overhead: ${options.calls} measured calls per side, ${options.roundSize} per side per round, ` +
        'order rotating',
    );
    const samples: [number[], number[], number[]] = [[], [], []];
    const handlerUnderHttp: number[] = [];
    serverSide = handlerUnderHttp;
    const calls = [callBare, callRuntime, callInProcess];
    const pairedDiffs: number[] = [];
    const rounds = Math.ceil(options.calls / options.roundSize);
    for (let round = 0; round < rounds; round += 1) {
      const size = Math.min(options.roundSize, options.calls - round * options.roundSize);
      const roundSamples: [number[], number[], number[]] = [[], [], []];
      for (let k = 0; k < 3; k += 1) {
        const side = (round + k) % 3;
        for (let i = 0; i < size; i += 1) roundSamples[side].push(await calls[side]());
      }
      roundSamples.forEach((values, side) => samples[side].push(...values));
      pairedDiffs.push(summarize(roundSamples[1]).median - summarize(roundSamples[0]).median);
    }

    serverSide = undefined;
    log(`  runtime overhead: in-process breakdown, ${options.breakdownSamples} samples per piece`);
    const breakdown = await measureBreakdown(runtime, definition.spec.id, token, options);

    const [bareSummary, oursSummary, inProcessSummary] = samples.map((values) => summarize(values));
    const addedMedianMs = oursSummary.median - bareSummary.median;
    return {
      bare: bareSummary,
      runtime: oursSummary,
      inProcess: inProcessSummary,
      handlerUnderHttp: summarize(handlerUnderHttp),
      addedMedianMs,
      addedPairedMs: summarize(pairedDiffs).median,
      ratio: oursSummary.median / bareSummary.median,
      pass: addedMedianMs < RUNTIME_TARGET_ADDED_MS,
      breakdown,
      logLines,
    };
  } finally {
    runtimeAgent.destroy();
    bareAgent.destroy();
    await closeServer(runtimeServer.server);
    await closeServer(bareServer.server);
    await runtime.close();
    await issuer.close();
    devNullClosed = true;
    closeSync(devNull);
  }
}

/** One run of the job through the handler, called directly with a minimal request and response. */
async function callHandlerInProcess(handler: HttpHandler, token: string): Promise<number> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${token}`,
    'x-cloudscheduler-scheduletime': nextScheduleTime(),
    'x-cloud-trace-context': traceHeader(),
    'user-agent': 'Google-Cloud-Scheduler',
  };
  const req = {
    method: 'GET',
    path: '/',
    get: (name: string) => headers[name.toLowerCase()],
  } as unknown as Request;
  let status = 0;
  let body: { status?: string } = {};
  const res = {
    status(code: number) {
      status = code;
      return res;
    },
    json(payload: { status?: string }) {
      body = payload;
      return res;
    },
  } as unknown as Response;
  const started = performance.now();
  await handler(req, res);
  const ms = performance.now() - started;
  if (status !== 200 || body.status !== 'succeeded') {
    throw new Error(`in-process handler answered ${status} (${body.status})`);
  }
  return ms;
}

async function measureBreakdown(
  runtime: Runtime,
  jobId: string,
  token: string,
  options: RuntimeOverheadOptions,
): Promise<BreakdownRow[]> {
  const db = runtime.db();
  const bearer = `Bearer ${token}`;
  const lockJob = `${jobId}-breakdown`;
  const names = [
    ['auth: verifier.verify', 'jose jwtVerify, RS256, cached JWKS'],
    ['db round trip: SELECT 1', 'pool.query; the unit of the rows below'],
    ['lock: acquire + release', 'pool.connect, try_advisory_lock, unlock, release'],
    ['ledger: abandonOrphans', 'UPDATE ... RETURNING (usually 0 rows)'],
    ['ledger: openAttempt', 'INSERT tick ON CONFLICT + INSERT attempt'],
    ['ledger: closeAttempt', 'UPDATE attempt + UPDATE tick'],
  ] as const;
  const samples = names.map(() => [] as number[]);

  const once = async (record: boolean) => {
    const times: number[] = [];
    let started = performance.now();
    await runtime.verifier.verify(bearer);
    times.push(performance.now() - started);

    started = performance.now();
    await db.query('SELECT 1');
    times.push(performance.now() - started);

    const now = new Date();
    started = performance.now();
    const result = await acquireJobLock(db, lockJob, now);
    const acquireMs = performance.now() - started;
    if (!result.acquired) throw new Error('breakdown lock not acquired');
    const { client, pid } = result.lock;
    let lockMs = acquireMs;
    try {
      started = performance.now();
      await abandonOrphans(client, lockJob, now, 4);
      const orphansMs = performance.now() - started;

      started = performance.now();
      const opened = await openAttempt(
        client,
        { jobId: lockJob, tick: tickFromHeader(nextScheduleTime(), now), now },
        { pid, deadlineAt: new Date(now.getTime() + 60_000) },
      );
      const openMs = performance.now() - started;
      if (opened.kind !== 'run') throw new Error('breakdown tick was a duplicate');

      started = performance.now();
      await closeAttempt(client, {
        attemptId: opened.attemptId,
        state: 'succeeded',
        exhausted: false,
        finishedAt: new Date(),
        durationMs: 1,
        result: {},
      });
      const closeMs = performance.now() - started;
      started = performance.now();
      await result.lock.release();
      lockMs += performance.now() - started;
      times.push(lockMs, orphansMs, openMs, closeMs);
    } catch (error) {
      await result.lock.release();
      throw error;
    }
    if (record) times.forEach((ms, index) => samples[index].push(ms));
  };

  const warmup = Math.min(20, options.breakdownSamples);
  for (let i = 0; i < warmup; i += 1) await once(false);
  for (let i = 0; i < options.breakdownSamples; i += 1) await once(true);
  return names.map(([piece, note], index) => ({ piece, note, summary: summarize(samples[index]) }));
}

export function formatRuntimeOverhead(result: RuntimeOverheadResult): string {
  const row = (name: string, summary: Summary) => [
    name,
    summary.n,
    fmt(summary.median, 3),
    fmt(summary.p95, 3),
    fmt(summary.min, 3),
  ];
  const main = table(
    ['per call', 'n', 'median ms', 'p95 ms', 'min ms'],
    [
      row('baseline: bare Functions Framework, HTTP', result.bare),
      row('ours: runtime + no-op job, HTTP', result.runtime),
      row('ours: its handler, timed inside the server', result.handlerUnderHttp),
      row('ours, handler called in process (no HTTP)', result.inProcess),
    ],
  );
  const httpSide = result.runtime.median - result.inProcess.median - result.bare.median;
  const target = table(
    ['result', 'value', 'target', 'verdict'],
    [
      [
        'added median (ours − baseline)',
        `${fmt(result.addedMedianMs, 3)} ms`,
        `< ${RUNTIME_TARGET_ADDED_MS} ms`,
        verdict(result.pass),
      ],
      ['added, median of per-round pairs', `${fmt(result.addedPairedMs, 3)} ms`, '(cross-check)', ''],
      ['added p95 (ours p95 − baseline p95)', `${fmt(result.runtime.p95 - result.bare.p95, 3)} ms`, '', ''],
      ['ratio (ours / baseline medians)', `${fmt(result.ratio, 2)}x`, '', ''],
      ['HTTP-side rest (ours − in process − baseline)', `${fmt(httpSide, 3)} ms`, '', ''],
    ],
  );
  const breakdown = table(
    ['breakdown, in process', 'n', 'median ms', 'p95 ms', 'what'],
    result.breakdown.map((b) => [
      b.piece,
      b.summary.n,
      fmt(b.summary.median, 3),
      fmt(b.summary.p95, 3),
      b.note,
    ]),
  );
  const parts = result.breakdown.filter((b) => !b.piece.startsWith('db round trip'));
  const partsMs = parts.reduce((sum, b) => sum + b.summary.median, 0);
  return [
    main,
    '',
    target,
    '',
    breakdown,
    '',
    `sum of auth + lock + ledger medians: ${fmt(partsMs, 3)} ms of the ${fmt(result.inProcess.median, 3)} ms ` +
      `in-process median; the rest is logging, signals, timeout wrapper, tick/trace parsing`,
    `(${result.logLines} log lines written synchronously to /dev/null)`,
  ].join('\n');
}
