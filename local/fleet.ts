/**
 * The whole fleet on this machine, as one start/stop pair used by `npm start` and by the tests:
 *
 *   embedded Postgres (data in <dataDir>/pg, kept) → migrations → the stand-ins (token issuer,
 *   feeds, Redis, SMTP, Cloud Monitoring, the probes' upstreams) → demo data → one Functions
 *   Framework server per job → scheduler → Logging and Scheduler APIs, alert evaluator → status
 *   server → hourly demo top-up
 *
 * and stop() in the order that loses nothing: scheduler (in-flight calls get a grace period),
 * demo top-up, function servers, their runtimes' pools, token issuer, status server, the fleet's
 * own pool, Postgres. Everything listens on and calls 127.0.0.1 only.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Pool } from 'pg';
import type { Env } from '../functions/core/config';
import { Runtime } from '../functions/core/runtime';
import { localWiring } from './wiring';
import { startFakeMetricService } from './fake-google/metric-service';
import type { FakeMetricService } from './fake-google/metric-service';
import { describeError } from '../functions/core/errors';
import { loadEnxSchema, migrateLocal } from './migrate';
import { cleanupWorker } from '../functions/catalog';
import { jobDefinitions } from '../functions/jobs';
import {
  clockTime,
  durationLabel,
  formatAlertLine,
  formatAttemptLine,
  formatFunctionLogLine,
  formatMissedTicksLine,
  tickLabel,
} from './console-lines';
import { ensureCertificateKeyVersion, seedDemoData } from './demo-data';
import type { DemoSeed } from './demo-data';
import { startAlertEvaluator } from './alert-evaluator';
import { OutsideSignals } from './outside-signals';
import type { AlertEvaluator } from './alert-evaluator';
import { startAppFeed } from './app-feed';
import type { AppFeed } from './app-feed';
import { startDemoFeed } from './demo-feed';
import type { DemoFeed } from './demo-feed';
import { serverDataDir, startEmbeddedPostgres } from './embedded-postgres';
import { LocalKeyManager } from '../functions/adapters/local-key-manager';
import { localKeyLookup, startKeyServerStats } from './key-server-stats';
import type { KeyServerStats } from './key-server-stats';
import { stopStalePostgres } from './stale-postgres';
import { startLocalUpstreams } from './upstreams/local';
import type { Upstreams } from './upstreams/start';
import { startFleetRedis } from './redis';
import type { RedisServer } from './redis';
import { startSmtpCatcher } from './smtp-catcher';
import type { SmtpCatcher } from './smtp-catcher';
import type { PostgresServer } from './embedded-postgres';
import { openFunctionLog, openLineFile, recentJobLines } from './function-log';
import type { LineFile } from './function-log';
import { serveFunctions } from './function-servers';
import type { FunctionServer } from './function-servers';
import {
  LOCAL_CERTIFICATE_KEY,
  LOCAL_DATABASE,
  LOCAL_INVOKER,
  LOCAL_REALM_KEY_RING,
  localEnv,
} from './local-env';
import { startLocalGoogleApis } from './google-apis';
import type { RunningApis } from './google-apis';
import { Scheduler } from './scheduler';
import { createHttpCaller } from './scheduler-http';
import { collectStatus } from './status';
import type { FleetFiles, FleetStatus, FleetUrls } from './status';
import { startStatusServer } from './status-server';
import type { StatusServer } from './status-server';
import { startTokenIssuer } from './token-issuer';
import type { TokenIssuer } from './token-issuer';

export interface FleetOptions {
  /** Postgres data in <dataDir>/pg (kept between starts), logs in <dataDir>/logs. */
  readonly dataDir: string;
  /** Fire every job once at start-up (schedule time = now), then follow the schedule. */
  readonly runNow?: boolean;
  /** SQL that builds an ENX database; loaded into the local database while it has no ENX tables. */
  readonly enxSchemaFile?: string;
  /** Status page port; 0 = any free port; a taken port falls back to a free one. Default 8080. */
  readonly statusPort?: number;
  /** Where the console lines go; default stdout. Tests pass a collector to stay quiet. */
  readonly out?: (line: string) => void;
  /** The operator's environment: job settings pass through, the local wiring always wins. */
  readonly env?: Env;
  /** Top up the demo data every few minutes (once per clock hour). Default true. */
  readonly demoFeed?: boolean;
  /** How long stop() waits for calls in flight before cutting them off. Default 10 s. */
  readonly stopGraceMs?: number;
}

