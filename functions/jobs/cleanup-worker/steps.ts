/**
 * The 19 retention steps of cleanup-worker, in the original's order, with the original's item tags
 * (enx-jobs.md §3), then one of our own: JOB_LEDGER, the fleet's run records, which the original
 * did not have (its locks table held one row per job) and which would otherwise grow without end.
 * Every delete and update runs in bounded batches and yields when its slice of the run's time
 * budget is spent (run.ts). Differences from the original, on purpose:
 * - step 17 (UNCLAIMED_USER_REPORTS) uses USER_REPORT_UNCLAIMED_MAX_AGE, floored by the longest code
 *   of a realm that issues user reports (tested with the bit, not `>= 16`), as intended;
 * - step 9 (TOKEN_SIGNING_KEY) keeps going past a failing key and reports what it destroyed, in
 *   the error and in the run's (partial) result;
 * - all thresholds come from one instant, the injected clock's;
 * - `date` columns are compared with the threshold's UTC calendar day, sent as a date literal, as
 *   the original (whose clock was UTC) effectively did. A bare Date parameter would be inferred as
 *   `date` from the day node-pg writes in the process's local time zone, so the purged days would
 *   shift with TZ.
 */
import { deleteWithin, updateWithin } from '../../db/batches';
import type { BatchTarget } from '../../db/batches';
import type { JobContext } from '../../core/job-spec';
import type { SlicedStep, Slice } from '../../core/steps';
import type { CleanupConfig } from './config';
import { purgeTokenSigningKeys } from './token-keys';

/** The user-report bit of realms.allowed_test_types. */
const USER_REPORT_TEST_TYPE = 16;

export type StepOutcome = { readonly count: number };

export interface CleanupRecorder {
  /** Called for each token-signing key version destroyed, even when step 9 fails later on. */
  keyVersionDestroyed(name: string): void;
}

/** The UTC calendar day of an instant, as a date literal ('2026-08-24'). */
function utcDay(instant: Date): string {
  return instant.toISOString().slice(0, 10);
}

