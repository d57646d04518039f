/**
 * The settings of the Cloud SQL export, declared once: the runtime parses them when
 * DATABASE_EXPORT=cloud-sql builds the export, and the backup job spreads `cloudSqlExportFields`
 * into its own schema so infra (which gives a job only the variables it declares) provides them.
 * The names are the original server's; infra fills them (infra/job-env.ts providedEnv).
 */
import { custom, defineConfig, text } from '../core/config';
import { parseCloudSqlInstance } from './cloud-sql-export';

export const cloudSqlExportFields = {
  backupBucket: custom(
    'BACKUP_BUCKET',
    undefined,
    'Cloud Storage bucket the Cloud SQL export writes to, without gs:// (infra: <project>-backups).',
    (raw) => {
      const bucket = raw.trim();
      if (!/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/.test(bucket)) {
        throw new Error(
          `"${raw}" is not a bucket name; write it without gs://, for example my-project-backups`,
        );
      }
      return bucket;
    },
  ),
  backupInstance: custom(
    'BACKUP_DATABASE_INSTANCE_URL',
    undefined,
    "The Cloud SQL instance's self link, https://sqladmin.googleapis.com/sql/v1beta4/projects/P/instances/I (set by infra).",
    parseCloudSqlInstance,
  ),
  backupDatabaseName: text('BACKUP_DATABASE_NAME', undefined, 'Name of the database the backup exports.'),
};

export const cloudSqlExportConfig = defineConfig('cloud-sql export', cloudSqlExportFields);
