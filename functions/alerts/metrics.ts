/**
 * The custom metrics the fleet writes to Cloud Monitoring, as data: the sink writes them, infra
 * declares their descriptors, the alert rules query them. See docs/metrics.md for the design.
 *
 * Every series sits on the monitored resource `generic_task` with
 *   project_id, location (the region), namespace = "enx-jobs", job = <job id>, task_id = "fleet".
 * One task for all instances: counter values come from the database, not from an instance's
 * memory, so every instance writes the same truth into the same series, and instance churn never
 * multiplies series (cardinality = jobs × outcomes).
 */
export const METRIC_PREFIX = 'custom.googleapis.com/enx_jobs';
export const RESOURCE_TYPE = 'generic_task';
export const RESOURCE_NAMESPACE = 'enx-jobs';
export const RESOURCE_TASK_ID = 'fleet';

export type MetricKind = 'GAUGE' | 'CUMULATIVE';
export type ValueType = 'INT64' | 'DOUBLE';

export interface MetricSpec {
  readonly type: string;
  readonly kind: MetricKind;
  readonly valueType: ValueType;
  readonly unit: string;
  /** Metric labels (the job is a resource label). */
  readonly labels: readonly { key: string; description: string }[];
  readonly description: string;
  /** Who writes it: the runtime at each attempt, or the watchdog every run. */
  readonly writer: 'runtime' | 'watchdog';
}

const OUTCOME_LABEL = { key: 'outcome', description: 'succeeded, failed or skipped' } as const;

export const METRICS = {
  heartbeat: {
    type: `${METRIC_PREFIX}/heartbeat`,
    kind: 'GAUGE',
    valueType: 'INT64',
    unit: '1',
    labels: [],
    description: 'Written with value 1 each time a job attempt succeeds: the success heartbeat.',
    writer: 'runtime',
  },
  attempts: {
    type: `${METRIC_PREFIX}/attempts`,
    kind: 'CUMULATIVE',
    valueType: 'INT64',
    unit: '1',
    labels: [OUTCOME_LABEL],
    description: 'Attempts finished, by outcome; duplicates and overlap skips count as skipped.',
    writer: 'runtime',
  },
  attemptsStarted: {
    type: `${METRIC_PREFIX}/attempts_started`,
    kind: 'CUMULATIVE',
    valueType: 'INT64',
    unit: '1',
    labels: [],
    description:
      'Attempts that started running the job; minus finished ones, the attempts still running or lost.',
    writer: 'runtime',
  },
  attemptDuration: {
    type: `${METRIC_PREFIX}/attempt_duration`,
    kind: 'GAUGE',
    valueType: 'DOUBLE',
    unit: 's',
    labels: [OUTCOME_LABEL],
    description: 'Wall time of the last attempt that ran the job, by outcome.',
    writer: 'runtime',
  },
  exhaustedTicks: {
    type: `${METRIC_PREFIX}/exhausted_ticks`,
    kind: 'CUMULATIVE',
    valueType: 'INT64',
    unit: '1',
    labels: [],
    description: 'Ticks whose last allowed retry failed.',
    writer: 'runtime',
  },
  refusedRequests: {
    type: `${METRIC_PREFIX}/refused_requests`,
    kind: 'CUMULATIVE',
    valueType: 'INT64',
    unit: '1',
    labels: [{ key: 'reason', description: 'auth, method, path, body, tick or misconfigured' }],
    description: 'Requests refused before the job ran, by reason.',
    writer: 'runtime',
  },
  forwardProgress: {
    type: `${METRIC_PREFIX}/forward_progress_ratio`,
    kind: 'GAUGE',
    valueType: 'DOUBLE',
    unit: '1',
    labels: [],
    description:
      "Time since the job's last success (or since it was first expected) divided by its alert window; above 1 the job is late.",
    writer: 'watchdog',
  },
  overdueAttempts: {
    type: `${METRIC_PREFIX}/overdue_attempts`,
    kind: 'GAUGE',
    valueType: 'INT64',
    unit: '1',
    labels: [],
    description: 'Attempts recorded as running past their deadline: started but never finished.',
    writer: 'watchdog',
  },
  fleetIdle: {
    type: `${METRIC_PREFIX}/fleet_idle_seconds`,
    kind: 'GAUGE',
    valueType: 'DOUBLE',
    unit: 's',
    labels: [],
    description:
      'Seconds since any job of the fleet last finished an attempt (written while there is history).',
    writer: 'watchdog',
  },
} as const satisfies Record<string, MetricSpec>;

export type CounterName = 'started' | 'succeeded' | 'failed' | 'skipped' | 'exhausted';
