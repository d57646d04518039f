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
import { SECOND_MS } from './core/duration';
import { appsyncConfig } from './jobs/appsync-worker/config';
import { cleanupConfig } from './jobs/cleanup-worker/config';
import { e2eFlowConfig, e2eRedirectConfig } from './jobs/e2e/config';
import { statsPullerConfig } from './jobs/stats-puller-worker/config';
import { modelerConfig } from './jobs/modeler-worker/config';
import { anomaliesConfig } from './jobs/emailer-anomalies/config';
import { smsErrorsConfig } from './jobs/emailer-sms-errors/config';
import { rotationConfig } from './jobs/rotation-worker/config';
import { realmKeyRotationConfig } from './jobs/realm-key-rotation-worker/config';
import { backupConfig } from './jobs/backup-worker/config';
import { watchdogConfig } from './jobs/fleet-watchdog/config';

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
  // Retention works from the current time: the next tick purges whatever this one would have.
  skippedTick: 'covered-by-next',
  // Every 5 minutes; a few failed ticks (say a database failover) are tolerable, an hour is not.
  missedTicksBeforeAlert: 6,
  config: cleanupConfig,
  roles: [],
  // Destroys retired versions of the token-signing key, and may touch no other key.
  kmsGrants: [{ role: 'custom:kmsKeyVersionManager', on: 'token-signing-key' }],
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
  skippedTick: 'covered-by-next',
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
  // Each tick measures the fleet as it is now; the next one, a minute later, measures it again.
  skippedTick: 'covered-by-next',
  missedTicksBeforeAlert: 3,
  config: watchdogConfig,
  // The fleet's only writer to Cloud Monitoring: the other functions record their signals in the
  // database and this job writes them (functions/db/stored-signals.ts).
  roles: ['roles/monitoring.metricWriter'],
  memoryMb: 256,
} as const satisfies JobSpec<ReturnType<typeof watchdogConfig.parse>>;

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
  skippedTick: 'covered-by-next',
  // Every 15 minutes; the original's window is 35 min, about two ticks.
  missedTicksBeforeAlert: 2,
  config: statsPullerConfig,
  roles: [],
  // Signs each realm's stats token with the realm's own key, or with the system certificate key.
  kmsGrants: [
    { role: 'roles/cloudkms.signerVerifier', on: 'certificate-signing-key' },
    { role: 'roles/cloudkms.signerVerifier', on: 'realm-key-ring' },
  ],
  memoryMb: 512,
} as const satisfies JobSpec<ReturnType<typeof statsPullerConfig.parse>>;

/**
 * The end-to-end probes (enx-jobs.md §4). A flow is about ten requests of milliseconds each; one
 * request may take E2E_REQUEST_TIMEOUT (10 s). The original's 180 s deadline and 3 retries do not
 * fit a 5-minute cadence (a tick's retries would overlap the next tick), so: 3 retries as in the
 * spec, with 4 attempts of at most 55 s plus 10 s, 20 s and 40 s of backoff (290 s) ending before
 * the next tick. Two ticks without a success (about the original's 11-minute window) alert.
 */
const e2eProbe = {
  httpMethod: 'GET',
  timeoutMs: 45 * SECOND_MS,
  attemptDeadlineMs: 55 * SECOND_MS,
  retry: { ...DEFAULT_BACKOFF, retryCount: 3 },
  skippedTick: 'covered-by-next',
  missedTicksBeforeAlert: 2,
  roles: [],
  memoryMb: 256,
} as const;

/**
 * The code probes make their API keys as ENX does, with the api_key_* secrets' values, which they
 * read from Secret Manager like the server (functions/jobs/e2e/api-key.ts). ENX's rotation creates
 * those secrets, so infra cannot grant on each one; the grant is project-wide, like the server's.
 */
const E2E_KEY_ROLES = ['roles/secretmanager.secretAccessor'] as const;

export const e2eDefault = {
  ...e2eProbe,
  id: 'e2e-default',
  description:
    'End-to-end probe: issue a code, verify it, get a certificate, publish keys to the key server.',
  schedule: { cron: '*/5 * * * *', timeZone: UTC },
  config: e2eFlowConfig,
  roles: E2E_KEY_ROLES,
} as const satisfies JobSpec<ReturnType<typeof e2eFlowConfig.parse>>;

export const e2eRevise = {
  ...e2eProbe,
  id: 'e2e-revise',
  description: 'End-to-end probe: the e2e-default flow, then a revision publish with the revision token.',
  // Two minutes after e2e-default, as the original, so the probes do not hit the servers at once.
  schedule: { cron: '2-59/5 * * * *', timeZone: UTC },
  config: e2eFlowConfig,
  roles: E2E_KEY_ROLES,
} as const satisfies JobSpec<ReturnType<typeof e2eFlowConfig.parse>>;

