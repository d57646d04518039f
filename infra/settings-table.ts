/**
 * Every deployment setting: its key in the settings file, its ENX_INFRA_* variable and what it
 * means, with its default. The parser, the error messages and docs/deploy.md all follow this table.
 */
/** A setting: its key in the settings file, its variable, and what it means (with its default). */
export interface SettingSpec {
  readonly key: string;
  readonly env: string;
  readonly doc: string;
}

// prettier-ignore
const SETTING_ROWS: readonly (readonly [key: string, env: string, doc: string])[] = [
  ['projectId', 'ENX_INFRA_PROJECT_ID', 'Google Cloud project id (required).'],
  ['region', 'ENX_INFRA_REGION', 'Region of functions, buckets, KMS, Cloud SQL; default us-central1.'],
  ['schedulerRegion', 'ENX_INFRA_SCHEDULER_REGION', 'Cloud Scheduler region; default the region.'],
  ['keyManager', 'ENX_INFRA_KEY_MANAGER', 'KEY_MANAGER of the functions; default google-cloud-kms.'],
  ['functionSource', 'ENX_INFRA_FUNCTION_SOURCE', 'Built function folder, relative to the repository; default dist/functions.'],
  ['maxInstances', 'ENX_INFRA_MAX_INSTANCES', 'Maximum instances per function, 1-100; default 2.'],
  ['pausedJobs', 'ENX_INFRA_PAUSED_JOBS', 'Job ids whose scheduler job is paused; default none.'],
  ['omittedJobs', 'ENX_INFRA_OMITTED_JOBS', 'Job ids not deployed at all (no function, scheduler job, alert or watchdog check), e.g. e2e-redirect without a redirect service; default none.'],
  ['notifications.emails', 'ENX_INFRA_NOTIFY_EMAILS', 'Email addresses notified (which alerts: notifications.critical/error/warning).'],
  ['notifications.pagerDutyServiceKey', 'ENX_INFRA_PAGERDUTY_SERVICE_KEY', 'secret:<id> or var:<name> holding a PagerDuty service key.'],
  ['notifications.slackChannel', 'ENX_INFRA_SLACK_CHANNEL', 'Slack channel name (with #); needs the Slack auth token.'],
  ['notifications.slackAuthToken', 'ENX_INFRA_SLACK_AUTH_TOKEN', 'secret:<id> or var:<name> holding the Slack app token.'],
  ['notifications.webhookUrl', 'ENX_INFRA_WEBHOOK_URL', 'secret:<id> or var:<name> holding a webhook URL (with its token).'],
  ['notifications.critical', 'ENX_INFRA_NOTIFY_CRITICAL', 'Channels of CRITICAL alerts (they page): email, pagerduty, slack, webhook; default every configured one but slack (slack alone if it is the only one).'],
  ['notifications.error', 'ENX_INFRA_NOTIFY_ERROR', 'Channels of ERROR alerts (they page); default as critical.'],
  ['notifications.warning', 'ENX_INFRA_NOTIFY_WARNING', 'Channels of WARNING alerts (the rate alerts; they do not page); default slack if configured, else email, else as critical.'],
  ['database.mode', 'ENX_INFRA_DB_MODE', 'existing (default) or cloud-sql (create an instance).'],
  ['database.host', 'ENX_INFRA_DB_HOST', 'existing: host, IP or /cloudsql/<connection name> (required).'],
  ['database.port', 'ENX_INFRA_DB_PORT', 'existing: port; default 5432.'],
  ['database.name', 'ENX_INFRA_DB_NAME', 'Database name; default en-verification.'],
  ['database.user', 'ENX_INFRA_DB_USER', 'Database user; default enx-jobs.'],
  ['database.sslMode', 'ENX_INFRA_DB_SSLMODE', 'existing: DB_SSLMODE; default require (disable for a /cloudsql socket).'],
  ['database.passwordSecretId', 'ENX_INFRA_DB_PASSWORD_SECRET', 'existing: a Secret Manager secret id holding the password; default: infra creates enx-db-password.'],
  ['database.instance', 'ENX_INFRA_DB_INSTANCE', 'existing: the connection name project:region:instance (optional); cloud-sql: the new instance name (default enx-<environment>).'],
  ['database.connector', 'ENX_INFRA_DB_CONNECTOR', 'How functions reach the database: cloud-sql-connector (the Cloud SQL Node.js Connector; needs database.instance) or direct (DB_HOST, through network.vpcConnector for a private IP); default cloud-sql-connector when the instance is known, else direct.'],
  ['database.ipType', 'ENX_INFRA_DB_IP_TYPE', "cloud-sql-connector: the instance address dialled, PUBLIC, PRIVATE or PSC (the last two need network.vpcConnector); default PUBLIC for cloud-sql, PRIVATE for existing."],
  ['network.vpcConnector', 'ENX_INFRA_VPC_CONNECTOR', 'A Serverless VPC Access connector, projects/P/locations/R/connectors/N, for private addresses (egress of private ranges only); default none.'],
  ['kms.legacySoftwareKeys', 'ENX_INFRA_KMS_LEGACY_SOFTWARE_KEYS', 'true while a deployment still has the earlier SOFTWARE token-signing and certificate-signing keys (kept, never destroyed, during the HSM migration in docs/deploy.md); default false.'],
  ['database.tier', 'ENX_INFRA_DB_TIER', 'cloud-sql: machine tier; default db-custom-1-3840.'],
  ['database.diskSizeGb', 'ENX_INFRA_DB_DISK_GB', 'cloud-sql: disk size in GB, at least 10; default 10.'],
  ['database.version', 'ENX_INFRA_DB_VERSION', 'cloud-sql: POSTGRES_<n>; default POSTGRES_16.'],
  ['database.highAvailability', 'ENX_INFRA_DB_HA', 'cloud-sql: regional (HA) instance; default false.'],
  ['database.deletionProtection', 'ENX_INFRA_DB_DELETION_PROTECTION', 'cloud-sql: refuse to delete the instance; default true.'],
  ['backend.bucket', 'ENX_INFRA_STATE_BUCKET', 'GCS bucket for Terraform state; unset: local state.'],
  ['backend.prefix', 'ENX_INFRA_STATE_PREFIX', 'GCS state prefix; the environment name is appended; default enx-jobs.'],
  ['backend.path', 'ENX_INFRA_STATE_PATH', 'Local state file, relative to cdktf.out/stacks/<env>; default ../../../terraform.<env>.tfstate.'],
  ['backupRetentionDays', 'ENX_INFRA_BACKUP_RETENTION_DAYS', 'Days a backup is kept, 1-3650; default 30.'],
  ['env', 'ENX_INFRA_ENV', 'JSON object of extra env vars for every function (for example {"LOG_LEVEL":"debug"}).'],
  ['jobEnv', 'ENX_INFRA_JOB_ENV', 'JSON object: job id to extra env vars of that job.'],
];

export const SETTINGS: readonly SettingSpec[] = SETTING_ROWS.map(([key, env, doc]) => ({ key, env, doc }));

/** Variables read besides the table: where the file is, and the environment name without a file. */
export const SETTINGS_FILE_ENV = 'ENX_INFRA_SETTINGS_FILE';
export const ENVIRONMENT_ENV = 'ENX_INFRA_ENVIRONMENT';
/** main.ts only: set to false to skip building the function source before synthesizing. */
export const BUILD_ENV = 'ENX_INFRA_BUILD';
export const NON_TABLE_ENV = new Set([SETTINGS_FILE_ENV, ENVIRONMENT_ENV, BUILD_ENV]);
