/**
 * The documentation an incident carries: the rule's runbook (docs/runbooks/), then where to look in
 * this deployment. Cloud Monitoring limits it to 8,192 characters (and 10,240 UTF-8 bytes), the
 * subject to 255 and the links to 3, so everything here is measured before it is synthesized.
 *
 * Per-job rules open one incident per job; Cloud Monitoring fills ${resource.label.job} into the
 * subject, the content and the links, so one templated Logs Explorer link points at the failing
 * job whatever the catalog holds. Nothing here grows with the catalog: a table of every job's
 * link would (it took the ForwardProgressFailed documentation to 8,179 of 8,192 characters with
 * 13 jobs); every job's query is a stack output (job_<id>) instead.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { jobLogFilter } from '../functions/alerts/log-filters';
import type { AlertRule } from '../functions/alerts/rules';
import {
  FLEET_LOG_QUERY,
  dashboardsConsoleUrl,
  logsExplorerUrl,
  schedulerConsoleUrl,
  schedulerLogQuery,
} from './naming';

export const DOCUMENTATION_MAX_CHARS = 8192;
export const DOCUMENTATION_MAX_BYTES = 10_240;
export const SUBJECT_MAX_CHARS = 255;
export const LINKS_MAX = 3;
export const LINK_NAME_MAX_CHARS = 63;

/** Cloud Monitoring's variable for the job of a per-job incident. */
const JOB_VARIABLE = '${resource.label.job}';

/**
 * The variable naming the job of an incident: the resource label on our generic_task metrics, the
 * metric label `job` of the log-based scheduler metric (its resource, cloud_scheduler_job, calls
 * the job job_id).
 */
export function jobVariable(rule: AlertRule): string {
  return rule.condition.kind === 'scheduler-failures' ? '${metric.label.job}' : JOB_VARIABLE;
}

/** Logs Explorer URLs encode their query; the variable must stay readable for Cloud Monitoring to fill it. */
function templatedLogsUrl(projectId: string, query: string, variable: string): string {
  return logsExplorerUrl(projectId, query).split(encodeURIComponent(variable)).join(variable);
}

const REPOSITORY_ROOT = path.resolve(__dirname, '..');

export function readRunbook(rule: AlertRule): string {
  return readFileSync(path.join(REPOSITORY_ROOT, rule.runbook), 'utf8').trimEnd();
}

export interface DocumentationContext {
  readonly environment: string;
  readonly projectId: string;
  readonly jobIds: readonly string[];
}

export interface PolicyDocumentation {
  readonly subject: string;
  readonly content: string;
  readonly links: readonly { readonly displayName: string; readonly url: string }[];
}

function fits(text: string): boolean {
  return text.length <= DOCUMENTATION_MAX_CHARS && Buffer.byteLength(text, 'utf8') <= DOCUMENTATION_MAX_BYTES;
}

/** Documentation of one rule's policy, within Google's limits; throws when the runbook alone is too long. */
export function policyDocumentation(
  rule: AlertRule,
  runbook: string,
  context: DocumentationContext,
): PolicyDocumentation {
  const { projectId, environment } = context;
  const perJob = rule.scope === 'job';
  const job = jobVariable(rule);
  const jobLogs = templatedLogsUrl(projectId, jobLogFilter({ jobId: job, severity: 'WARNING' }), job);
  const fleetLogs = logsExplorerUrl(projectId, FLEET_LOG_QUERY);

  const lines = [
    runbook,
    '',
    '---',
    '',
    `## This deployment: ${environment} (project ${projectId})`,
    '',
    ...(perJob
      ? [
          `- Logs of ${job}, the job of this incident: [Logs Explorer](${jobLogs})`,
          `- Its scheduler attempts: [Logs Explorer](${templatedLogsUrl(projectId, schedulerLogQuery(job), job)})`,
        ]
      : []),
    `- Warnings of every job: [Logs Explorer](${fleetLogs})`,
    `- [Cloud Scheduler jobs](${schedulerConsoleUrl(projectId)}) · [Dashboards](${dashboardsConsoleUrl(projectId)})`,
  ];
  const content = lines.join('\n');
  if (!fits(content)) {
    throw new Error(
      `${rule.runbook} is too long for an alert policy's documentation (${content.length} characters with the deployment links; Cloud Monitoring takes ${DOCUMENTATION_MAX_CHARS}): shorten it`,
    );
  }
  const subject = (
    perJob
      ? `[${rule.severity}] ${rule.id}: ${job} (${environment})`
      : `[${rule.severity}] ${rule.id} (${environment}): ${rule.summary}`
  ).slice(0, SUBJECT_MAX_CHARS);

  const links = perJob
    ? [
        { displayName: 'Logs of this job', url: jobLogs },
        { displayName: 'Cloud Scheduler jobs', url: schedulerConsoleUrl(projectId) },
        { displayName: 'Dashboards', url: dashboardsConsoleUrl(projectId) },
      ]
    : [
        { displayName: 'Warnings of every job', url: fleetLogs },
        { displayName: 'Dashboards', url: dashboardsConsoleUrl(projectId) },
      ];
  return { subject, content, links };
}