export interface Fleet {
  readonly urls: FleetUrls;
  readonly files: FleetFiles;
  /** From startFleet() being called to the scheduler running. */
  readonly startupMs: number;
  readonly demoSeed: DemoSeed;
  status(): Promise<FleetStatus>;
  /** Stops everything in order; safe to call more than once. */
  stop(): Promise<void>;
}

const DEMO_FEED_INTERVAL_MS = 5 * 60_000;
/** How often the local evaluator judges the alert rules; Cloud Monitoring evaluates about as often. */
const ALERT_EVALUATION_INTERVAL_MS = 30_000;
/** A runtime's pool still has a job running after the grace period: don't wait on it forever. */
const POOL_CLOSE_LIMIT_MS = 5_000;

interface Parts {
  postgres?: PostgresServer;
  postgresLog?: LineFile;
  pool?: Pool;
  issuer?: TokenIssuer;
  appFeed?: AppFeed;
  keyServer?: KeyServerStats;
  upstreams?: Upstreams;
  redis?: RedisServer;
  smtp?: SmtpCatcher;
  functionLog?: LineFile;
  functions?: FunctionServer[];
  scheduler?: Scheduler;
  statusServer?: StatusServer;
  demoFeed?: DemoFeed;
  alerts?: AlertEvaluator;
  googleApis?: RunningApis;
  monitoring?: FakeMetricService;
}

function withLimit<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  return Promise.race([work, limit]).finally(() => clearTimeout(timer));
}

/** The database URL for people: same as the real one, without the password. */
function displayUrl(url: string): string {
  const parsed = new URL(url);
  parsed.password = '';
  return parsed.toString();
}

async function stopParts(parts: Parts, out: (line: string) => void, graceMs: number): Promise<void> {
  const step = async (what: string, work: () => Promise<unknown> | unknown) => {
    try {
      await work();
    } catch (error) {
      out(`  could not stop ${what} cleanly: ${describeError(error)}`);
    }
  };
  // First: nothing may pause or run a job through the APIs while the fleet stops.
  if (parts.googleApis) await step('the Logging and Scheduler APIs', parts.googleApis.stop);
  if (parts.scheduler) {
    const scheduler = parts.scheduler;
    await step('the scheduler', async () => {
      const { interrupted } = await scheduler.stop(graceMs);
      if (interrupted > 0)
        out(`  cut off ${interrupted} call(s) still running after ${durationLabel(graceMs)}`);
    });
  }
  if (parts.demoFeed) await step('the demo top-up', parts.demoFeed.stop);
  if (parts.alerts) await step('the alert evaluator', parts.alerts.stop);
  for (const fn of parts.functions ?? [])
    await step(`${fn.definition.spec.id}'s server`, () => fn.closeServer());
  for (const fn of parts.functions ?? []) {
    await step(`${fn.definition.spec.id}'s pool`, () => withLimit(fn.runtime.close(), POOL_CLOSE_LIMIT_MS));
  }
  if (parts.monitoring) await step('the Cloud Monitoring stand-in', parts.monitoring.close);
  if (parts.issuer) await step('the token issuer', parts.issuer.close);
  if (parts.appFeed) await step('the app feed', parts.appFeed.close);
  if (parts.keyServer) await step('the key-server stand-in', parts.keyServer.close);
  if (parts.upstreams) await step("the e2e probes' upstreams", parts.upstreams.close);
  // After the function pools: a modeler call cut off above has closed its connection by now.
  if (parts.redis) await step('Redis', parts.redis.stop);
  if (parts.smtp) await step('the SMTP catcher', parts.smtp.close);
  if (parts.statusServer) await step('the status server', parts.statusServer.close);
  if (parts.pool) {
    const pool = parts.pool;
    await step('the fleet pool', () => withLimit(pool.end(), POOL_CLOSE_LIMIT_MS));
  }
  parts.functionLog?.close();
  if (parts.postgres) await step('Postgres', parts.postgres.stop);
  parts.postgresLog?.close();
}

