/**
 * The Logs Explorer filters for the fleet, built in one place: the runbooks print them, the alert
 * policies' documentation links to them, the dashboard's logs panels show them, and
 * `npm run jobs -- logs|triage` sends them to the Logging API. A test holds the runbooks to them.
 *
 * Where the fields come from (Cloud Logging structured logging and Cloud Run docs, checked
 * 2026-12): a Cloud Functions gen2 function logs under resource type `cloud_run_revision` with
 * `resource.labels.service_name` = the function name (our job id); the runtime's JSON line gives
 * `severity`, `labels.*` (from `logging.googleapis.com/labels`: job, tick, attempt) and
 * `jsonPayload.*` (event, errors, ...). Cloud Scheduler logs attempts under `cloud_scheduler_job`
 * with `resource.labels.job_id`.
 */

/** Cloud Logging's LogSeverity names, lowest first. */
export const LOG_SEVERITIES = [
  'DEFAULT',
  'DEBUG',
  'INFO',
  'NOTICE',
  'WARNING',
  'ERROR',
  'CRITICAL',
  'ALERT',
  'EMERGENCY',
] as const;
export type LogSeverity = (typeof LOG_SEVERITIES)[number];

export interface JobLogFilter {
  /** The job id, or a placeholder such as `<job id>` or Cloud Monitoring's `${resource.label.job}`. */
  readonly jobId: string;
  /** Only entries at or above this severity. */
  readonly severity?: LogSeverity;
  /** Only the attempts of one tick (the `tick` label: the schedule time, ISO 8601). */
  readonly tick?: string;
  /** Only these lifecycle events (`jsonPayload.event`: started, succeeded, failed, ...). */
  readonly events?: readonly string[];
  /** Only entries at or after this instant. */
  readonly since?: Date;
}

const quoted = (value: string) => `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** `"a"`, or `("a" OR "b")`: Logs Explorer's way of comparing a field with any of several values. */
const anyOf = (values: readonly string[]) =>
  values.length === 1 ? quoted(values[0]) : `(${values.map(quoted).join(' OR ')})`;

/** One comparison per line: Logs Explorer reads the lines as AND, and people read them easily. */
export function jobLogFilter(filter: JobLogFilter): string {
  return [
    'resource.type="cloud_run_revision"',
    `resource.labels.service_name=${quoted(filter.jobId)}`,
    ...(filter.severity ? [`severity>=${filter.severity}`] : []),
    ...(filter.tick ? [`labels.tick=${quoted(filter.tick)}`] : []),
    ...(filter.events?.length ? [`jsonPayload.event=${anyOf(filter.events)}`] : []),
    ...(filter.since ? [`timestamp>=${quoted(filter.since.toISOString())}`] : []),
  ].join('\n');
}

/** Every job's warnings: each runtime log line carries its job id as the `job` label. */
export const FLEET_LOG_FILTER = 'resource.type="cloud_run_revision"\nlabels.job:*\nseverity>=WARNING';

/** The Cloud Scheduler side of a job: attempts started and finished, with their HTTP status. */
export function schedulerLogFilter(jobId: string): string {
  return `resource.type="cloud_scheduler_job"\nresource.labels.job_id=${quoted(jobId)}`;
}

/**
 * Cloud Scheduler's failed attempts, for the log-based metric. Each attempt ends in one
 * AttemptFinished entry in the `cloudscheduler.googleapis.com/executions` log of the
 * `cloud_scheduler_job` resource: `httpRequest.status` holds the target's HTTP status and, when
 * the attempt failed, `jsonPayload.status` names the failure as a google.rpc.Code
 * (UNAUTHENTICATED, PERMISSION_DENIED, NOT_FOUND, INTERNAL, UNAVAILABLE, DEADLINE_EXCEEDED, ...)
 * and `jsonPayload.debugInfo` repeats the original HTTP code; a successful attempt has no status.
 * Source: https://cloud.google.com/scheduler/docs/audit-logging and its "View logs" page
 * (read 2026-12-06), checked against AttemptFinished entries as public projects record them.
 */
export const SCHEDULER_ATTEMPT_FINISHED =
  'type.googleapis.com/google.cloud.scheduler.logging.AttemptFinished';

export function schedulerFailedAttemptsFilter(): string {
  return [
    'resource.type="cloud_scheduler_job"',
    `jsonPayload."@type"=${quoted(SCHEDULER_ATTEMPT_FINISHED)}`,
    'jsonPayload.status:*',
    'NOT jsonPayload.status="OK"',
  ].join('\n');
}

export function logsExplorerUrl(projectId: string, filter: string): string {
  return `https://console.cloud.google.com/logs/query;query=${encodeURIComponent(filter)}?project=${projectId}`;
}
