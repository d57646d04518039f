/**
 * cleanup-worker settings: the original server's variables, names and defaults (enx-jobs.md §3),
 * with the original's validation, plus CLEANUP_BATCH_SIZE. CLEANUP_MIN_PERIOD is not read: the run
 * ledger and job lock replace the original's time-to-live lock.
 */
import { custom, defineConfig, durationMs, integer } from '../../core/config';
import { parseCryptoKeyName } from '../../adapters/kms-names';
import { DAY_MS, formatDurationMs, SECOND_MS } from '../../core/duration';

export const cleanupConfig = defineConfig(
  'cleanup-worker',
  {
    authorizedAppMaxAgeMs: durationMs(
      'AUTHORIZED_APP_MAX_AGE',
      '336h',
      'Purge soft-deleted API keys after this long.',
      {
        minMs: 1,
      },
    ),
    verificationCodeMaxAgeMs: durationMs(
      'VERIFICATION_CODE_MAX_AGE',
      '48h',
      'Blank out (recycle) codes whose short and long expiry are both older than this.',
      { minMs: 1 },
    ),
    verificationCodeStatusMaxAgeMs: durationMs(
      'VERIFICATION_CODE_STATUS_MAX_AGE',
      '336h',
      'Delete codes (and their status) whose short and long expiry are both older than this.',
      { minMs: 1 },
    ),
    verificationTokenMaxAgeMs: durationMs(
      'VERIFICATION_TOKEN_MAX_AGE',
      '24h',
      'Delete tokens expired this long ago.',
      {
        minMs: 1,
      },
    ),
    mobileAppMaxAgeMs: durationMs(
      'MOBILE_APP_MAX_AGE',
      '168h',
      'Purge soft-deleted mobile apps after this long.',
      {
        minMs: 1,
      },
    ),
    auditEntryMaxAgeMs: durationMs(
      'AUDIT_ENTRY_MAX_AGE',
      '720h',
      'Delete audit entries older than this; at least 7 days.',
      {
        minMs: 7 * DAY_MS,
      },
    ),
    userPurgeMaxAgeMs: durationMs(
      'USER_PURGE_MAX_AGE',
      '720h',
      'Delete non-admin users with no realm whose record is older than this.',
      { minMs: 1 },
    ),
    signingTokenKeyMaxAgeMs: durationMs(
      'SIGNING_TOKEN_KEY_MAX_AGE',
      '36h',
      'Destroy token-signing key versions this long after they were rotated out.',
      { minMs: 1 },
    ),
    verificationSigningKeyMaxAgeMs: durationMs(
      'VERIFICATION_SIGNING_KEY_MAX_AGE',
      '36h',
      'Purge soft-deleted realm certificate key rows after this long.',
      { minMs: 1 },
    ),
    statsMaxAgeMs: durationMs(
      'STATS_MAX_AGE',
      '2184h',
      'Delete statistics older than this; between 30 and 180 days.',
      {
        minMs: 30 * DAY_MS,
        maxMs: 180 * DAY_MS,
      },
    ),
    realmChaffEventMaxAgeMs: durationMs(
      'REALM_CHAFF_EVENT_MAX_AGE',
      '168h',
      "Delete chaff events older than this, counted from today's UTC midnight.",
      { minMs: 1 },
    ),
    userReportMaxAgeMs: durationMs('USER_REPORT_MAX_AGE', '720h', 'Delete user reports older than this.', {
      minMs: 1,
    }),
    jobLedgerMaxAgeMs: durationMs(
      'JOB_LEDGER_MAX_AGE',
      '720h',
      "Delete this fleet's own run records (attempts, ticks, the emailers' deliveries) older than this; at least 7 days, past every alert window.",
      { minMs: 7 * DAY_MS },
    ),
    userReportUnclaimedMaxAgeMs: durationMs(
      'USER_REPORT_UNCLAIMED_MAX_AGE',
      '60m',
      'Delete unclaimed user reports older than this, but never before the longest code of a user-report realm expires.',
      { minMs: 1 },
    ),
    tokenSigningKey: custom(
      'TOKEN_SIGNING_KEY',
      undefined,
      'The KMS crypto key whose versions sign tokens (projects/P/locations/L/keyRings/R/cryptoKeys/K, not a version); only its versions are destroyed.',
      parseCryptoKeyName,
    ),
    timeBudgetMs: durationMs(
      'CLEANUP_TIME_BUDGET',
      '40s',
      "Time a run shares between its steps before it stops, leaving backlogs to the next tick; every step runs on every tick whatever the backlog. Keep it well under the job's 60 s timeout (the last batches and the result must fit after it).",
      { minMs: SECOND_MS, maxMs: 50 * SECOND_MS },
    ),
    batchSize: integer(
      'CLEANUP_BATCH_SIZE',
      '10000',
      'About how many rows one delete or update statement covers.',
      {
        min: 1,
        max: 100_000,
      },
    ),
  },
  (config) => {
    const problems: string[] = [];
    if (config.verificationCodeStatusMaxAgeMs < config.verificationCodeMaxAgeMs) {
      problems.push(
        `VERIFICATION_CODE_STATUS_MAX_AGE (${formatDurationMs(config.verificationCodeStatusMaxAgeMs)}) must be at least VERIFICATION_CODE_MAX_AGE (${formatDurationMs(config.verificationCodeMaxAgeMs)}): a code's status outlives the code`,
      );
    }
    if (config.userReportUnclaimedMaxAgeMs > config.userReportMaxAgeMs) {
      problems.push(
        `USER_REPORT_UNCLAIMED_MAX_AGE (${formatDurationMs(config.userReportUnclaimedMaxAgeMs)}) must not exceed USER_REPORT_MAX_AGE (${formatDurationMs(config.userReportMaxAgeMs)})`,
      );
    }
    return problems;
  },
);

export type CleanupConfig = ReturnType<typeof cleanupConfig.parse>;