/** Where a fleet keeps its data and logs. */
interface FleetLayout {
  readonly files: FleetFiles;
  /** Postgres's data folder: in the data folder, unless root's private clone hides it there. */
  readonly pgDir: string;
}

function fleetLayout(dataDirOption: string): FleetLayout {
  const dataDir = path.resolve(dataDirOption);
  const files: FleetFiles = {
    dataDir,
    functionLog: path.join(dataDir, 'logs', 'functions.jsonl'),
    postgresLog: path.join(dataDir, 'logs', 'postgres.log'),
  };
  mkdirSync(path.dirname(files.functionLog), { recursive: true });
  // As root in a private clone, Postgres keeps its data where the postgres user can reach it.
  return { files, pgDir: serverDataDir(path.join(dataDir, 'pg')) };
}

interface FleetDatabase {
  readonly url: string;
  readonly pool: Pool;
  /** The data folder held a database already. */
  readonly reused: boolean;
  /** Migrations applied by this start. */
  readonly applied: readonly string[];
}

/** Postgres with the ENX schema stand-in and every migration, and the fleet's own small pool. */
async function startDatabase(
  parts: Parts,
  layout: FleetLayout,
  options: FleetOptions,
  out: (line: string) => void,
): Promise<FleetDatabase> {
  const { pgDir, files } = layout;
  const reused = existsSync(path.join(pgDir, 'PG_VERSION'));
  const stale = await stopStalePostgres(pgDir);
  if (stale) out(`stopped a Postgres an earlier fleet left running on ${pgDir} (pid ${stale})`);
  parts.postgresLog = openLineFile(files.postgresLog);
  parts.postgres = await startEmbeddedPostgres({
    persistent: true,
    dataDir: pgDir,
    onLog: parts.postgresLog.write,
    // Ctrl-C reaches the whole terminal process group; Postgres must outlive the jobs it
    // serves until stop() shuts it down last.
    ownProcessGroup: true,
  });
  await parts.postgres.createDatabase(LOCAL_DATABASE);
  const url = parts.postgres.url(LOCAL_DATABASE);
  const pool = new Pool({ connectionString: url, max: 4, application_name: 'enx-jobs-local-fleet' });
  parts.pool = pool;
  // An idle connection lost (say Postgres restarted under us) must not crash the fleet; the
  // next query opens a new one, and a status read that fails says so on the page.
  pool.on('error', () => undefined);
  await loadEnxSchema(pool, options.enxSchemaFile);
  const applied = await migrateLocal(pool);
  return { url, pool, reused, applied };
}

interface StandIns {
  readonly issuer: TokenIssuer;
  readonly appFeed: AppFeed;
  readonly keyServer: KeyServerStats;
  readonly redis?: RedisServer;
  readonly smtp: SmtpCatcher;
  readonly monitoring: FakeMetricService;
  readonly upstreams: Upstreams;
  readonly certificateSigningKey: string;
}

