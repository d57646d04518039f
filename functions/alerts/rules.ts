/**
 * The fleet's alerts, declared once as data. Infra turns each rule into a Cloud Monitoring alert
 * policy (with its runbook as documentation); the local evaluator computes the same verdicts from
 * the ledger, so the alert logic can be tested offline, over simulated days.
 *
 * The rate rules count ticks, not attempts (docs/signals.md, "Never flapping"): a tick succeeded
 * when one of its attempts did, failed when its last allowed retry failed (it is exhausted), and
 * "skipped" are answers that ran nothing (overlap skips and duplicates). A failed attempt that a
 * retry absorbed is no failure of the fleet, so it never counts.
 */
import { METRICS, SCHEDULER_FAILED_ATTEMPTS } from './metrics';

export type AlertId =
  | 'ForwardProgressFailed'
  | 'FailedJobs'
  | 'SchedulerAttemptsFailed'
  | 'RequestsRefused'
  | 'JobFailureRate'
  | 'JobFailureRateCritical'
  | 'JobQueueBacklog'
  | 'JobProcessingStalled';

/**
 * The severity routes the notification (infra settings list the channels of each): CRITICAL and
 * ERROR page, WARNING goes to a channel nobody is woken by. JobFailureRateCritical is WARNING:
 * its name is the seed runbook's threshold level, and a rate alert never pages (a job that fails
 * for good pages through ForwardProgressFailed and FailedJobs).
 */
export type Severity = 'CRITICAL' | 'ERROR' | 'WARNING';
export const SEVERITIES: readonly Severity[] = ['CRITICAL', 'ERROR', 'WARNING'];

/** A tick's final outcome, as the rate rules count it. */
export type TickOutcome = 'succeeded' | 'failed' | 'skipped';

/**
 * How a breach turns into an incident, the same locally and in Cloud Monitoring. Every minute on
 * the minute, the rule measures its trailing `windowMs` (a breach needs `minTicks`); it fires once
 * that measurement has been breached at every minute for `forMs` (Prometheus' `for:`), and the
 * incident stays open until no such sustained breach has been seen for `recoverMs`: the recovery
 * hysteresis, so one good minute in a failing stream neither resolves nor reopens.
 */
export interface Sustain {
  readonly windowMs: number;
  readonly forMs: number;
  readonly recoverMs: number;
}

export type AlertCondition =
  /** A job's time since its last success (or since first expected) passed its derived window. */
  | { readonly kind: 'forward-progress'; readonly metric: string }
  /** A tick of the job failed on every retry within the last `windowMs`. */
  | { readonly kind: 'exhausted'; readonly metric: string; readonly windowMs: number }
  /** Over the trailing window, the share of ticks with the numerator outcomes, above or below. */
  | ({
      readonly kind: 'ratio';
      readonly numerator: readonly TickOutcome[];
      readonly denominator: readonly TickOutcome[];
      readonly comparison: 'above' | 'below';
      readonly threshold: number;
      readonly minTicks: number;
    } & Sustain)
  /**
   * Cloud Scheduler logged failed attempts of the job (any HTTP status, or none by the deadline)
   * within the window, and the job recorded no success in the same window: one incident per job
   * and status. Failures and successes share one window, so a retry that succeeds cancels the
   * failure before it could be sustained.
   */
  | ({ readonly kind: 'scheduler-failures'; readonly metric: string } & Sustain)
  /** The runtime refused requests of the job within the window: one incident per job and reason. */
  | ({ readonly kind: 'refusals'; readonly metric: string } & Sustain)
  /** No attempt of any job finished for `idleMs`, although some did within `historyMs`. */
  | {
      readonly kind: 'stalled';
      readonly metric: string;
      readonly idleMs: number;
      readonly historyMs: number;
    };

