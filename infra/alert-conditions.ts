/**
 * Cloud Monitoring conditions for the alert rules of functions/alerts/rules.ts, one translation
 * per condition kind (docs/signals.md has the design). Pure data in the provider's shapes; a new
 * rule of an existing kind needs no edit here.
 */
import type { MonitoringAlertPolicyConditions } from '@cdktf/provider-google/lib/monitoring-alert-policy';
import type { JobSpec } from '../functions/core/job-spec';
import { fleetWatchdog } from '../functions/catalog';
import { RATE_EXCLUDED_JOBS } from '../functions/alerts/evaluate';
import {
  METRICS,
  RESOURCE_NAMESPACE,
  RESOURCE_TYPE,
  SCHEDULER_FAILED_ATTEMPTS,
} from '../functions/alerts/metrics';
import type { AlertCondition, AlertRule, Sustain, TickOutcome } from '../functions/alerts/rules';
import { GOOGLE_LIMITS, jobTiming } from '../functions/alerts/windows';
import { terraformLiteral } from './naming';

const MINUTE_MS = 60_000;
/** Incidents of per-job rules are grouped by this label, so each job has its own incident. */
export const JOB_LABEL = 'resource.label.job';

/** A Monitoring filter on one of our metrics, on our monitored resource only. */
export function metricFilter(metricType: string, extra: readonly string[] = []): string {
  return [
    `metric.type="${metricType}"`,
    `resource.type="${RESOURCE_TYPE}"`,
    `resource.label.namespace="${RESOURCE_NAMESPACE}"`,
    ...extra,
  ].join(' AND ');
}

/**
 * Cloud Monitoring's PromQL name of a metric: the domain's dots become underscores, the first
 * slash a colon, the rest underscores (custom.googleapis.com/enx_jobs/attempts →
 * custom_googleapis_com:enx_jobs_attempts).
 */
export function promQlMetricName(metricType: string): string {
  const slash = metricType.indexOf('/');
  const domain = metricType.slice(0, slash).replace(/\./g, '_');
  const rest = metricType.slice(slash + 1).replace(/[./-]/g, '_');
  return `${domain}:${rest}`;
}

/** A PromQL range: whole minutes when possible. */
export function promQlRange(ms: number): string {
  return ms % MINUTE_MS === 0 ? `${ms / MINUTE_MS}m` : `${Math.ceil(ms / 1000)}s`;
}

const SUBQUERY_STEP = '1m';

/** `{monitored_resource="generic_task",namespace="enx-jobs",...}` for one of our custom metrics. */
function selector(extra: readonly string[] = []): string {
  return `{${[`monitored_resource="${RESOURCE_TYPE}"`, `namespace="${RESOURCE_NAMESPACE}"`, ...extra].join(',')}}`;
}

/** The rate rules leave the watchdog's own ticks out (evaluate.ts does the same). */
const NOT_EXCLUDED = RATE_EXCLUDED_JOBS.map((job) => `job!="${job}"`);

/**
 * Ticks with one final outcome over the window, fleet-wide: a success is a succeeded attempt, a
 * failure an exhausted tick, a skip a skipped answer. `or vector(0)`: a counter that never moved
 * (no tick was ever exhausted) has no series, and a sum with an empty side would be empty.
 */
function ticksIncrease(outcome: TickOutcome, windowMs: number): string {
  const series =
    outcome === 'failed'
      ? `${promQlMetricName(METRICS.exhaustedTicks.type)}${selector(NOT_EXCLUDED)}`
      : `${promQlMetricName(METRICS.attempts.type)}${selector([...NOT_EXCLUDED, `outcome="${outcome}"`])}`;
  return `(sum(increase(${series}[${promQlRange(windowMs)}])) or vector(0))`;
}

function ticksSum(outcomes: readonly TickOutcome[], windowMs: number): string {
  const terms = outcomes.map((outcome) => ticksIncrease(outcome, windowMs));
  return terms.length === 1 ? terms[0] : `(${terms.join(' + ')})`;
}

/**
 * The Sustain rule of rules.ts in PromQL: the breach (present only while breached) at every one of
 * the `forMs` minutes, seen at some minute of the last `recoverMs`. The query returns a series
 * only while the incident should be open, so Cloud Monitoring's "no data closes the incident" is
 * the recovery rule itself, and the condition's own duration stays 0 (a duration on the outer
 * query would count the recovery hold as part of the breach).
 */
export function sustainedQuery(breach: string, sustain: Sustain): string {
  const minutesFor = Math.max(1, Math.ceil(sustain.forMs / MINUTE_MS));
  const sustained = `count_over_time((${breach})[${promQlRange(minutesFor * MINUTE_MS)}:${SUBQUERY_STEP}]) >= ${minutesFor}`;
  if (sustain.recoverMs <= 0) return sustained;
  return `max_over_time((${sustained})[${promQlRange(sustain.recoverMs)}:${SUBQUERY_STEP}])`;
}

/** The breach of a rate rule at one instant: the ratio past its threshold on at least minTicks. */
export function ratioBreach(condition: Extract<AlertCondition, { kind: 'ratio' }>): string {
  const numerator = ticksSum(condition.numerator, condition.windowMs);
  const denominator = ticksSum(condition.denominator, condition.windowMs);
  const operator = condition.comparison === 'above' ? '>' : '<';
  return `(${numerator} / ${denominator}) ${operator} ${condition.threshold} and ${denominator} >= ${condition.minTicks}`;
}

export function ratioQuery(condition: Extract<AlertCondition, { kind: 'ratio' }>): string {
  return sustainedQuery(ratioBreach(condition), condition);
}

