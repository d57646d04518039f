/**
 * The time-travel simulator's event loop. Virtual time only moves when the loop says so: a
 * ManualClock, set to each request's time before the request is sent.
 *
 * What is real: the runtime (createJobHandler over a Runtime), served by the Functions Framework
 * over HTTP on 127.0.0.1, with a real PostgreSQL run ledger, job lock and retry accounting; the
 * alert rules (evaluate() over a FleetSnapshot read by loadSnapshot()). What is simulated: the job
 * logic (it only takes virtual time, throws or times out as the faults say), the caller's identity
 * (every caller is accepted) and Cloud Scheduler (scheduler-model.ts).
 *
 * fleet-watchdog is not simulated: in production it evaluates the ledger every minute; here the
 * loop itself evaluates every rule every virtual minute and after every attempt.
 *
 * Order of events: requests are taken in virtual-time order, each one run to its answer before
 * the next (the clock is set back to a request's own time if an earlier one ran past it: jobs
 * are independent, and the ledger records each attempt's own start and finish). An evaluation at
 * an instant comes after every request at or before that instant, so it sees each attempt that
 * has finished by then. An attempt that would still be running at that instant is already closed
 * in the ledger, with a later finish time, which every query of loadSnapshot filters out; the one
 * place a running attempt would show, the overdue count, only counts attempts past their
 * deadline, and a simulated attempt always ends before its deadline.
 *
 * Cost: reading a snapshot takes four queries. It is read from the database after every attempt
 * (the only moments the ledger changes). For the minutes in between, the snapshot is the last one
 * read, with `now` moved on and the attempts that left the look-back window dropped: exactly what
 * loadSnapshot would return, since no attempt finished in between and none is left running.
 * `exactSnapshots` reads the database every minute instead; the tests check both agree.
 */
import { fleetWatchdog } from '../functions/catalog';
import { evaluate, lookbackMs } from '../functions/alerts/evaluate';
import type { FleetSnapshot } from '../functions/alerts/evaluate';
import { ALERT_RULES } from '../functions/alerts/rules';
import { loadSnapshot } from '../functions/alerts/snapshot';
import { ManualClock } from '../test/support/manual-clock';
import { noConfig } from '../functions/core/config';
import type { Db } from '../functions/core/db';
import { TimeoutError } from '../functions/core/errors';
import { defineJob } from '../functions/core/job-spec';
import type { AnyJobDefinition, JobSpec } from '../functions/core/job-spec';
import type { LineWriter } from '../functions/core/logger';
import { Runtime } from '../functions/core/runtime';
import { localWiring } from '../local/wiring';
import { LocalSignalSink } from '../functions/core/signals';
import { EventQueue } from './event-queue';
import { FaultPlan } from './faults';
import { serveFunctions } from './function-servers';
import { OutsideSignals } from '../local/outside-signals';
import { CallerTokens, SIMULATED_CALLER } from './caller-tokens';
import { startTokenIssuer } from '../local/token-issuer';
import type { TokenIssuer } from '../local/token-issuer';
import type { Answer } from './function-servers';
import { streamFor } from './random';
import type { Random } from './random';
import { DEFAULT_RUN_DURATION_MS, SIMULATED_JOBS } from './scenario';
import type { Scenario } from './scenario';
import { planRetry, schedulerSucceeded, ticksOf } from './scheduler-model';
import { TransitionTracker } from './timeline';
import type { Transition } from './timeline';

const MINUTE_MS = 60_000;

export interface SimulationOptions {
  /** A migrated database whose run ledger is empty. */
  readonly db: Db;
  readonly scenario: Scenario;
  /** The jobs to simulate; default SIMULATED_JOBS. Tests add specs of their own. */
  readonly jobs?: readonly JobSpec[];
  /** Where the runtime's JSON log lines go; discarded by default. */
  readonly writeLine?: LineWriter;
  /** Read a snapshot from the database every virtual minute (slow; the reference for the shortcut). */
  readonly exactSnapshots?: boolean;
  readonly onTransition?: (transition: Transition) => void;
}

/** One request the scheduler sent, and what came of it. */
export interface RequestRecord {
  readonly jobId: string;
  readonly tickMs: number;
  /** 0 for the tick's first attempt, n for its n-th retry. */
  readonly retry: number;
  /** A second delivery of the same request (the duplicate fault). */
  readonly duplicate: boolean;
  readonly sentMs: number;
  readonly answeredMs: number;
  readonly status?: number;
  /** The answer's status field: succeeded, failed, duplicate, skipped, in_progress, ... */
  readonly answer: string;
  /** What Cloud Scheduler makes of it: 2xx within the attempt deadline. */
  readonly ok: boolean;
  readonly exhausted: boolean;
}