export interface AlertRule {
  readonly id: AlertId;
  readonly severity: Severity;
  /** One line: what fired. Shown as the incident title. */
  readonly summary: string;
  /** The runbook, relative to the repository root; infra embeds it as the policy documentation. */
  readonly runbook: string;
  /** Incidents per job (the job id is in the incident), or one for the whole fleet. */
  readonly scope: 'job' | 'fleet';
  /**
   * How long Cloud Monitoring keeps an incident open once its condition has no data at all
   * (`alert_strategy.auto_close`); undefined leaves Google's default (7 days).
   */
  readonly autoCloseMs?: number;
  readonly condition: AlertCondition;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

/** Fleet rates: three bursts of the 5-minute jobs per window, so one tick moves the rate little. */
const RATE_WINDOW_MS = 15 * MINUTE_MS;
/** With 13 jobs, a 15-minute window holds 15-20 ticks; fewer than 6 says nothing. */
const MIN_TICKS = 6;

export const ALERT_RULES: readonly AlertRule[] = [
  {
    id: 'ForwardProgressFailed',
    severity: 'CRITICAL',
    summary: 'A job has not succeeded within its window (it never ran, or it keeps failing).',
    runbook: 'docs/runbooks/forward-progress-failed.md',
    scope: 'job',
    // The ratio is written every minute; no data means the watchdog is down, which the
    // heartbeat-absence condition of the same policy reports. Keep the incident open meanwhile.
    autoCloseMs: 24 * HOUR_MS,
    condition: { kind: 'forward-progress', metric: METRICS.forwardProgress.type },
  },
  {
    id: 'FailedJobs',
    severity: 'ERROR',
    summary: 'A scheduled run failed on every retry (the tick is exhausted).',
    runbook: 'docs/runbooks/failed-jobs.md',
    scope: 'job',
    autoCloseMs: HOUR_MS,
    // 30 minutes: two ticks of the quarter-hourly jobs, so a job failing tick after tick keeps
    // one incident open instead of one per tick.
    condition: { kind: 'exhausted', metric: METRICS.exhaustedTicks.type, windowMs: 30 * MINUTE_MS },
  },
  {
    id: 'SchedulerAttemptsFailed',
    severity: 'CRITICAL',
    summary: 'Cloud Scheduler reaches the job and every attempt fails (auth, deployment, crash or hang).',
    runbook: 'docs/runbooks/scheduler-attempts-failed.md',
    scope: 'job',
    autoCloseMs: HOUR_MS,
    condition: {
      kind: 'scheduler-failures',
      metric: SCHEDULER_FAILED_ATTEMPTS.type,
      windowMs: 10 * MINUTE_MS,
      forMs: 5 * MINUTE_MS,
      recoverMs: 15 * MINUTE_MS,
    },
  },
  {
    id: 'RequestsRefused',
    severity: 'CRITICAL',
    summary: 'The job refuses the requests that reach it (auth, method, path, body, tick or settings).',
    runbook: 'docs/runbooks/scheduler-attempts-failed.md',
    scope: 'job',
    autoCloseMs: HOUR_MS,
    condition: {
      kind: 'refusals',
      metric: METRICS.refusedRequests.type,
      windowMs: 10 * MINUTE_MS,
      forMs: 5 * MINUTE_MS,
      recoverMs: 15 * MINUTE_MS,
    },
  },
  {
    id: 'JobFailureRate',
    severity: 'WARNING',
    summary: 'More than 10 % of ticks failed on every retry, for 5 minutes (15-minute window).',
    runbook: 'docs/runbooks/job-failure-rate.md',
    scope: 'fleet',
    autoCloseMs: HOUR_MS,
    condition: {
      kind: 'ratio',
      numerator: ['failed'],
      denominator: ['succeeded', 'failed'],
      comparison: 'above',
      threshold: 0.1,
      minTicks: MIN_TICKS,
      windowMs: RATE_WINDOW_MS,
      forMs: 5 * MINUTE_MS,
      recoverMs: 15 * MINUTE_MS,
    },
  },
  {
    id: 'JobFailureRateCritical',
    severity: 'WARNING',
    summary: 'More than 25 % of ticks failed on every retry, for 2 minutes (15-minute window).',
    runbook: 'docs/runbooks/job-failure-rate.md',
    scope: 'fleet',
    autoCloseMs: HOUR_MS,
    condition: {
      kind: 'ratio',
      numerator: ['failed'],
      denominator: ['succeeded', 'failed'],
      comparison: 'above',
      threshold: 0.25,
      minTicks: MIN_TICKS,
      windowMs: RATE_WINDOW_MS,
      forMs: 2 * MINUTE_MS,
      recoverMs: 15 * MINUTE_MS,
    },
  },
  {
    id: 'JobQueueBacklog',
    severity: 'WARNING',
    summary: 'Fewer than 90 % of ticks succeeded (failures, skips, overlaps), for 10 minutes.',
    runbook: 'docs/runbooks/job-queue-backlog.md',
    scope: 'fleet',
    autoCloseMs: HOUR_MS,
    condition: {
      kind: 'ratio',
      numerator: ['succeeded'],
      denominator: ['succeeded', 'failed', 'skipped'],
      comparison: 'below',
      threshold: 0.9,
      minTicks: MIN_TICKS,
      windowMs: RATE_WINDOW_MS,
      forMs: 10 * MINUTE_MS,
      recoverMs: 15 * MINUTE_MS,
    },
  },
  {
    id: 'JobProcessingStalled',
    severity: 'WARNING',
    summary: 'No job attempt finished for 10 minutes, although jobs ran recently.',
    runbook: 'docs/runbooks/job-queue-backlog.md',
    scope: 'fleet',
    autoCloseMs: HOUR_MS,
    condition: {
      kind: 'stalled',
      metric: METRICS.fleetIdle.type,
      idleMs: 10 * MINUTE_MS,
      historyMs: 24 * HOUR_MS,
    },
  },
];

/** The rules that page (CRITICAL and ERROR); the others notify without waking anyone. */
export const pages = (rule: Pick<AlertRule, 'severity'>): boolean => rule.severity !== 'WARNING';

/**
 * fleet-watchdog's id (the catalog cannot be imported here: the watchdog imports these rules). It
 * runs every minute; the fleet rates leave its ticks out, so they measure the product's jobs.
 */
export const WATCHDOG_JOB = 'fleet-watchdog';
