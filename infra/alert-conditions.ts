/**
 * Cloud Monitoring conditions for the alert rules of functions/alerts/rules.ts, one translation
 * per condition kind (docs/signals.md has the design). Pure data in the provider's shapes; a new
 * rule of an existing kind needs no edit here.
 */
import type { MonitoringAlertPolicyConditions } from '@cdktf/provider-google/lib/monitoring-alert-policy';
import type { JobSpec } from '../functions/core/job-spec';
import { fleetWatchdog } from '../functions/catalog';
import { METRICS, RESOURCE_NAMESPACE, RESOURCE_TYPE } from '../functions/alerts/metrics';
import type { AlertCondition, AlertRule } from '../functions/alerts/rules';
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

function attemptsIncrease(metricType: string, outcomes: readonly string[], windowMs: number): string {
  const outcome = outcomes.length === 1 ? `outcome="${outcomes[0]}"` : `outcome=~"${outcomes.join('|')}"`;
  const selector = `{monitored_resource="${RESOURCE_TYPE}",namespace="${RESOURCE_NAMESPACE}",${outcome}}`;
  return `sum(increase(${promQlMetricName(metricType)}${selector}[${promQlRange(windowMs)}]))`;
}

/**
 * numerator / denominator compared with the threshold over the window, judged only when the
 * denominator reached minAttempts (the `and` drops the result otherwise), as evaluate.ts does.
 */
export function ratioQuery(condition: Extract<AlertCondition, { kind: 'ratio' }>): string {
  const numerator = attemptsIncrease(condition.metric, condition.numerator, condition.windowMs);
  const denominator = attemptsIncrease(condition.metric, condition.denominator, condition.windowMs);
  const operator = condition.comparison === 'above' ? '>' : '<';
  return `(${numerator} / ${denominator}) ${operator} ${condition.threshold} and ${denominator} >= ${condition.minAttempts}`;
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)}s`;
}

/** The watchdog's own window, as an absence duration Cloud Monitoring accepts. */
export function watchdogAbsenceMs(spec: JobSpec = fleetWatchdog): number {
  const windowMs = jobTiming(spec).windowMs;
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
    case 'forward-progress': {
      const absenceMs = watchdogAbsenceMs();
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
        {
          // Without the watchdog the ratios above stop; its own heartbeat must keep coming.
          displayName: `The ${fleetWatchdog.id} heartbeat is missing (the forward-progress check is blind)`,
          conditionAbsent: {
            filter: metricFilter(METRICS.heartbeat.type, [`${JOB_LABEL}="${fleetWatchdog.id}"`]),
            aggregations: [
              {
                alignmentPeriod: '60s',
                perSeriesAligner: 'ALIGN_MAX',
                crossSeriesReducer: 'REDUCE_MAX',
                groupByFields: [JOB_LABEL],
              },
            ],
            duration: seconds(absenceMs),
            trigger: { count: 1 },
          },
        },
      ];
    }
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
      return [
        {
          displayName: rule.summary,
          conditionPrometheusQueryLanguage: {
            query: terraformLiteral(ratioQuery(condition)),
            duration: '0s',
            evaluationInterval: '60s',
          },
        },
      ];
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
