/**
 * What a simulation is asked to replay: a period of virtual time, a seed and the faults to inject.
 * Plain data, so the command line, the tests and the engine share one vocabulary, and a scenario
 * can be printed back as it was understood.
 */
import { catalog, fleetWatchdog } from '../functions/catalog';
import type { JobSpec } from '../functions/core/job-spec';

/**
 * Every catalog job but fleet-watchdog. In production the watchdog evaluates the ledger every
 * minute; in a simulation the engine does that itself, every virtual minute and after every
 * attempt, so running the watchdog too would only add its own attempts to the ledger.
 */
export const SIMULATED_JOBS: readonly JobSpec[] = catalog.filter((job) => job.id !== fleetWatchdog.id);

/** Virtual time span [fromMs, toMs): the end is exclusive, so back-to-back windows never overlap. */
export interface TimeWindow {
  readonly fromMs: number;
  readonly toMs: number;
}

/** A window that covers the whole simulation, for faults given without one. */
export const ALWAYS: TimeWindow = { fromMs: -Infinity, toMs: Infinity };

export type Fault =
  /** Every attempt of the job that starts inside the window throws. */
  | { readonly kind: 'fail'; readonly jobId: string; readonly window: TimeWindow }
  /** Each attempt inside the window throws with this probability (seeded, so runs repeat). */
  | {
      readonly kind: 'fail-rate';
      readonly jobId: string;
      readonly probability: number;
      readonly window: TimeWindow;
    }
  /** Each attempt runs for the job's whole timeoutMs and ends in the runtime's TimeoutError. */
  | { readonly kind: 'timeout'; readonly jobId: string; readonly window: TimeWindow }
  /** Every request of the job is delivered twice (Cloud Scheduler is at-least-once). */
  | { readonly kind: 'duplicate'; readonly jobId: string; readonly window: TimeWindow }
  /** The scheduler sends the job nothing: no attempt, no retry. */
  | { readonly kind: 'outage'; readonly jobId: string; readonly window: TimeWindow }
  /** The scheduler sends nothing to any job. */
  | { readonly kind: 'fleet-outage'; readonly window: TimeWindow }
  /** The job is in the catalog but was never deployed: it never receives a request. */
  | { readonly kind: 'never-deployed'; readonly jobId: string }
  /**
   * Each attempt but the tick's last allowed one throws with this probability: transient failures
   * that retries absorb, so every tick succeeds in the end.
   */
  | {
      readonly kind: 'flaky';
      readonly jobId: string;
      readonly probability: number;
      readonly window: TimeWindow;
    }
  /** The scheduler job exists but no function is deployed at its URL: Cloud Run answers 404. */
  | { readonly kind: 'not-found'; readonly jobId: string; readonly window: TimeWindow }
  /**
   * The caller's token is for another audience (a scheduler job pointed at the wrong URL): Cloud
   * Run's IAM front refuses it (401) and the function never sees the request.
   */
  | { readonly kind: 'auth-broken'; readonly jobId: string; readonly window: TimeWindow }
  /** Every database call of the runtime fails: the ledger is unreachable, the runtime answers 503. */
  | { readonly kind: 'database-outage'; readonly window: TimeWindow };

export type FaultKind = Fault['kind'];

export interface Scenario {
  readonly startMs: number;
  /** Exclusive: no request is made at or after it; the last evaluation is at it. */
  readonly endMs: number;
  /** Seeds run durations and --fail-rate draws: the same scenario replays the same way. */
  readonly seed: number;
  readonly faults: readonly Fault[];
  /**
   * How long an attempt that does not time out runs (uniform, seeded). Default 1-3 s: long enough
   * that attempts finish after they start, short against every schedule. Tests that need exact
   * rate windows pin it to one value.
   */
  readonly runDurationMs?: { readonly minMs: number; readonly maxMs: number };
}

export const DEFAULT_RUN_DURATION_MS = { minMs: 1_000, maxMs: 3_000 } as const;

const iso = (ms: number) => new Date(ms).toISOString().replace(':00.000Z', 'Z');

export function describeWindow(window: TimeWindow): string {
  if (window.fromMs === -Infinity && window.toMs === Infinity) return 'for the whole run';
  if (window.toMs === Infinity) return `from ${iso(window.fromMs)}`;
  if (window.fromMs === -Infinity) return `until ${iso(window.toMs)}`;
  return `${iso(window.fromMs)}..${iso(window.toMs)}`;
}

/** One line per fault, as the summary prints them. */
export function describeFault(fault: Fault): string {
  switch (fault.kind) {
    case 'fail':
      return `${fault.jobId}: every attempt fails ${describeWindow(fault.window)}`;
    case 'fail-rate':
      return `${fault.jobId}: ${(fault.probability * 100).toFixed(1)} % of attempts fail ${describeWindow(fault.window)}`;
    case 'timeout':
      return `${fault.jobId}: every attempt times out ${describeWindow(fault.window)}`;
    case 'duplicate':
      return `${fault.jobId}: every request is delivered twice ${describeWindow(fault.window)}`;
    case 'outage':
      return `${fault.jobId}: the scheduler sends nothing ${describeWindow(fault.window)}`;
    case 'fleet-outage':
      return `every job: the scheduler sends nothing ${describeWindow(fault.window)}`;
    case 'never-deployed':
      return `${fault.jobId}: never deployed, never receives a request`;
    case 'flaky':
      return `${fault.jobId}: ${(fault.probability * 100).toFixed(1)} % of attempts fail but a tick's last ${describeWindow(fault.window)}`;
    case 'not-found':
      return `${fault.jobId}: no function at the URL (404) ${describeWindow(fault.window)}`;
    case 'auth-broken':
      return `${fault.jobId}: every request refused (401) ${describeWindow(fault.window)}`;
    case 'database-outage':
      return `every job: the database is unreachable ${describeWindow(fault.window)}`;
  }
}