/** Everything the jobs call, each on a loopback port, built on the fleet's database and keys. */
async function startStandIns(
  parts: Parts,
  pool: Pool,
  options: FleetOptions,
  dataDir: string,
  out: (line: string) => void,
): Promise<StandIns> {
  const issuer = (parts.issuer = await startTokenIssuer());
  const appFeed = (parts.appFeed = await startAppFeed());
  // stats-puller-worker signs with the system key; the stand-in checks its tokens against the
  // same local KMS (the system kid as CERTIFICATE_SIGNING_KEY_ID configures it, v1 by default).
  const certificateSigningKey = await ensureCertificateKeyVersion(pool, LOCAL_CERTIFICATE_KEY, new Date());
  const keyServer = (parts.keyServer = await startKeyServerStats({
    keys: localKeyLookup(pool, new LocalKeyManager(pool, { now: () => new Date() }), {
      kid: options.env?.CERTIFICATE_SIGNING_KEY_ID ?? 'v1',
      keyVersion: certificateSigningKey,
    }),
    audiences: [options.env?.KEY_SERVER_STATS_AUDIENCE ?? 'keyserver'],
  }));
  const redis = (parts.redis = await startFleetRedis(out));
  // The emailers' relay: keeps the last 200 mails for the status page, and each as .eml on disk.
  const smtp = (parts.smtp = await startSmtpCatcher({ keep: 200, emlDir: path.join(dataDir, 'mail') }));
  // Where fleet-watchdog writes the signals the functions record in the database, as deployed.
  const monitoring = (parts.monitoring = await startFakeMetricService({ keep: 100 }));
  // The e2e probes' admin API, device API, key server and redirect service, on the fleet's
  // database and key manager.
  const upstreams = (parts.upstreams = await startLocalUpstreams({
    db: pool,
    keyManager: new LocalKeyManager(pool, { now: () => new Date() }),
    certificateSigningKey,
    realmKeyRing: LOCAL_REALM_KEY_RING,
    env: options.env,
  }));
  return { issuer, appFeed, keyServer, redis, smtp, monitoring, upstreams, certificateSigningKey };
}

function fleetEnv(database: FleetDatabase, standIns: StandIns, dataDir: string, operator?: Env): Env {
  return localEnv(
    {
      databaseUrl: database.url,
      issuer: standIns.issuer.issuer,
      jwksUrl: standIns.issuer.jwksUrl,
      appFeedUrl: standIns.appFeed.url,
      keyServerUrl: standIns.keyServer.url,
      certificateSigningKey: standIns.certificateSigningKey,
      redis: standIns.redis,
      smtpPort: standIns.smtp.port,
      e2eEnv: standIns.upstreams.env(),
      backupDir: path.join(dataDir, 'backups'),
      monitoringEndpoint: `127.0.0.1:${standIns.monitoring.port}`,
    },
    operator,
  );
}

/**
 * The local Cloud Scheduler over the served functions. Its failures and refusals leave no ledger
 * row, so it hands them to `outside` for the alert evaluator.
 */
function scheduleFunctions(
  served: readonly FunctionServer[],
  issuer: TokenIssuer,
  outside: OutsideSignals,
  out: (line: string) => void,
): Scheduler {
  const specs = new Map(served.map((fn) => [fn.definition.spec.id, fn.definition.spec]));
  return new Scheduler(
    served.map((fn) => ({
      id: fn.definition.spec.id,
      cron: fn.definition.spec.schedule.cron,
      timeZone: fn.definition.spec.schedule.timeZone,
      httpMethod: fn.definition.spec.httpMethod,
      url: fn.url,
      retry: fn.definition.spec.retry,
      attemptDeadlineMs: fn.definition.spec.attemptDeadlineMs,
    })),
    {
      call: createHttpCaller((audience) => issuer.mint({ audience, email: LOCAL_INVOKER })),
      onAttempt: (report) => {
        out(formatAttemptLine(report));
        const spec = specs.get(report.jobId);
        const sentMs = report.startedAt.getTime();
        if (spec) outside.record(spec, report, sentMs, sentMs + report.durationMs);
      },
      onMissedTicks: (jobId, missed, tickAt) => out(formatMissedTicksLine(jobId, missed, tickAt)),
    },
  );
}

