/**
 * `npm run jobs -- triage <job>`: what a runbook asks for, in one screen, then the next step.
 *
 *   the scheduler job's state (Cloud Scheduler) → the last attempts and their errors (Logging) →
 *   last success against the job's ForwardProgressFailed window → firing alerts → runbook, query
 *   and console URL → next step.
 *
 * Firing alerts: Cloud Monitoring's incidents have no API in the client libraries this project uses,
 * so against Google the forward-progress verdict is judged here from the last success and the
 * window (the same rule the policy applies) and the incidents page is linked; against the local
 * fleet the evaluator's verdicts are read from its status endpoint.
 */
import type { Entry, Logging } from '@google-cloud/logging';
import { findJob } from '../../functions/catalog';
import { jobLogFilter, logsExplorerUrl } from '../../functions/alerts/log-filters';
import { ALERT_RULES } from '../../functions/alerts/rules';
import type { AlertId } from '../../functions/alerts/rules';
import { jobTiming } from '../../functions/alerts/windows';
import { formatDurationMs } from '../../functions/core/duration';
import { loggingClient, schedulerClient } from './clients';
import type { Endpoints } from './clients';
import { formatJobEvent, jobEvent } from './log-lines';
import type { JobEvent } from './log-lines';
import { recentEntries } from './logs';

/** The runtime's events that end (or refuse) an attempt. */
export const OUTCOME_EVENTS = [
  'succeeded',
  'failed',
  'timed_out',
  'skipped',
  'duplicate',
  'abandoned',
  'rejected',
  'exhausted',
];
const ATTEMPTS_SHOWN = 8;

export interface TriageRequest {
  readonly jobId: string;
  readonly project: string;
  readonly location: string;
  readonly endpoints: Endpoints;
  /** The local fleet's status server: its alert verdicts stand in for Cloud Monitoring's incidents. */
  readonly statusUrl?: string;
  readonly now?: Date;
}

interface SchedulerState {
  readonly state: string;
  readonly line: string;
}

interface FiringAlert {
  readonly alertId: AlertId;
  readonly detail: string;
}

const ago = (from: Date, now: Date) =>
  formatDurationMs(Math.max(0, Math.round((now.getTime() - from.getTime()) / 1000) * 1000));
const seconds = (stamp: { seconds?: unknown } | null | undefined) =>
  stamp?.seconds ? new Date(Number(stamp.seconds) * 1000) : undefined;

async function schedulerState(request: TriageRequest): Promise<SchedulerState> {
  const client = schedulerClient(request.project, request.endpoints);
  try {
    const [job] = await client.getJob({
      name: `projects/${request.project}/locations/${request.location}/jobs/${request.jobId}`,
    });
    const last = seconds(job.lastAttemptTime);
    const next = seconds(job.scheduleTime);
    const state = String(job.state ?? 'STATE_UNSPECIFIED');
    return {
      state,
      line: `${state}  ${job.schedule ?? ''} (${job.timeZone ?? ''})  last attempt ${last?.toISOString() ?? 'never'}  next ${next?.toISOString() ?? '–'}`,
    };
  } catch (error) {
    return { state: 'UNKNOWN', line: `could not be read: ${(error as Error).message}` };
  } finally {
    await client.close();
  }
}

async function localFiring(statusUrl: string, jobId: string): Promise<FiringAlert[]> {
  const response = await fetch(`${statusUrl}/status`);
  const status = (await response.json()) as {
    alerts: { firing: { alertId: AlertId; subject: string; detail: string }[] };
  };
  return status.alerts.firing
    .filter((verdict) => verdict.subject === jobId || verdict.subject === 'fleet')
    .map(({ alertId, detail }) => ({ alertId, detail }));
}

function judgedFiring(lastSuccess: JobEvent | undefined, windowMs: number, now: Date): FiringAlert[] {
  if (lastSuccess && now.getTime() - lastSuccess.at.getTime() <= windowMs) return [];
  const detail = lastSuccess
    ? `last success ${ago(lastSuccess.at, now)} ago; window ${formatDurationMs(windowMs)}`
    : `no success in the logs of the last ${formatDurationMs(4 * windowMs)}`;
  return [{ alertId: 'ForwardProgressFailed', detail }];
}

