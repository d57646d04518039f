/**
 * The custom metrics the fleet writes to Cloud Monitoring, as data: the sink writes them, infra
 * declares their descriptors, the alert rules query them. See docs/signals.md for the design.
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
  /** Who writes it: the runtime at each attempt, the watchdog every run, or a job at the end of its run. */
  readonly writer: 'runtime' | 'watchdog' | 'job';
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
  // Per-step metrics the original had (issue 13), written by the jobs themselves at the end of a run
  // (functions/core/step-metrics.ts). Each label's values come from a fixed set in the code.
  cleanupRows: {
    type: `${METRIC_PREFIX}/cleanup_rows`,
    kind: 'GAUGE',
    valueType: 'INT64',
    unit: '1',
    labels: [{ key: 'step', description: "cleanup-worker's step, by ENX's name (VERIFICATION_CODE, ...)" }],
    description: 'Rows (or key versions) the last cleanup-worker run removed, per step.',
    writer: 'job',
  },
  e2eStepLatency: {
    type: `${METRIC_PREFIX}/e2e_step_latency`,
    kind: 'GAUGE',
    valueType: 'DOUBLE',
    unit: 'ms',
    labels: [{ key: 'step', description: "the probe's step (bootstrap, issue, verify, ..., publish)" }],
    description: "Latency of each step of an e2e probe's last run, up to the step that failed.",
    writer: 'job',
  },
  modelerAnomalies: {
    type: `${METRIC_PREFIX}/modeler_anomalies`,
    kind: 'GAUGE',
    valueType: 'INT64',
    unit: '1',
    labels: [],
    description: "Realms whose last day's code-claim ratio the last modeler-worker run found anomalous.",
    writer: 'job',
  },
} as const satisfies Record<string, MetricSpec>;

export type CounterName = 'started' | 'succeeded' | 'failed' | 'skipped' | 'exhausted';

/**
 * The one metric the application does not write: a log-based metric (google_logging_metric) that
 * counts Cloud Scheduler's failed attempts from its own AttemptFinished log entries, so it keeps
 * counting when the functions are unreachable, refuse every request or never deployed. Log-based
 * metrics live under logging.googleapis.com/user/ and are DELTA counts on the
 * `cloud_scheduler_job` resource. Labels: job (the scheduler job id, which is the job id) and
 * status (the entry's jsonPayload.status, a google.rpc.Code name such as PERMISSION_DENIED).
 */
export const SCHEDULER_FAILED_ATTEMPTS = {
  name: 'enx_jobs/scheduler_failed_attempts',
  type: 'logging.googleapis.com/user/enx_jobs/scheduler_failed_attempts',
  resourceType: 'cloud_scheduler_job',
  labels: ['job', 'status'],
} as const;
