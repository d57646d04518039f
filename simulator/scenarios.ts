/**
 * The named scenarios of `npm run simulate -- --scenario <name>`: the faults an on-call engineer
 * must hear about (and those they must not), each with its period and the jobs it runs. The
 * alert-quality targets of docs/simulator.md are checked against these very scenarios by
 * test/integration/simulator-quality.test.ts.
 */
import { fleetWatchdog } from '../functions/catalog';
import type { JobSpec } from '../functions/core/job-spec';
import { SIMULATED_JOBS } from './scenario';
import type { Fault, Scenario, TimeWindow } from './scenario';

const HOUR_MS = 3_600_000;

/** The jobs plus fleet-watchdog, for scenarios about the watchdog itself or about everything. */
export const JOBS_WITH_WATCHDOG: readonly JobSpec[] = [...SIMULATED_JOBS, fleetWatchdog];

/** The job the single-job scenarios break: every five minutes, so a failure shows soon. */
export const PROBE_JOB = 'e2e-default';

export interface NamedScenario {
  readonly name: string;
  readonly description: string;
  readonly days: number;
  /** The jobs simulated (default SIMULATED_JOBS). */
  readonly jobs?: readonly JobSpec[];
  /** The faults, for a run starting at `startMs`. */
  faults(startMs: number): Fault[];
}

const from = (startMs: number, fromHours: number, toHours = Infinity): TimeWindow => ({
  fromMs: startMs + fromHours * HOUR_MS,
  toMs: toHours === Infinity ? Infinity : startMs + toHours * HOUR_MS,
});

const everyJob = (jobs: readonly JobSpec[], fault: (jobId: string) => Fault): Fault[] =>
  jobs.map((job) => fault(job.id));

export const SCENARIOS: readonly NamedScenario[] = [
  {
    name: 'healthy',
    description: 'every job succeeds on its first attempt for a week',
    days: 7,
    faults: () => [],
  },
  {
    name: 'healthy-transient',
    description:
      "5 % of every job's attempts fail for a week, but never a tick's last: retries absorb them all",
    days: 7,
    faults: (startMs) =>
      everyJob(SIMULATED_JOBS, (jobId) => ({
        kind: 'flaky',
        jobId,
        probability: 0.05,
        window: from(startMs, 0),
      })),
  },
  {
    name: 'one-job-failing',
    description: `${PROBE_JOB} fails every attempt for 4 hours, from +10h`,
    days: 1,
    faults: (startMs) => [{ kind: 'fail', jobId: PROBE_JOB, window: from(startMs, 10, 14) }],
  },
  {
    name: 'fleet-failing',
    description: 'every job fails every attempt for 2 hours, from +2h',
    days: 0.5,
    faults: (startMs) =>
      everyJob(SIMULATED_JOBS, (jobId) => ({ kind: 'fail', jobId, window: from(startMs, 2, 4) })),
  },
  {
    name: 'never-deployed',
    description: 'the scheduler jobs exist but no function was ever deployed (404), watchdog included',
    days: 0.25,
    jobs: JOBS_WITH_WATCHDOG,
    faults: (startMs) =>
      everyJob(JOBS_WITH_WATCHDOG, (jobId) => ({ kind: 'not-found', jobId, window: from(startMs, 0) })),
  },
  {
    name: 'auth-broken',
    description: 'every request is refused (401) from +1h: the token audience no longer matches',
    days: 0.25,
    faults: (startMs) =>
      everyJob(SIMULATED_JOBS, (jobId) => ({ kind: 'auth-broken', jobId, window: from(startMs, 1) })),
  },
  {
    name: 'database-outage',
    description: 'the database is unreachable for 2 hours, from +2h',
    days: 0.5,
    faults: (startMs) => [{ kind: 'database-outage', window: from(startMs, 2, 4) }],
  },
  {
    name: 'watchdog-dead',
    description: `${fleetWatchdog.id} never runs; every other job is healthy`,
    days: 0.25,
    jobs: JOBS_WITH_WATCHDOG,
    faults: () => [{ kind: 'never-deployed', jobId: fleetWatchdog.id }],
  },
];

export const SCENARIO_NAMES = SCENARIOS.map((scenario) => scenario.name);

export function findScenario(name: string): NamedScenario | undefined {
  return SCENARIOS.find((scenario) => scenario.name === name);
}

/** The Scenario a named one makes, from `startMs`, for its own period unless `endMs` is given. */
export function scenarioOf(named: NamedScenario, startMs: number, seed: number, endMs?: number): Scenario {
  return {
    startMs,
    endMs: endMs ?? startMs + Math.round(named.days * 24 * HOUR_MS),
    seed,
    faults: named.faults(startMs),
  };
}