/**
 * The original's fourth probe (enx-jobs.md §4, /user-report): a user report issued through the admin
 * API for the test phone, then the code flow, then the clean-up of the phone's report. Three minutes
 * after e2e-default, as the original. A deployment whose realm may not take admin-issued user
 * reports leaves it out with omittedJobs.
 */
export const e2eUserReport = {
  ...e2eProbe,
  id: 'e2e-user-report',
  description:
    "End-to-end probe: a user report for the test phone through the admin API, the code flow, then the phone's report cleared.",
  schedule: { cron: '3-59/5 * * * *', timeZone: UTC },
  config: e2eFlowConfig,
  roles: E2E_KEY_ROLES,
} as const satisfies JobSpec<ReturnType<typeof e2eFlowConfig.parse>>;

/**
 * Needs ENX_REDIRECT_URL (no default): a deployment without it fails its infra settings check, and
 * an instance without it fails every run with the missing variable named, never a silent 200
 * (docs/decisions.md, "e2e probes").
 */
export const e2eRedirect = {
  ...e2eProbe,
  id: 'e2e-redirect',
  description: "End-to-end probe: the redirect service's well-known files and its per-platform redirects.",
  schedule: { cron: '*/5 * * * *', timeZone: UTC },
  config: e2eRedirectConfig,
} as const satisfies JobSpec<ReturnType<typeof e2eRedirectConfig.parse>>;

/**
 * The emailers (enx-jobs.md §5). A run is one query and one SMTP session per realm whose mail is
 * due: seconds. The original gave them 900 s and one retry that its lock always refused; here the
 * delivery ledger makes retries safe (a retry mails only what an earlier attempt did not), so they
 * get three, spaced a minute apart and doubling, which rides out a relay's greylisting or a short
 * outage. Four attempts of at most 6 min plus 7 min of backoff (31 min) end long before the next tick.
 */
const emailer = {
  httpMethod: 'GET',
  timeoutMs: 300 * SECOND_MS,
  attemptDeadlineMs: 360 * SECOND_MS,
  retry: { ...DEFAULT_BACKOFF, minBackoffMs: 60 * SECOND_MS, retryCount: 3 },
  // A tick's mail is about its own day (or half-day): a later tick does not send it. A tick that
  // meets a running one is deferred and retried a minute later, when the other has long finished.
  skippedTick: 'must-run',
  // Two missed ticks: 2 days for the daily job, 1 day for the 12-hourly one (the original's
  // 24h15m). A failing tick pages sooner anyway: FailedJobs fires when its last retry fails.
  missedTicksBeforeAlert: 2,
  roles: [],
  memoryMb: 256,
} as const;

export const emailerAnomalies = {
  ...emailer,
  id: 'emailer-anomalies',
  description: "Mails realm contacts when yesterday's code-claim ratio fell well below the realm's history.",
  schedule: { cron: '0 18 * * *', timeZone: UTC },
  config: anomaliesConfig,
} as const satisfies JobSpec<ReturnType<typeof anomaliesConfig.parse>>;

export const emailerSmsErrors = {
  ...emailer,
  id: 'emailer-sms-errors',
  description:
    "Mails realm contacts when today's SMS errors (ignoring the listed codes) reach the threshold.",
  schedule: { cron: '5 */12 * * *', timeZone: UTC },
  config: smsErrorsConfig,
} as const satisfies JobSpec<ReturnType<typeof smsErrorsConfig.parse>>;

export const modelerWorker = {
  id: 'modeler-worker',
  description:
    "Fits each realm's code-issuing trend into its abuse-prevention limit and quota, and its code-claim-ratio model.",
  schedule: { cron: '0 */4 * * *', timeZone: UTC },
  // The original's only POST job; the scheduler and the local fleet call it the same way.
  httpMethod: 'POST',
  // A few indexed reads, at most two small writes and one Redis call per realm: seconds for
  // hundreds of realms. An unreachable Redis costs one timeout (RATE_LIMIT_REDIS_TIMEOUT, 5 s), not
  // one per realm. Each realm commits on its own, so an attempt cut off keeps the realms it did.
  timeoutMs: 5 * 60 * SECOND_MS,
  attemptDeadlineMs: 6 * 60 * SECOND_MS,
  // As in the original: 3 retries. Four attempts of at most 6 min plus 70 s of backoff end long
  // before the next tick (4 h).
  retry: { ...DEFAULT_BACKOFF, retryCount: 3 },
  skippedTick: 'covered-by-next',
  // The original's window is 8 h 10 min, two ticks: limits a day stale are tolerable, more is not.
  missedTicksBeforeAlert: 2,
  config: modelerConfig,
  roles: [],
  memoryMb: 256,
} as const satisfies JobSpec<ReturnType<typeof modelerConfig.parse>>;

