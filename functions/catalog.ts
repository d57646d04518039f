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
import { noConfig } from './core/config';
import { SECOND_MS } from './core/duration';
import { appsyncConfig } from './jobs/appsync-worker/config';
import { cleanupConfig } from './jobs/cleanup-worker/config';
import { statsPullerConfig } from './jobs/stats-puller-worker/config';

/** ENX ran every schedule in UTC; local-time schedules are allowed but DST makes them irregular. */
const UTC = 'Etc/UTC';

export const cleanupWorker = {
  id: 'cleanup-worker',
  description: 'Retention: purges old codes, tokens, audit entries, users, stats, keys and secrets.',
  schedule: { cron: '*/5 * * * *', timeZone: UTC },
  httpMethod: 'GET',
  // A run normally takes seconds; batches commit as they go, so a run that hits its timeout after a
  // backlog has still made progress and the next tick carries on. A tick and its retries must end
  // before the next tick (5 min): 3 attempts of at most 80 s plus 10 s and 20 s of backoff do.
  timeoutMs: 60 * SECOND_MS,
  attemptDeadlineMs: 80 * SECOND_MS,
  retry: { ...DEFAULT_BACKOFF, retryCount: 2 },
  // Every 5 minutes; a few failed ticks (say a database failover) are tolerable, an hour is not.
  missedTicksBeforeAlert: 6,
  config: cleanupConfig,
  roles: ['roles/cloudkms.admin'],
  memoryMb: 512,
} as const satisfies JobSpec<ReturnType<typeof cleanupConfig.parse>>;

export const appsyncWorker = {
  id: 'appsync-worker',
  description:
    'Syncs the published mobile-app list into realm branding, dynamic translations and mobile_apps.',
  schedule: { cron: '0 */4 * * *', timeZone: UTC },
  httpMethod: 'GET',
  // One feed fetch (APP_SYNC_TIMEOUT, at most 4 min) and a transaction per realm: seconds normally.
  // Each realm commits on its own, so an attempt cut off at its timeout keeps the realms it synced.
  timeoutMs: 5 * 60 * SECOND_MS,
  attemptDeadlineMs: 6 * 60 * SECOND_MS,
  // Four attempts of at most 6 min plus 70 s of backoff end long before the next tick (4 h).
  retry: { ...DEFAULT_BACKOFF, retryCount: 3 },
  // Branding and new apps can wait a tick; two missed ticks (8 h) mean the feed or the job is broken.
  missedTicksBeforeAlert: 2,
  config: appsyncConfig,
  roles: [],
  memoryMb: 512,
} as const satisfies JobSpec<ReturnType<typeof appsyncConfig.parse>>;

export const fleetWatchdog = {
  id: 'fleet-watchdog',
  description:
    "Measures every job's forward progress from the run ledger for the alerts; itself watched by its heartbeat.",
  schedule: { cron: '* * * * *', timeZone: UTC },
  httpMethod: 'GET',
  // A few indexed reads and one metrics write; it must finish well inside its one-minute period.
  timeoutMs: 20 * SECOND_MS,
  attemptDeadlineMs: 30 * SECOND_MS,
  // No retries: the next tick is a minute away and does the same work.
  retry: { ...DEFAULT_BACKOFF, retryCount: 0 },
  missedTicksBeforeAlert: 3,
  config: noConfig,
  roles: [],
  memoryMb: 256,
} as const satisfies JobSpec<Readonly<Record<string, never>>>;

export const statsPullerWorker = {
  id: 'stats-puller-worker',
  description: "Pulls each realm's daily publish statistics from the key server into key_server_stats_days.",
  schedule: { cron: '*/15 * * * *', timeZone: UTC },
  httpMethod: 'GET',
  // One realm's worst case is 4 attempts of the 1 min download timeout plus 1.5 s of backoff
  // (241.5 s); the timeout leaves room for that. A tick and its retries must end before the next
  // tick (15 min): 3 attempts of at most 280 s plus 10 s and 20 s of backoff do (870 s).
  timeoutMs: 255 * SECOND_MS,
  attemptDeadlineMs: 280 * SECOND_MS,
  retry: { ...DEFAULT_BACKOFF, retryCount: 2 },
  // Every 15 minutes; the original's window is 35 min, about two ticks.
  missedTicksBeforeAlert: 2,
  config: statsPullerConfig,
  roles: ['roles/cloudkms.signerVerifier'],
  memoryMb: 512,
} as const satisfies JobSpec<ReturnType<typeof statsPullerConfig.parse>>;

export const catalog = [cleanupWorker, fleetWatchdog, appsyncWorker, statsPullerWorker] as const;

export type JobId = (typeof catalog)[number]['id'];

export function findJob(id: string): (typeof catalog)[number] | undefined {
  return catalog.find((job) => job.id === id);
}