function nextStep(
  jobId: string,
  scheduler: SchedulerState,
  attempts: readonly JobEvent[],
  overdue: boolean,
): string {
  const run = `npm run jobs -- run ${jobId}`;
  if (scheduler.state === 'PAUSED')
    return `the schedule is paused: resume it (npm run jobs -- resume ${jobId}) unless that is on purpose, and snooze its alert meanwhile`;
  if (attempts.length === 0)
    return 'no attempt in the logs: nothing calls the job. Check the scheduler job and that the function serves (runbook, step 2)';
  const last = attempts[attempts.length - 1];
  if (last.event === 'rejected')
    return 'the caller was refused (invoker account or audience changed): redeploy with npm run deploy';
  if (last.event !== 'succeeded' && last.event !== 'duplicate') {
    const why = last.errors[0] ?? last.message;
    return `the last attempt ended "${last.event}": ${why}. Fix that cause, then run it once: ${run}`;
  }
  if (overdue) return `the last attempt succeeded but the window had passed: watch the next tick, or ${run}`;
  return 'healthy: nothing to do';
}

export async function triage(request: TriageRequest, out: (line: string) => void): Promise<void> {
  const spec = findJob(request.jobId);
  if (!spec) throw new Error(`"${request.jobId}" is not a job of the catalog`);
  const now = request.now ?? new Date();
  const { windowMs } = jobTiming(spec);
  // Far enough back to find a last success several windows old, and a day at least.
  const since = new Date(now.getTime() - Math.max(4 * windowMs, 24 * 3_600_000));
  const logging: Logging = loggingClient(request.project, request.endpoints);

  const [scheduler, attemptEntries, successEntries] = await Promise.all([
    schedulerState(request),
    recentEntries(logging, jobLogFilter({ jobId: spec.id, events: OUTCOME_EVENTS, since }), ATTEMPTS_SHOWN),
    recentEntries(logging, jobLogFilter({ jobId: spec.id, events: ['succeeded'], since }), 1),
  ]);
  const attempts = attemptEntries.map((entry: Entry) => jobEvent(entry));
  const lastSuccess = successEntries.map((entry: Entry) => jobEvent(entry))[0];
  const overdue = !lastSuccess || now.getTime() - lastSuccess.at.getTime() > windowMs;
  const firing = request.statusUrl
    ? await localFiring(request.statusUrl, spec.id)
    : judgedFiring(lastSuccess, windowMs, now);

  const rule = ALERT_RULES.find(
    (candidate) => candidate.id === (firing[0]?.alertId ?? 'ForwardProgressFailed'),
  )!;
  const query = jobLogFilter({ jobId: spec.id, severity: 'WARNING' });
  out(`triage of ${spec.id} (project ${request.project}, ${request.location}) at ${now.toISOString()}`);
  out(`scheduler     ${scheduler.line}`);
  out(
    `last success  ${lastSuccess ? `${lastSuccess.at.toISOString()} (${ago(lastSuccess.at, now)} ago)` : `none since ${since.toISOString()}`}; window ${formatDurationMs(windowMs)}: ${overdue ? 'OVERDUE' : 'within'}`,
  );
  out(`attempts      the last ${attempts.length}, oldest first:`);
  for (const attempt of attempts) out(`  ${formatJobEvent(attempt)}`);
  out(
    `alerts        ${firing.length === 0 ? 'none firing' : firing.map((alert) => `${alert.alertId} (${alert.detail})`).join('; ')}`,
  );
  if (!request.statusUrl)
    out(
      `              incidents: https://console.cloud.google.com/monitoring/alerting/incidents?project=${request.project}`,
    );
  out(`runbook       ${rule.runbook}`);
  out(`query         ${query.replace(/\n/g, ' ')}`);
  out(`console       ${logsExplorerUrl(request.project, query)}`);
  out(`next step     ${nextStep(spec.id, scheduler, attempts, overdue)}`);
}
