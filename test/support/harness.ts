/**
 * Everything an HTTP test of a job needs: a database of its own, a loopback token issuer, a
 * Runtime wired to both, log lines captured in memory, signals tallied in memory, and the job
 * handlers registered with the real Functions Framework and served in process (getTestServer).
 */
import type { Server } from 'node:http';
import request from 'supertest';
import type { Adapters } from '../../functions/ports';
import { LocalGauges } from '../../functions/ports/gauges';
import type { Clock } from '../../functions/core/clock';
import type { Env } from '../../functions/core/config';
import type { Db } from '../../functions/core/db';
import type { AnyJobDefinition } from '../../functions/core/job-spec';
import { memoryWriter } from './memory-writer';
import { Runtime } from '../../functions/core/runtime';
import type { RuntimeOverrides } from '../../functions/core/runtime';
import { LocalSignalSink } from '../../functions/core/signals';
import { fanOut } from './fan-out';
import type { SignalSink } from '../../functions/core/signals';
import { jobDefinitions } from '../../functions/jobs';
import { serveJob } from '../../functions/serve-job';
import { LOCAL_ADAPTERS } from '../../local/local-env';
import { localWiring } from '../../local/wiring';
import { startTokenIssuer } from '../../local/token-issuer';
import type { TokenIssuer } from '../../local/token-issuer';
import { createTestDatabase } from './database';
import type { TestDatabase } from './database';

export const INVOKER = 'scheduler-invoker@enx-test-project.iam.gserviceaccount.com';
export const AUDIENCE = 'https://cleanup-worker.example.run.app';
export const TEST_TOKEN_SIGNING_KEY =
  'projects/enx-test-project/locations/local/keyRings/tokens/cryptoKeys/token-signer';

export interface HarnessOptions {
  readonly definitions?: readonly AnyJobDefinition[];
  readonly env?: Env;
  readonly clock?: Clock;
  readonly adapters?: (db: Db) => Adapters;
  readonly database?: TestDatabase;
  /**
   * Another sink the runtime writes to, after the harness's own tally (`harness.sink`); a failing
   * one shows how the runtime copes with a broken metrics backend.
   */
  readonly sink?: SignalSink;
  /** Runtime overrides applied over the harness's own (verifier, logger, ...). */
  readonly overrides?: RuntimeOverrides;
}

export interface InvokeOptions {
  readonly scheduleTime?: string;
  readonly token?: string | null;
  readonly headers?: Record<string, string>;
}

export interface Harness {
  readonly db: TestDatabase;
  readonly issuer: TokenIssuer;
  readonly runtime: Runtime;
  readonly sink: LocalSignalSink;
  /** The jobs' and the watchdog's gauges, unless the test's adapters replace them. */
  readonly gauges: LocalGauges;
  readonly logs: ReturnType<typeof memoryWriter>;
  token(overrides?: Partial<Parameters<TokenIssuer['mint']>[0]>): Promise<string>;
  invoke(jobId: string, options?: InvokeOptions): Promise<request.Response>;
  close(): Promise<void>;
}

export async function createHarness(options: HarnessOptions = {}): Promise<Harness> {
  const db = options.database ?? (await createTestDatabase());
  const issuer = await startTokenIssuer();
  const logs = memoryWriter();
  const sink = new LocalSignalSink();
  const gauges = new LocalGauges();
  // The harness keeps signals in memory (its sink and gauges) unless a test asks for the deployed path.
  const signalsSink = options.env?.SIGNALS_SINK ?? 'local';
  const localGauges = signalsSink !== 'cloud-monitoring';
  const runtime = new Runtime(
    {
      ...LOCAL_ADAPTERS,
      SIGNALS_SINK: signalsSink,
      DATABASE_URL: db.url,
      OIDC_ISSUER: issuer.issuer,
      OIDC_JWKS_URL: issuer.jwksUrl,
      OIDC_AUDIENCE: AUDIENCE,
      OIDC_INVOKER_EMAILS: INVOKER,
      GOOGLE_CLOUD_PROJECT: 'enx-test-project',
      DB_MIGRATE: 'off',
      TOKEN_SIGNING_KEY: TEST_TOKEN_SIGNING_KEY,
      // Settings whose defaults name Google's servers point at a closed loopback port, so a test
      // that forgets to set them fails fast instead of calling out of the machine.
      APP_SYNC_URL: 'http://127.0.0.1:9/apps.json',
      LOG_LEVEL: 'debug',
      ...options.env,
    },
    localWiring,
    {
      db: db.pool,
      writeLine: logs.write,
      sink: options.sink ? fanOut(sink, options.sink) : sink,
      clock: options.clock,
      // Gauges sent to a loopback Cloud Monitoring are the wiring's; otherwise the harness keeps them.
      adapters: (db) => ({
        ...(localGauges ? { gauges, metricsExport: gauges } : {}),
        ...options.adapters?.(db),
      }),
      ...options.overrides,
    },
  );
  const servers = new Map<string, { server: Server; method: 'GET' | 'POST' }>();
  for (const definition of options.definitions ?? jobDefinitions) {
    servers.set(definition.spec.id, {
      server: serveJob(definition, runtime).server,
      method: definition.spec.httpMethod,
    });
  }
  const token = (overrides: Partial<Parameters<TokenIssuer['mint']>[0]> = {}) =>
    issuer.mint({ audience: AUDIENCE, email: INVOKER, now: options.clock?.now(), ...overrides });

  return {
    db,
    issuer,
    runtime,
    sink,
    gauges,
    logs,
    token,
    async invoke(jobId, invoke = {}) {
      const served = servers.get(jobId);
      if (!served) throw new Error(`job ${jobId} is not registered in this harness`);
      // The job's own method, as Cloud Scheduler calls it.
      let call =
        served.method === 'POST' ? request(served.server).post('/') : request(served.server).get('/');
      const bearer = invoke.token === undefined ? await token() : invoke.token;
      if (bearer !== null) call = call.set('Authorization', `Bearer ${bearer}`);
      if (invoke.scheduleTime) call = call.set('X-CloudScheduler-ScheduleTime', invoke.scheduleTime);
      for (const [key, value] of Object.entries(invoke.headers ?? {})) call = call.set(key, value);
      return call;
    },
    async close() {
      await runtime.close();
      await issuer.close();
      if (!options.database) await db.drop();
    },
  };
}

/** The attempts of a job in the ledger, oldest first. */
export async function ledgerAttempts(db: TestDatabase, jobId: string) {
  const { rows } = await db.pool.query(
    'SELECT tick_id, attempt, state, error, result, exhausted FROM enx_jobs_attempts WHERE job_id = $1 ORDER BY id',
    [jobId],
  );
  return rows as {
    tick_id: string;
    attempt: number;
    state: string;
    error: string | null;
    result: unknown;
    exhausted: boolean;
  }[];
}