/** A request the faults kept from being sent. */
export interface DroppedRequest {
  readonly jobId: string;
  readonly tickMs: number;
  readonly atMs: number;
  readonly reason: 'never-deployed' | 'outage' | 'fleet-outage';
}

export interface SimulationResult {
  readonly scenario: Scenario;
  readonly jobs: readonly JobSpec[];
  readonly transitions: readonly Transition[];
  readonly tracker: TransitionTracker;
  readonly requests: readonly RequestRecord[];
  readonly dropped: readonly DroppedRequest[];
  /** Ticks whose retries stopped because the job's next tick was due before the next retry. */
  readonly retriesCutByNextTick: number;
  readonly stats: {
    readonly ticks: number;
    readonly evaluations: number;
    readonly databaseSnapshots: number;
    readonly wallMs: number;
  };
}

type SimEvent =
  | {
      readonly kind: 'request';
      readonly atMs: number;
      readonly rank: 0;
      readonly job: number;
      readonly tickIndex: number;
      readonly retriesDone: number;
      readonly duplicate: boolean;
    }
  /** rank 1: after an attempt, read from the database; rank 2: a virtual minute. */
  | { readonly kind: 'evaluate'; readonly atMs: number; readonly rank: 1 | 2 };

/**
 * The runtime's database, failing every call while the database-outage fault holds, as an
 * unreachable Cloud SQL instance would. The simulator's own evaluation reads the database
 * directly: it plays the watchdog and Cloud Monitoring, which keep their history in an outage.
 */
function outageAware(db: Db, faults: FaultPlan, clock: ManualClock): Db {
  return new Proxy(db, {
    get(target, property) {
      const value = Reflect.get(target, property, target) as unknown;
      if (typeof value !== 'function') return value;
      if ((property === 'query' || property === 'connect') && faults.databaseDown(clock.now().getTime())) {
        return () => Promise.reject(new Error('connect ECONNREFUSED (simulated database outage)'));
      }
      return (value as (...args: unknown[]) => unknown).bind(target);
    },
  });
}

/**
 * Only what the runtime's settings require. The callers' tokens come from a loopback issuer
 * (caller-tokens.ts); the stand-in for Cloud Run's IAM front checks their signature and strips it,
 * and the runtime checks the claims, as on Cloud Run (AUTH_EDGE=cloud-run). Migrations are the
 * caller's business.
 */
const SIMULATOR_AUDIENCE = 'http://127.0.0.1/simulated';

function simulatorEnv(issuer: TokenIssuer): Record<string, string> {
  return {
    GOOGLE_CLOUD_PROJECT: 'enx-simulator',
    OIDC_ISSUER: issuer.issuer,
    OIDC_JWKS_URL: issuer.jwksUrl,
    OIDC_AUDIENCE: SIMULATOR_AUDIENCE,
    OIDC_INVOKER_EMAILS: SIMULATED_CALLER,
    AUTH_EDGE: 'cloud-run',
    SIGNALS_SINK: 'local',
    DB_MIGRATE: 'off',
    LOG_LEVEL: 'info',
  };
}

const discard: LineWriter = () => undefined;

/**
 * The logger stamps lines with the machine's time; a simulation's log reads in virtual time, so
 * its lines line up with the timeline and the ledger.
 */
