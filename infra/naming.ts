/**
 * Names and addresses derived from a job id: service accounts, secrets, the function's URL, its log
 * query and console links. Pure string functions, so tests and docs can use them without cdktf.
 */
import { createHash } from 'node:crypto';
import {
  FLEET_LOG_FILTER,
  jobLogFilter,
  logsExplorerUrl,
  schedulerLogFilter,
} from '../functions/alerts/log-filters';

const ACCOUNT_ID_MAX = 30;
const ACCOUNT_ID_MIN = 6;
const ACCOUNT_ID = /^[a-z](?:[-a-z0-9]{4,28}[a-z0-9])$/;

/**
 * A service account id (6-30 characters, [a-z][-a-z0-9]*[a-z0-9]) for `stem` + `suffix`. A stem
 * that does not fit is cut and given a short hash of the whole stem, so two long job ids that share
 * a prefix still get different accounts.
 */
export function serviceAccountId(stem: string, suffix = ''): string {
  const room = ACCOUNT_ID_MAX - suffix.length;
  let base = stem;
  if (base.length > room) {
    const hash = createHash('sha256').update(stem).digest('hex').slice(0, 4);
    base = `${stem.slice(0, room - hash.length - 1).replace(/-+$/, '')}-${hash}`;
  }
  let id = `${base}${suffix}`;
  if (id.length < ACCOUNT_ID_MIN) id = `${id}-job`.slice(0, ACCOUNT_ID_MAX);
  if (!ACCOUNT_ID.test(id)) {
    throw new Error(
      `"${stem}" gives the service account id "${id}", which Google refuses (6-30 of a-z, 0-9 and -, starting with a letter)`,
    );
  }
  return id;
}

/** The function's runtime identity. */
export function runtimeAccountId(jobId: string): string {
  return serviceAccountId(jobId);
}

/** The identity Cloud Scheduler signs its OIDC token as; one per job, allowed to invoke that job only. */
export function invokerAccountId(jobId: string): string {
  return serviceAccountId(jobId, '-inv');
}

/** The account Cloud Build uses to build every function's image. */
export const BUILDER_ACCOUNT_ID = 'enx-jobs-builder';

/** A setting's Secret Manager secret: DB_PASSWORD → enx-db-password. */
export function secretIdFor(envName: string): string {
  return `enx-${envName.toLowerCase().replace(/_/g, '-')}`;
}

/**
 * The function's URL, known before the function exists: Cloud Functions gen2 serves every function
 * at https://<region>-<project>.cloudfunctions.net/<name> (the `url` attribute), as well as at its
 * Cloud Run URL, whose hash is only known after creation. Both the scheduler's target and the token
 * audience the function expects (OIDC_AUDIENCE) use this one string, so there is no cycle between
 * the function and its own address, and the two can never disagree.
 */
export function functionUrl(projectId: string, region: string, jobId: string): string {
  return `https://${region}-${projectId}.cloudfunctions.net/${jobId}`;
}

/** The job's logs (the one filter builder the CLI and the runbooks share: functions/alerts/log-filters.ts). */
export function jobLogQuery(jobId: string): string {
  return jobLogFilter({ jobId });
}

export { FLEET_LOG_FILTER as FLEET_LOG_QUERY, logsExplorerUrl, schedulerLogFilter as schedulerLogQuery };

export function functionConsoleUrl(projectId: string, region: string, jobId: string): string {
  return `https://console.cloud.google.com/functions/details/${region}/${jobId}?env=gen2&project=${projectId}`;
}

export function schedulerConsoleUrl(projectId: string): string {
  return `https://console.cloud.google.com/cloudscheduler?project=${projectId}`;
}

export function dashboardsConsoleUrl(projectId: string): string {
  return `https://console.cloud.google.com/monitoring/dashboards?project=${projectId}`;
}

/** ForwardProgressFailed → forward-progress-failed (label values are lowercase). */
export function kebab(text: string): string {
  return text.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

/** cleanup-worker → cleanup_worker, for Terraform output names. */
export function snake(text: string): string {
  return text.replace(/-/g, '_');
}

/**
 * Terraform reads `${` and `%{` in any string as a template; text that must reach Google verbatim
 * (runbooks, queries, Cloud Monitoring's own ${resource.label.job} variables) is escaped.
 */
export function terraformLiteral(text: string): string {
  // Replacement functions, because a replacement string reads `$$` as one `$`.
  return text.replace(/\$\{/g, () => '$${').replace(/%\{/g, () => '%%{');
}
