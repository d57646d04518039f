/**
 * cleanup-worker settings: the original server's variables, names and defaults (enx-jobs.md §3),
 * with the original's validation, plus CLEANUP_BATCH_SIZE. CLEANUP_MIN_PERIOD is not read: the run
 * ledger and job lock replace the original's time-to-live lock.
 */
import { defineConfig, durationMs, integer } from '../../core/config';
import type { Field } from '../../core/config';
import { DAY_MS, formatDurationMs } from '../../core/duration';

/**
 * A required KMS crypto key name, checked when the variable is read (not in the cross-field check,
 * which only runs once every variable parsed), so a bad key is listed with every other bad
 * variable. The original refused key versions and commas (a list of keys); this also wants the
 * whole resource name, as the key manager needs it to tell its own versions from others.
 */
function cryptoKeyName(env: string, doc: string): Field<string> {
  return {
    env,
    doc,
    defaultText: undefined,
    secret: false,
    parse: (raw) => {
      const name = raw.trim();
      if (name === '')
        throw new Error('is empty; set it to the crypto key, projects/P/locations/L/keyRings/R/cryptoKeys/K');
      if (name.includes(',')) throw new Error(`"${name}" contains a comma; name exactly one crypto key`);
      if (name.includes('/cryptoKeyVersions')) {
        throw new Error(`"${name}" names a key version; drop /cryptoKeyVersions/... and name the crypto key`);
      }
      if (!/^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/.test(name)) {
        throw new Error(`"${name}" is not a crypto key name: projects/P/locations/L/keyRings/R/cryptoKeys/K`);
      }
      return name;
    },
  };
}

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
    userReportUnclaimedMaxAgeMs: durationMs(
      'USER_REPORT_UNCLAIMED_MAX_AGE',
      '60m',
      'Delete unclaimed user reports older than this, but never before the longest code of a user-report realm expires.',
      { minMs: 1 },
    ),
    tokenSigningKey: cryptoKeyName(
      'TOKEN_SIGNING_KEY',
      'The KMS crypto key whose versions sign tokens (projects/P/locations/L/keyRings/R/cryptoKeys/K, not a version); only its versions are destroyed.',
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