export const rotationWorker = {
  id: 'rotation-worker',
  description: 'Rotates the token-signing key and the five system secrets, each by its age.',
  schedule: { cron: '*/5 * * * *', timeZone: UTC },
  httpMethod: 'GET',
  // A few KMS and Secret Manager calls and small transactions: seconds. A tick and its retries end
  // before the next tick (5 min): 3 attempts of at most 80 s plus 10 s and 20 s of backoff (270 s).
  timeoutMs: 60 * SECOND_MS,
  attemptDeadlineMs: 80 * SECOND_MS,
  retry: { ...DEFAULT_BACKOFF, retryCount: 2 },
  skippedTick: 'covered-by-next',
  // Every 5 minutes; secrets are activated and retired on the minute scale (SECRET_ACTIVATION_TTL
  // 30 min), so three missed ticks are worth a page (the original's secrets window was 11 min).
  missedTicksBeforeAlert: 3,
  config: rotationConfig,
  // Secrets: create, add, list, destroy, never read, and only the secrets it rotates
  // (infra/custom-roles.ts, with an IAM condition on their names).
  roles: ['custom:secretCreator', 'custom:secretRotator'],
  kmsGrants: [{ role: 'custom:kmsKeyVersionManager', on: 'token-signing-key' }],
  memoryMb: 256,
} as const satisfies JobSpec<ReturnType<typeof rotationConfig.parse>>;

export const realmKeyRotationWorker = {
  id: 'realm-key-rotation-worker',
  description: "Creates, activates and destroys realms' certificate-signing keys in KMS.",
  schedule: { cron: '*/15 * * * *', timeZone: UTC },
  httpMethod: 'GET',
  // A few KMS calls per auto-rotating realm. A tick and its retries end before the next tick
  // (15 min): 3 attempts of at most 280 s plus 10 s and 20 s of backoff (870 s).
  timeoutMs: 255 * SECOND_MS,
  attemptDeadlineMs: 280 * SECOND_MS,
  retry: { ...DEFAULT_BACKOFF, retryCount: 2 },
  skippedTick: 'covered-by-next',
  // The original's window was 35 min, about two ticks.
  missedTicksBeforeAlert: 2,
  config: realmKeyRotationConfig,
  roles: [],
  // Creates realm-<id> keys and their versions inside the realm key ring only.
  kmsGrants: [{ role: 'custom:kmsKeyVersionManager', on: 'realm-key-ring' }],
  memoryMb: 256,
} as const satisfies JobSpec<ReturnType<typeof realmKeyRotationConfig.parse>>;

export const backupWorker = {
  id: 'backup-worker',
  description:
    'Exports the database (Cloud SQL export to Cloud Storage; locally pg_dump), one object per tick.',
  schedule: { cron: '0 */4 * * *', timeZone: UTC },
  httpMethod: 'GET',
  // The export itself is bounded by BACKUP_TIMEOUT (at most 14 min); the original's deadline was
  // 960 s. Four attempts of at most 16 min plus 70 s of backoff (65 min) end long before the next
  // tick (4 h).
  timeoutMs: 15 * 60 * SECOND_MS,
  attemptDeadlineMs: 16 * 60 * SECOND_MS,
  retry: { ...DEFAULT_BACKOFF, retryCount: 3 },
  skippedTick: 'covered-by-next',
  // Two missed ticks (8 h) as the original's 8 h 10 min window.
  missedTicksBeforeAlert: 2,
  config: backupConfig,
  // Only cloudsql.instances.export and .get (infra/custom-roles.ts): no predefined role is that narrow.
  roles: ['custom:cloudSqlExporter'],
  memoryMb: 512,
} as const satisfies JobSpec<ReturnType<typeof backupConfig.parse>>;

export const catalog = [
  cleanupWorker,
  fleetWatchdog,
  appsyncWorker,
  statsPullerWorker,
  e2eDefault,
  e2eRevise,
  e2eRedirect,
  e2eUserReport,
  emailerAnomalies,
  emailerSmsErrors,
  modelerWorker,
  rotationWorker,
  realmKeyRotationWorker,
  backupWorker,
] as const;

export type JobId = (typeof catalog)[number]['id'];

export function findJob(id: string): (typeof catalog)[number] | undefined {
  return catalog.find((job) => job.id === id);
}