export function cleanupSteps(
  context: JobContext,
  config: CleanupConfig,
  recorder: CleanupRecorder = { keyVersionDestroyed: () => undefined },
): SlicedStep<StepOutcome>[] {
  const { db, abortSignal: signal, logger } = context;
  const now = context.clock.now();
  const before = (ageMs: number) => new Date(now.getTime() - ageMs);
  const utcMidnight = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  /** Batches that yield when the step's slice of the run's time budget is spent (run.ts). */
  const batch = (slice: Slice) => ({ batchSize: config.batchSize, signal, yieldWhen: slice.expired });
  const done = (count: number, complete = true) => ({ value: { count }, complete });

  const purge = (name: string, what: string, target: BatchTarget): SlicedStep<StepOutcome> => ({
    name,
    run: async (slice) => {
      const { count, complete } = await deleteWithin(db, target, batch(slice));
      logger.info(`purged ${what}`, { event: 'purged', step: name, count, complete });
      return done(count, complete);
    },
  });
  // A day's row goes once the threshold has passed into a later UTC day, as in the original.
  const statsPurge = (name: string, table: string) =>
    purge(name, table.replace(/_/g, ' '), {
      table,
      where: 'date < $1::date',
      params: [utcDay(before(config.statsMaxAgeMs))],
      key: 'ctid',
    });

  return [
    purge('API_KEYS', 'soft-deleted API keys', {
      table: 'authorized_apps',
      where: 'deleted_at IS NOT NULL AND deleted_at < $1',
      params: [before(config.authorizedAppMaxAgeMs)],
    }),
    purge('VERIFICATION_CODE', 'verification codes', {
      table: 'verification_codes',
      where: 'expires_at < $1 AND long_expires_at < $1',
      params: [before(config.verificationCodeStatusMaxAgeMs)],
    }),
    {
      name: 'VERIFICATION_CODE_RECYCLE',
      run: async (slice) => {
        // updated_at is left alone on purpose, as in the original: recycling is not an edit.
        const { count, complete } = await updateWithin(
          db,
          {
            table: 'verification_codes',
            where:
              "deleted_at IS NULL AND expires_at < $1 AND long_expires_at < $1 AND (code != '' OR long_code != '')",
            params: [before(config.verificationCodeMaxAgeMs)],
          },
          "code = '', long_code = ''",
          batch(slice),
        );
        logger.info('recycled verification codes', {
          event: 'purged',
          step: 'VERIFICATION_CODE_RECYCLE',
          count,
          complete,
        });
        return done(count, complete);
      },
    },
    purge('VERIFICATION_TOKEN', 'verification tokens', {
      table: 'tokens',
      where: 'expires_at < $1',
      params: [before(config.verificationTokenMaxAgeMs)],
    }),
    purge('MEMBERSHIP', 'memberships without permissions', {
      table: 'memberships',
      where: 'permissions = 0',
      params: [],
      key: 'ctid',
    }),
    purge('MOBILE_APP', 'soft-deleted mobile apps', {
      table: 'mobile_apps',
      where: 'deleted_at IS NOT NULL AND deleted_at < $1',
      params: [before(config.mobileAppMaxAgeMs)],
    }),
    purge('AUDIT_ENTRY', 'audit entries', {
      table: 'audit_entries',
      where: 'created_at < $1',
      params: [before(config.auditEntryMaxAgeMs)],
    }),
    purge('USER', 'users without realms', {
      table: 'users',
      where: `system_admin = false AND created_at < $1 AND updated_at < $1
              AND NOT EXISTS (SELECT 1 FROM memberships WHERE memberships.user_id = users.id)`,
      params: [before(config.userPurgeMaxAgeMs)],
    }),
    {
      name: 'TOKEN_SIGNING_KEY',
      run: async () => {
        const result = await purgeTokenSigningKeys(db, context.adapters.keyManager, {
          before: before(config.signingTokenKeyMaxAgeMs),
          tokenSigningKey: config.tokenSigningKey,
          logger,
          signal,
          onDestroyed: recorder.keyVersionDestroyed,
        });
        logger.info('purged token signing keys', {
          event: 'purged',
          step: 'TOKEN_SIGNING_KEY',
          count: result.destroyed.length,
          destroyed: result.destroyed,
        });
        if (result.failures.length > 0) {
          throw new Error(
            `${result.failures.length} key(s) not purged (${result.destroyed.length} destroyed: ${result.destroyed.join(', ') || 'none'}): ${result.failures.join('; ')}`,
          );
        }
        return done(result.destroyed.length);
      },
    },
    purge('VERIFICATION_SIGNING_KEY', 'soft-deleted realm signing keys', {
      table: 'signing_keys',
      where: 'deleted_at IS NOT NULL AND deleted_at < $1',
      params: [before(config.verificationSigningKeyMaxAgeMs)],
    }),
    // key_server_stats_days.day is a timestamptz: compared as an instant, as in the original.
    purge('KEY_SERVER_STATS', 'key server stats days', {
      table: 'key_server_stats_days',
      where: 'day < $1',
      params: [before(config.statsMaxAgeMs)],
      key: 'ctid',
    }),
    statsPurge('AUTHORIZED_APP_STATS', 'authorized_app_stats'),
    statsPurge('EXTERNAL_ISSUER_STATS', 'external_issuer_stats'),
    statsPurge('SMS_ERROR_STATS', 'sms_error_stats'),
    statsPurge('REALM_STATS', 'realm_stats'),
    purge('REALM_CHAFF_EVENT', 'realm chaff events', {
      table: 'realm_chaff_events',
      where: 'date < $1::date',
      params: [utcDay(new Date(utcMidnight.getTime() - config.realmChaffEventMaxAgeMs))],
      key: 'ctid',
    }),
    {
      name: 'UNCLAIMED_USER_REPORTS',
      run: async (slice) => {
        const { rows } = await db.query<{ seconds: string | null }>(
          `SELECT MAX(code_duration)::text AS seconds FROM realms
            WHERE deleted_at IS NULL AND (allowed_test_types & $1) != 0`,
          [USER_REPORT_TEST_TYPE],
        );
        const realmMaxMs = Number(rows[0]?.seconds ?? 0) * 1000;
        const maxAgeMs = Math.max(config.userReportUnclaimedMaxAgeMs, realmMaxMs);
        if (realmMaxMs > config.userReportUnclaimedMaxAgeMs) {
          logger.warn(
            'a realm code lives longer than USER_REPORT_UNCLAIMED_MAX_AGE; keeping unclaimed reports as long',
            {
              step: 'UNCLAIMED_USER_REPORTS',
              configuredMs: config.userReportUnclaimedMaxAgeMs,
              realmCodeDurationMs: realmMaxMs,
            },
          );
        }
        const { count, complete } = await deleteWithin(
          db,
          {
            table: 'user_reports',
            where: 'created_at < $1 AND code_claimed = false',
            params: [before(maxAgeMs)],
          },
          batch(slice),
        );
        logger.info('purged unclaimed user reports', {
          event: 'purged',
          step: 'UNCLAIMED_USER_REPORTS',
          count,
          complete,
        });
        return done(count, complete);
      },
    },
    statsPurge('USER_STATS', 'user_stats'),
    purge('CLAIMED_USER_REPORTS', 'user reports', {
      table: 'user_reports',
      where: 'created_at < $1',
      params: [before(config.userReportMaxAgeMs)],
    }),
    {
      name: 'JOB_LEDGER',
      run: async (slice) => {
        // A running attempt or tick is never removed, however old: the lock takeover and the
        // watchdog's overdue count read it. The ledger's idempotency needs a tick only while
        // Cloud Scheduler may still deliver it, minutes after its time.
        const threshold = before(config.jobLedgerMaxAgeMs);
        const targets: BatchTarget[] = [
          {
            table: 'enx_jobs_attempts',
            where: "state <> 'running' AND started_at < $1",
            params: [threshold],
          },
          {
            table: 'enx_jobs_ticks',
            where: "state <> 'running' AND first_started_at < $1",
            params: [threshold],
            key: 'ctid',
          },
          { table: 'enx_jobs_email_deliveries', where: 'created_at < $1', params: [threshold], key: 'ctid' },
        ];
        let count = 0;
        for (const target of targets) {
          const part = await deleteWithin(db, target, batch(slice));
          count += part.count;
          // The tables after a yielded one wait for the step's next slice.
          if (!part.complete) return done(count, false);
        }
        logger.info(`purged run records`, { event: 'purged', step: 'JOB_LEDGER', count });
        return done(count);
      },
    },
  ];
}