export async function startFleet(options: FleetOptions): Promise<Fleet> {
  // The Google libraries must never probe the cloud metadata server from here (traffic off the
  // machine); main.ts sets this before anything loads, this covers other callers.
  process.env.METADATA_SERVER_DETECTION = 'none';
  const began = performance.now();
  const startedAt = new Date();
  const out = options.out ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const layout = fleetLayout(options.dataDir);
  const { files } = layout;
  const parts: Parts = {};
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= stopParts(parts, out, options.stopGraceMs ?? 10_000));

  try {
    const database = await startDatabase(parts, layout, options, out);
    const pool = database.pool;
    const standIns = await startStandIns(parts, pool, options, files.dataDir, out);
    const { issuer } = standIns;
    const env = fleetEnv(database, standIns, files.dataDir, options.env);
    // The demo rows sit around cleanup-worker's thresholds as this environment configures them.
    const thresholds = cleanupWorker.config.parse(env);
    const demoSeed = await seedDemoData(pool, { now: new Date(), thresholds });

    parts.functionLog = openFunctionLog(files.functionLog, (entry) => out(formatFunctionLogLine(entry)));
    const writeLine = parts.functionLog.write;
    const served = (parts.functions = await serveFunctions(
      jobDefinitions,
      (url) => new Runtime({ ...env, OIDC_AUDIENCE: url }, localWiring, { writeLine }),
      { issuer: issuer.issuer, jwksUrl: issuer.jwksUrl, invokers: () => [LOCAL_INVOKER] },
    ));
    // Fail at start-up, not at the first tick, when a job's settings are wrong.
    for (const fn of served) fn.runtime.jobConfig(fn.definition.spec.config);

    const outside = new OutsideSignals();
    const scheduler = (parts.scheduler = scheduleFunctions(served, issuer, outside, out));
    const googleApis = (parts.googleApis = await startLocalGoogleApis({
      dataDir: files.dataDir,
      functionLog: files.functionLog,
      scheduler,
    }));
    const alerts = (parts.alerts = startAlertEvaluator({
      db: pool,
      jobs: served.map((fn) => fn.definition.spec),
      intervalMs: ALERT_EVALUATION_INTERVAL_MS,
      onTransition: (transition, at) => out(formatAlertLine(transition, at)),
      outside: (at) => outside.within(at.getTime()),
    }));

    const urlsWithoutStatus = {
      issuer: issuer.issuer,
      jwks: issuer.jwksUrl,
      database: displayUrl(database.url),
      functions: Object.fromEntries(served.map((fn) => [fn.definition.spec.id, fn.url])),
    };
    let urls: FleetUrls = { status: '', ...urlsWithoutStatus };
    const status = () =>
      collectStatus({
        db: pool,
        startedAt,
        urls,
        files,
        jobs: served.map((fn) => ({ spec: fn.definition.spec, url: fn.url })),
        scheduler,
        alerts: alerts.report,
      });
    const statusServer = (parts.statusServer = await startStatusServer({
      port: options.statusPort ?? 8080,
      collect: status,
      mail: standIns.smtp,
      // The page's buttons go through the Cloud Scheduler API, the same path as `npm run jobs`.
      act: googleApis.act,
      jobLog: (jobId) => recentJobLines(files.functionLog, jobId),
    }));
    urls = { status: statusServer.url, ...urlsWithoutStatus };
    googleApis.publish(urls.status);

    scheduler.start({ runNow: options.runNow ?? false });
    if (options.demoFeed ?? true) parts.demoFeed = startDemoTopUp(pool, thresholds, out);

    const startupMs = performance.now() - began;
    const banner = fleetBanner({
      options,
      layout,
      database,
      standIns,
      demoSeed,
      served,
      scheduler,
      googleApis,
      statusServer,
      urls,
      startupMs,
    });
    for (const line of banner) out(line);
    return { urls, files, startupMs, demoSeed, status, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function startDemoTopUp(
  pool: Pool,
  thresholds: Parameters<typeof startDemoFeed>[0]['thresholds'],
  out: (line: string) => void,
): DemoFeed {
  return startDemoFeed({
    db: pool,
    thresholds,
    intervalMs: DEMO_FEED_INTERVAL_MS,
    onSeeded: (seed) =>
      out(
        `${clockTime(new Date())}  demo data: seeded ${seed.batch} (${seed.rows} rows ageing toward cleanup)`,
      ),
    onError: (error) => out(`${clockTime(new Date())}  demo data top-up failed: ${describeError(error)}`),
  });
}

/** What `npm start` prints once everything runs: where each part listens and what it is for. */
function fleetBanner(fleet: {
  readonly options: FleetOptions;
  readonly layout: FleetLayout;
  readonly database: FleetDatabase;
  readonly standIns: StandIns;
  readonly demoSeed: DemoSeed;
  readonly served: readonly FunctionServer[];
  readonly scheduler: Scheduler;
  readonly googleApis: RunningApis;
  readonly statusServer: StatusServer;
  readonly urls: FleetUrls;
  readonly startupMs: number;
}): string[] {
  const { options, layout, database, standIns, scheduler, urls } = fleet;
  const { dataDir } = layout.files;
  const { issuer, appFeed, keyServer, upstreams, redis, smtp, monitoring } = standIns;
  const pgDir = layout.pgDir.startsWith(dataDir)
    ? path.relative(process.cwd(), layout.pgDir) || layout.pgDir
    : layout.pgDir;
  return [
    'enx-jobs local fleet',
    `  database   ${urls.database}  (${database.reused ? 'reusing' : 'created'} ${pgDir}${
      database.applied.length > 0 ? `; applied ${database.applied.join(', ')}` : ''
    })`,
    `  demo data  ${demoSeedLabel(fleet.demoSeed)}`,
    `  issuer     ${issuer.issuer}  (JWKS ${issuer.jwksUrl}; tokens for ${LOCAL_INVOKER})`,
    ...fleet.served.map((fn) => {
      const spec = fn.definition.spec;
      const next = scheduler.nextTickAt(spec.id);
      return `  function   ${spec.id.padEnd(25)} ${fn.url}  ${spec.schedule.cron} (${spec.schedule.timeZone})  next ${
        next ? tickLabel(next, new Date()) : '–'
      }`;
    }),
    `  app feed   ${appFeed.url}  (serves local/fixtures/apps.json to appsync-worker)`,
    `  key server ${keyServer.url}/v1/stats  (stats stand-in for stats-puller-worker)`,
    `  e2e        admin ${upstreams.adminApi}  device ${upstreams.deviceApi}  keys ${upstreams.keyServer}  redirect ${upstreams.redirect}`,
    `             (the probes' upstreams; break one with POST <any of them>/__faults, see docs/simulator.md)`,
    ...(redis
      ? [`  redis      127.0.0.1:${redis.port}  (rate-limiter store: modeler-worker's realm quotas)`]
      : []),
    `  smtp       127.0.0.1:${smtp.port}  (catches the emailers' mail: ${urls.status}/mail, .eml files in ${path.join(dataDir, 'mail')})`,
    `  logs       ${layout.files.functionLog}  (every function log line as JSON; WARNING+ also shown here)`,
    `  google     Logging API ${fleet.googleApis.logging}  Cloud Scheduler API ${fleet.googleApis.scheduler}  Cloud Monitoring API 127.0.0.1:${monitoring.port}`,
    `             (npm run jobs -- --local triage|logs|pause|resume|run <job id>; fleet-watchdog writes the metrics)`,
    `  status     ${urls.status}/  and  ${urls.status}/status${
      fleet.statusServer.fellBack ? `  (port ${options.statusPort ?? 8080} was taken)` : ''
    }`,
    `ready in ${durationLabel(fleet.startupMs)}${options.runNow ? '; running every job now' : ''}. Ctrl-C stops.`,
  ];
}

function demoSeedLabel(seed: DemoSeed): string {
  if (!seed.base && !seed.batch) return 'this hour’s batch is already in place';
  const what = [seed.base ? 'base data' : '', seed.batch ? `batch ${seed.batch}` : '']
    .filter(Boolean)
    .join(' + ');
  return `seeded ${what} (${seed.rows} rows, ages around every cleanup threshold)`;
}
