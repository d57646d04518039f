/**
 * The fleet's alerts, declared once as data. Infra turns each rule into a Cloud Monitoring alert
 * policy (with its runbook as documentation); the local evaluator computes the same verdicts from
 * the ledger, so the alert logic can be tested offline, over simulated days.
 *
 * Outcomes: "succeeded" and "failed" are attempts that ran the job (an abandoned attempt counts as
 * failed); "skipped" are answers that ran nothing (overlap skips and duplicates).
 */
import type { AttemptOutcome } from '../core/signals';
import { METRICS } from './metrics';

export type AlertId =
  | 'ForwardProgressFailed'
  | 'FailedJobs'
  | 'JobFailureRate'
  | 'JobFailureRateCritical'
  | 'JobQueueBacklog'
  | 'JobProcessingStalled';

export type Severity = 'CRITICAL' | 'ERROR' | 'WARNING';

export type AlertCondition =
  /** A job's time since its last success (or since first expected) passed its derived window. */
  | { readonly kind: 'forward-progress'; readonly metric: string }
  /** A tick failed on every retry within the last `windowMs`. */
  | { readonly kind: 'exhausted'; readonly metric: string; readonly windowMs: number }
  /**
   * Over the trailing `windowMs`, count(numerator) / count(denominator) is above or below the
   * threshold. Evaluated only when the denominator has at least `minAttempts`, so a single attempt
   * in a quiet minute cannot make a rate of 100 %.
   */
  | {
      readonly kind: 'ratio';
      readonly metric: string;
      readonly numerator: readonly AttemptOutcome[];
      readonly denominator: readonly AttemptOutcome[];
      readonly comparison: 'above' | 'below';
      readonly threshold: number;
      readonly windowMs: number;
      readonly minAttempts: number;
    }
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
  readonly condition: AlertCondition;
}

const MINUTE_MS = 60_000;

export const ALERT_RULES: readonly AlertRule[] = [
  {
    id: 'ForwardProgressFailed',
    severity: 'CRITICAL',
    summary: 'A job has not succeeded within its window (it never ran, or it keeps failing).',
    runbook: 'docs/runbooks/forward-progress-failed.md',
    scope: 'job',
    condition: { kind: 'forward-progress', metric: METRICS.forwardProgress.type },
  },
  {
    id: 'FailedJobs',
    severity: 'ERROR',
    summary: 'A scheduled run failed on every retry (the tick is exhausted).',
    runbook: 'docs/runbooks/failed-jobs.md',
    scope: 'job',
    condition: { kind: 'exhausted', metric: METRICS.exhaustedTicks.type, windowMs: 10 * MINUTE_MS },
  },
  {
    id: 'JobFailureRate',
    severity: 'WARNING',
    summary: 'More than 10 % of job attempts failed over the last 5 minutes.',
    runbook: 'docs/runbooks/job-failure-rate.md',
    scope: 'fleet',
    condition: {
      kind: 'ratio',
      metric: METRICS.attempts.type,
      numerator: ['failed'],
      denominator: ['succeeded', 'failed'],
      comparison: 'above',
      threshold: 0.1,
      windowMs: 5 * MINUTE_MS,
      minAttempts: 3,
    },
  },
  {
    id: 'JobFailureRateCritical',
    severity: 'CRITICAL',
    summary: 'More than 25 % of job attempts failed over the last 2 minutes.',
    runbook: 'docs/runbooks/job-failure-rate.md',
    scope: 'fleet',
    condition: {
      kind: 'ratio',
      metric: METRICS.attempts.type,
      numerator: ['failed'],
      denominator: ['succeeded', 'failed'],
      comparison: 'above',
      threshold: 0.25,
      windowMs: 2 * MINUTE_MS,
      minAttempts: 3,
    },
  },
  {
    id: 'JobQueueBacklog',
    severity: 'WARNING',
    summary:
      'Fewer than 90 % of scheduled runs succeeded over the last 10 minutes (failures, skips, overlaps).',
    runbook: 'docs/runbooks/job-queue-backlog.md',
    scope: 'fleet',
    condition: {
      kind: 'ratio',
      metric: METRICS.attempts.type,
      numerator: ['succeeded'],
      denominator: ['succeeded', 'failed', 'skipped'],
      comparison: 'below',
      threshold: 0.9,
      windowMs: 10 * MINUTE_MS,
      minAttempts: 3,
    },
  },
  {
    id: 'JobProcessingStalled',
    severity: 'WARNING',
    summary: 'No job attempt finished for 10 minutes, although jobs ran recently.',
    runbook: 'docs/runbooks/job-queue-backlog.md',
    scope: 'fleet',
    condition: {
      kind: 'stalled',
      metric: METRICS.fleetIdle.type,
      idleMs: 10 * MINUTE_MS,
      historyMs: 24 * 60 * MINUTE_MS,
    },
  },
];