function inVirtualTime(write: LineWriter, clock: ManualClock): LineWriter {
  return (line) => write(line.replace(/"time":"[^"]*"/, `"time":"${clock.now().toISOString()}"`));
}

/**
 * The catalog spec with its logic replaced. The job's own settings (config) belong to the logic
 * that is not run, so they are dropped: the simulation needs no KMS key names.
 */
function simulatedDefinition(
  spec: JobSpec,
  clock: ManualClock,
  faults: FaultPlan,
  scenario: Scenario,
): AnyJobDefinition {
  const durations: Random = streamFor(scenario.seed, `${spec.id}:durations`);
  const failures: Random = streamFor(scenario.seed, `${spec.id}:failures`);
  const { minMs, maxMs } = scenario.runDurationMs ?? DEFAULT_RUN_DURATION_MS;
  return defineJob({ ...spec, config: noConfig }, async (context) => {
    const lastAttempt = context.attempt >= spec.retry.retryCount + 1;
    const behaviour = faults.behaviour(spec.id, context.clock.now().getTime(), failures, lastAttempt);
    if (behaviour === 'timeout') {
      clock.advance(spec.timeoutMs);
      throw new TimeoutError(spec.timeoutMs);
    }
    clock.advance(Math.round(minMs + (maxMs - minMs) * durations()));
    if (behaviour === 'fail') throw new Error('simulated failure injected by the simulator');
    return { simulated: true };
  });
}

async function assertEmptyLedger(db: Db): Promise<void> {
  const { rows } = await db.query<{ attempts: number; expected: number }>(
    `SELECT (SELECT count(*)::int FROM enx_jobs_attempts) AS attempts,
            (SELECT count(*)::int FROM enx_jobs_expected) AS expected`,
  );
  if (rows[0].attempts > 0 || rows[0].expected > 0) {
    throw new Error(
      `the simulation needs an empty run ledger, and this database has ${rows[0].attempts} attempt(s) ` +
        `and ${rows[0].expected} expected job(s) in it; give it a fresh database`,
    );
  }
}

/** The snapshot loadSnapshot would read at `atMs`, given that nothing finished since `base.now`. */
function carriedForward(base: FleetSnapshot, atMs: number, lookback: number): FleetSnapshot {
  return {
    ...base,
    now: new Date(atMs),
    attempts: base.attempts.filter((attempt) => attempt.finishedAt.getTime() > atMs - lookback),
  };
}

export async function simulate(options: SimulationOptions): Promise<SimulationResult> {
  const wallStart = performance.now();
  const { db, scenario } = options;
  const jobs = options.jobs ?? SIMULATED_JOBS;
  if (!(scenario.endMs > scenario.startMs)) throw new Error('the simulation must end after it starts');
  // A fault naming a job that is not simulated would silently do nothing.
  const ids = new Set(jobs.map((job) => job.id));
  for (const fault of scenario.faults) {
    if ('jobId' in fault && !ids.has(fault.jobId)) {
      throw new Error(
        `a ${fault.kind} fault names ${fault.jobId}, which is not simulated (${[...ids].join(', ')})`,
      );
    }
  }
  await assertEmptyLedger(db);

  const clock = new ManualClock(scenario.startMs);
  const faults = new FaultPlan(scenario.faults);
  const issuer = await startTokenIssuer();
  const tokens = new CallerTokens(issuer, SIMULATOR_AUDIENCE);
  const outside = new OutsideSignals();
  const runtime = new Runtime(simulatorEnv(issuer), localWiring, {
    clock,
    db: outageAware(db, faults, clock),
    sink: new LocalSignalSink(),
    writeLine: options.writeLine ? inVirtualTime(options.writeLine, clock) : discard,
  });
  const definitions = jobs.map((spec) => simulatedDefinition(spec, clock, faults, scenario));
  const edge = {
    issuer: issuer.issuer,
    jwksUrl: issuer.jwksUrl,
    audience: SIMULATOR_AUDIENCE,
    invokers: () => [SIMULATED_CALLER],
    clock,
  };
  const served = await serveFunctions(definitions, runtime, edge).catch(async (error: unknown) => {
    await runtime.close();
    await issuer.close();
    throw error;
  });

  const ticks = jobs.map((spec) => ticksOf(spec, scenario.startMs, scenario.endMs));
  const tracker = new TransitionTracker();
  const requests: RequestRecord[] = [];
  const dropped: DroppedRequest[] = [];
  const lookback = lookbackMs(ALERT_RULES);
  const excludedFromActivity = [fleetWatchdog.id];
  let retriesCutByNextTick = 0;
  let evaluations = 0;
  let databaseSnapshots = 0;
  let lastEvaluationMs = -Infinity;
  let lastRead: FleetSnapshot | undefined;

  const queue = new EventQueue<SimEvent>();
  ticks.forEach((list, job) => {
    if (list.length > 0)
      queue.push({
        kind: 'request',
        atMs: list[0],
        rank: 0,
        job,
        tickIndex: 0,
        retriesDone: 0,
        duplicate: false,
      });
  });

  const evaluateAt = async (atMs: number, fromDatabase: boolean) => {
    // Every request at or before this instant has run already, so one evaluation per instant
    // sees all there is to see.
    if (atMs === lastEvaluationMs) return;
    lastEvaluationMs = atMs;
    let snapshot: FleetSnapshot;
    if (fromDatabase || options.exactSnapshots || lastRead === undefined) {
      snapshot = await loadSnapshot(db, jobs, new Date(atMs), { lookbackMs: lookback, excludedFromActivity });
      lastRead = snapshot;
      databaseSnapshots += 1;
    } else {
      snapshot = carriedForward(lastRead, atMs, lookback);
    }
    evaluations += 1;
    snapshot = { ...snapshot, ...outside.within(atMs) };
    for (const transition of tracker.observe(atMs, evaluate(ALERT_RULES, snapshot))) {
      options.onTransition?.(transition);
    }
  };

  const send = async (event: Extract<SimEvent, { kind: 'request' }>) => {
    const spec = jobs[event.job];
    const tickMs = ticks[event.job][event.tickIndex];
    const nextTickMs = ticks[event.job][event.tickIndex + 1] ?? Infinity;
    // The scheduler fires every tick on time whatever became of the previous one: queue the next
    // one as soon as this tick's first request is due.
    if (event.retriesDone === 0 && !event.duplicate && nextTickMs < scenario.endMs) {
      queue.push({ ...event, atMs: nextTickMs, tickIndex: event.tickIndex + 1 });
    }
    const blocked = faults.blocked(spec.id, event.atMs);
    if (blocked) {
      dropped.push({ jobId: spec.id, tickMs, atMs: event.atMs, reason: blocked });
      return;
    }
    clock.set(event.atMs);
    const endpoint = served.endpoints.get(spec.id);
    const answer: Answer = faults.notFound(spec.id, event.atMs)
      ? { status: 404, body: { status: 'not found', error: 'no function is deployed at this URL' } }
      : endpoint
        ? await endpoint.call(
            tickMs,
            await tokens.authorization(event.atMs, faults.authBroken(spec.id, event.atMs)),
          )
        : { body: { status: 'no answer', error: 'not served' } };
    const answeredMs = clock.now().getTime();
    outside.record(spec, answer, event.atMs, answeredMs);
    const ok = schedulerSucceeded(spec, answer.status, answeredMs - event.atMs);
    requests.push({
      jobId: spec.id,
      tickMs,
      retry: event.retriesDone,
      duplicate: event.duplicate,
      sentMs: event.atMs,
      answeredMs,
      status: answer.status,
      answer: typeof answer.body.status === 'string' ? answer.body.status : 'unknown',
      ok,
      exhausted: answer.body.exhausted === true,
    });
    queue.push({ kind: 'evaluate', atMs: answeredMs, rank: 1 });
    if (event.duplicate) return;
    // The second delivery arrives as the first is answered: the runtime then sees a finished
    // tick (a duplicate when it succeeded, another attempt when it failed). The scheduler acts on
    // the first delivery's answer only.
    if (faults.duplicated(spec.id, event.atMs)) {
      queue.push({ ...event, atMs: answeredMs, duplicate: true });
    }
    if (ok) return;
    const plan = planRetry(spec, {
      retriesDone: event.retriesDone,
      answeredAtMs: answeredMs,
      nextTickAtMs: nextTickMs,
    });
    if (plan.kind === 'retry') queue.push({ ...event, atMs: plan.atMs, retriesDone: plan.retry });
    else if (plan.reason === 'next-tick-due') retriesCutByNextTick += 1;
  };

  try {
    // The first read registers every job as expected from the start: a job that never runs is
    // then measured from here (ForwardProgressFailed one window later).
    await evaluateAt(scenario.startMs, true);
    queue.push({ kind: 'evaluate', atMs: Math.ceil(scenario.startMs / MINUTE_MS) * MINUTE_MS, rank: 2 });
    for (let event = queue.pop(); event !== undefined; event = queue.pop()) {
      if (event.kind === 'request') {
        if (event.atMs < scenario.endMs) await send(event);
        continue;
      }
      if (event.atMs > scenario.endMs) continue;
      await evaluateAt(event.atMs, event.rank === 1);
      if (event.rank === 2 && event.atMs + MINUTE_MS <= scenario.endMs) {
        queue.push({ kind: 'evaluate', atMs: event.atMs + MINUTE_MS, rank: 2 });
      }
    }
    await evaluateAt(scenario.endMs, false);
  } finally {
    await served.close();
    await runtime.close();
    await issuer.close();
  }

  return {
    scenario,
    jobs,
    transitions: tracker.transitions,
    tracker,
    requests,
    dropped,
    retriesCutByNextTick,
    stats: {
      ticks: ticks.reduce((sum, list) => sum + list.length, 0),
      evaluations,
      databaseSnapshots,
      wallMs: performance.now() - wallStart,
    },
  };
}
