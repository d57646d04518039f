/**
 * backup-worker settings: the original's variables and defaults (enx-jobs.md §2). BACKUP_MIN_PERIOD
 * is not read: the run ledger and job lock replace the time-to-live lock, and a tick that succeeded
 * is never exported again. The Cloud SQL export's own settings (BACKUP_BUCKET,
 * BACKUP_DATABASE_INSTANCE_URL, BACKUP_DATABASE_NAME) are spread in, so infra hands them to this
 * function (infra/job-env.ts) and the adapter and the job read one declaration. Locally (DATABASE_EXPORT=local-pg-dump) they only name the production
 * targets and are not called.
 */
import { defineConfig, durationMs } from '../../core/config';
import { cloudSqlExportFields } from '../../adapters/cloud-sql-export-config';
import { MINUTE_MS, SECOND_MS } from '../../core/duration';

/** The longest BACKUP_TIMEOUT: the export must end inside the job's own timeout (catalog.ts). */
export const BACKUP_TIMEOUT_MAX_MS = 14 * MINUTE_MS;

export const backupConfig = defineConfig('backup-worker', {
  ...cloudSqlExportFields,
  timeoutMs: durationMs(
    'BACKUP_TIMEOUT',
    '10m',
    'How long one export may take, from start to finished operation.',
    { minMs: SECOND_MS, maxMs: BACKUP_TIMEOUT_MAX_MS },
  ),
});

export type BackupConfig = ReturnType<typeof backupConfig.parse>;