/** Per job and status: failed scheduler attempts in the window, unless the job succeeded in it. */
export function schedulerFailuresQuery(
  condition: Extract<AlertCondition, { kind: 'scheduler-failures' }>,
): string {
  const range = promQlRange(condition.windowMs);
  const failed = `sum by (job, status) (increase(${promQlMetricName(condition.metric)}{monitored_resource="${SCHEDULER_FAILED_ATTEMPTS.resourceType}"}[${range}])) > 0`;
  const succeeded = `sum by (job) (increase(${promQlMetricName(METRICS.attempts.type)}${selector(['outcome="succeeded"'])}[${range}])) > 0`;
  return sustainedQuery(`(${failed}) unless on (job) (${succeeded})`, condition);
}

/** Per job and reason: requests the runtime refused in the window. */
export function refusalsQuery(condition: Extract<AlertCondition, { kind: 'refusals' }>): string {
  const breach = `sum by (job, reason) (increase(${promQlMetricName(condition.metric)}${selector()}[${promQlRange(condition.windowMs)}])) > 0`;
  return sustainedQuery(breach, condition);
}

/**
 * The watchdog's heartbeat missing for its window. absent_over_time is 1 when the range holds no
 * point, including when the series never existed, which a metric-absence condition cannot see.
 */
export function watchdogAbsenceQuery(spec: JobSpec = fleetWatchdog): string {
  const heartbeat = `${promQlMetricName(METRICS.heartbeat.type)}${selector([`job="${spec.id}"`])}`;
  return `absent_over_time(${heartbeat}[${promQlRange(watchdogAbsenceMs(spec))}])`;
}

function promQl(displayName: string, query: string): MonitoringAlertPolicyConditions {
  return {
    displayName,
    conditionPrometheusQueryLanguage: {
      query: terraformLiteral(query),
      duration: '0s',
      evaluationInterval: '60s',
      // Our metrics have no points before the first run; validation would refuse the query then.
      disableMetricValidation: true,
    },
  };
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)}s`;
}

/**
 * The watchdog's own window, as an absence duration Cloud Monitoring accepts, plus one of its
 * periods: its heartbeat, like every recorded point, is written by its next run, so the newest
 * point is always a run old (functions/db/stored-signals.ts).
 */
export function watchdogAbsenceMs(spec: JobSpec = fleetWatchdog): number {
  const timing = jobTiming(spec);
  const windowMs = timing.windowMs + Math.ceil(timing.maxGapMs / MINUTE_MS) * MINUTE_MS;
  if (
    windowMs % MINUTE_MS !== 0 ||
    windowMs < GOOGLE_LIMITS.absenceMinMs ||
    windowMs > GOOGLE_LIMITS.absenceMaxMs
  ) {
    throw new Error(
      `${spec.id}: its window (${windowMs / 1000} s) cannot be a metric-absence duration (whole minutes, 2 min to 23 h 30 min); change its schedule or missedTicksBeforeAlert`,
    );
  }
  return windowMs;
}

/** The conditions of one rule's policy (1-6 of them, Cloud Monitoring's limit). */
export function policyConditions(rule: AlertRule): MonitoringAlertPolicyConditions[] {
  const condition = rule.condition;
  switch (condition.kind) {
    case 'forward-progress':
      return [
        {
          displayName: 'A job is late: time since its last success is over its window',
          conditionThreshold: {
            filter: metricFilter(condition.metric),
            // The watchdog writes every minute; the max over two minutes survives one missed write.
            aggregations: [
              {
                alignmentPeriod: '120s',
                perSeriesAligner: 'ALIGN_MAX',
                crossSeriesReducer: 'REDUCE_MAX',
                groupByFields: [JOB_LABEL],
              },
            ],
            comparison: 'COMPARISON_GT',
            thresholdValue: 1,
            duration: '0s',
            trigger: { count: 1 },
          },
        },
        // Without the watchdog the ratios above stop; its own heartbeat must keep coming.
        promQl(
          `The ${fleetWatchdog.id} heartbeat is missing (the forward-progress check is blind)`,
          watchdogAbsenceQuery(),
        ),
      ];
    case 'exhausted':
      return [
        {
          displayName: `A tick failed on every retry within ${condition.windowMs / MINUTE_MS} min`,
          conditionThreshold: {
            filter: metricFilter(condition.metric),
            aggregations: [
              {
                alignmentPeriod: seconds(condition.windowMs),
                perSeriesAligner: 'ALIGN_DELTA',
                crossSeriesReducer: 'REDUCE_SUM',
                groupByFields: [JOB_LABEL],
              },
            ],
            comparison: 'COMPARISON_GT',
            thresholdValue: 0,
            duration: '0s',
            trigger: { count: 1 },
          },
        },
      ];
    case 'ratio':
      return [promQl(rule.summary, ratioQuery(condition))];
    case 'scheduler-failures':
      return [
        promQl('Every scheduler attempt of the job failed for 5 minutes', schedulerFailuresQuery(condition)),
      ];
    case 'refusals':
      return [promQl('The job refused requests for 5 minutes', refusalsQuery(condition))];
    case 'stalled':
      return [
        {
          displayName: `No job attempt finished for ${condition.idleMs / MINUTE_MS} min`,
          conditionThreshold: {
            filter: metricFilter(condition.metric),
            aggregations: [
              { alignmentPeriod: '120s', perSeriesAligner: 'ALIGN_MAX', crossSeriesReducer: 'REDUCE_MAX' },
            ],
            comparison: 'COMPARISON_GT',
            thresholdValue: condition.idleMs / 1000,
            duration: '0s',
            trigger: { count: 1 },
          },
        },
      ];
  }
}
