/**
 * The job catalog: the single source of truth for every job's identity, schedule, limits, retries,
 * alert tolerance, configuration and permissions. Infra, the local scheduler, the alert windows,
 * the runbooks' job list, the dashboards and the tests are all derived from it; adding a job here
 * (plus its logic in jobs.ts) gives it a function, a scheduler job, a service account, an alert
 * condition, a dashboard tile and a log query with no other edit.
 *
 * Nothing here imports database or client code, so infra can read it cheaply.
 */
import type { JobSpec } from './core/job-spec';
import { DEFAULT_BACKOFF } from './core/job-spec';
import { MINUTE_MS, SECOND_MS } from './core/duration';
import { cleanupConfig } from './jobs/cleanup-worker/config';

/** ENX ran every schedule in UTC; local-time schedules are allowed but DST makes them irregular. */
const UTC = 'Etc/UTC';

export const cleanupWorker = {
  id: 'cleanup-worker',
  description: 'Retention: purges old codes, tokens, audit entries, users, stats, keys and secrets.',
  schedule: { cron: '*/5 * * * *', timeZone: UTC },
  httpMethod: 'GET',
  // A run normally takes seconds; the headroom covers a backlog after an outage. Retries after a
  // failure must fit before the next tick (5 min): 3 retries at 5 s, 10 s, 20 s do.
  timeoutMs: 4 * MINUTE_MS,
  attemptDeadlineMs: 4 * MINUTE_MS + 30 * SECOND_MS,
  retry: { ...DEFAULT_BACKOFF, retryCount: 3 },
  // Every 5 minutes; a few failed ticks (say a database failover) are tolerable, an hour is not.
  missedTicksBeforeAlert: 6,
  config: cleanupConfig,
  roles: ['roles/cloudkms.admin'],
  memoryMb: 512,
} as const satisfies JobSpec<ReturnType<typeof cleanupConfig.parse>>;

export const catalog = [cleanupWorker] as const;

export type JobId = (typeof catalog)[number]['id'];

export function findJob(id: string): (typeof catalog)[number] | undefined {
  return catalog.find((job) => job.id === id);
}
