/**
 * Settings every job function shares (database, authentication, signals, adapters). Each job's own
 * settings are declared next to the job. Defaults are the production ones (what a deployed function
 * gets when infra sets nothing); the local fleet sets its own in local/local-env.ts, tests in
 * test/support.
 */
import { defineConfig, durationMs, integer, list, oneOf, text, url } from './config';
import type { ConfigOf } from './config';
import type { AuthEdge } from './auth';

const fields = {
  databaseUrl: text(
    'DATABASE_URL',
    '',
    'postgres:// URL of the ENX database; when set it wins over the DB_* settings.',
    {
      secret: true,
    },
  ),
  dbHost: text(
    'DB_HOST',
    'localhost',
    'Database host or IP, reached directly (through the VPC connector for a private IP).',
  ),
  dbPort: integer('DB_PORT', '5432', 'Database port.', { min: 1, max: 65535 }),
  cloudSqlInstance: text(
    'CLOUD_SQL_INSTANCE',
    '',
    'project:region:instance of a Cloud SQL instance to reach through the Cloud SQL Node.js Connector (set by infra); when set, DB_HOST and DB_PORT are not used.',
  ),
  cloudSqlIpType: oneOf(
    'CLOUD_SQL_IP_TYPE',
    'PUBLIC',
    "Which of the instance's addresses the connector dials: PUBLIC, PRIVATE or PSC (the last two need the function's VPC connector).",
    ['PUBLIC', 'PRIVATE', 'PSC'],
  ),
  dbName: text('DB_NAME', 'en-verification', 'Database name.'),
  dbUser: text('DB_USER', 'postgres', 'Database user.'),
  dbPassword: text('DB_PASSWORD', '', 'Database password (from Secret Manager in production).', {
    secret: true,
  }),
  dbSslMode: oneOf(
    'DB_SSLMODE',
    'require',
    'TLS to the database: disable, require, verify-ca or verify-full.',
    ['disable', 'require', 'verify-ca', 'verify-full'],
  ),
  dbMaxConnections: integer(
    'DB_MAX_CONNECTIONS',
    '5',
    'Pool size per instance; at least 2 (one connection holds the job lock while the job works).',
    { min: 2, max: 100 },
  ),
  dbConnectTimeoutMs: durationMs('DB_CONNECT_TIMEOUT', '10s', 'How long to wait for a database connection.', {
    minMs: 100,
  }),
  dbMigrate: oneOf(
    'DB_MIGRATE',
    'auto',
    'auto: an instance applies missing migrations (ledger tables) on its first request; off: never.',
    ['auto', 'off'],
  ),
  authMode: oneOf(
    'AUTH_MODE',
    'oidc',
    "oidc verifies the caller's ID token; none is for local experiments only.",
    ['oidc', 'none'],
  ),
  authEdge: oneOf(
    'AUTH_EDGE',
    'auto',
    "Who verifies the token's signature before the runtime: cloud-run (Cloud Run's IAM front, or the local fleet's stand-in, which forward the token with its signature removed; the runtime checks the claims), none (the runtime verifies everything), or auto (cloud-run when K_SERVICE is set, else none).",
    ['auto', 'cloud-run', 'none'],
  ),
  oidcIssuer: text('OIDC_ISSUER', 'https://accounts.google.com', 'Expected `iss` of invoker tokens.'),
  oidcJwksUrl: url(
    'OIDC_JWKS_URL',
    'https://www.googleapis.com/oauth2/v3/certs',
    'Where the issuer publishes its keys.',
  ),
  oidcAudience: text(
    'OIDC_AUDIENCE',
    '',
    "Expected `aud` of invoker tokens: the function's URL. Required with AUTH_MODE=oidc.",
  ),
  oidcInvokerEmails: list(
    'OIDC_INVOKER_EMAILS',
    '',
    'Comma-separated service-account emails allowed to run the job. Required with AUTH_MODE=oidc.',
  ),
  oidcClockToleranceMs: durationMs(
    'OIDC_CLOCK_TOLERANCE',
    '30s',
    'Clock skew allowed when checking token times.',
  ),
  projectId: text('GOOGLE_CLOUD_PROJECT', '', 'Google Cloud project id; used for trace ids and metrics.'),
  signalsSink: oneOf(
    'SIGNALS_SINK',
    'cloud-monitoring',
    'Where heartbeats and attempt metrics go: cloud-monitoring (recorded in the database, written by fleet-watchdog), local (in memory) or none.',
    ['cloud-monitoring', 'local', 'none'],
  ),
  monitoringEndpoint: text(
    'MONITORING_API_ENDPOINT',
    '',
    "host:port of a loopback Monitoring API stand-in (local mode, tests); empty means Google's.",
  ),
  region: text(
    'GOOGLE_CLOUD_REGION',
    'global',
    'Region the functions run in; a label of every metric series.',
  ),
  keyManager: oneOf(
    'KEY_MANAGER',
    'google-cloud-kms',
    'Key manager: google-cloud-kms, or local (keys in the local database; only the local fleet wires it).',
    ['local', 'google-cloud-kms'],
  ),
  kmsProtectionLevel: oneOf(
    'KMS_PROTECTION_LEVEL',
    'HSM',
    'Protection level of the signing keys the Cloud KMS key manager creates: HSM (as ENX) or SOFTWARE.',
    ['HSM', 'SOFTWARE'],
  ),
  kmsEndpoint: text(
    'KMS_API_ENDPOINT',
    '',
    "host:port of a loopback Cloud KMS stand-in (local mode, tests); empty means Google's.",
  ),
  secretManager: oneOf(
    'SECRET_MANAGER',
    'google-secret-manager',
    'Secret store: google-secret-manager, or local (versions kept in the local database; only the local fleet wires it).',
    ['local', 'google-secret-manager'],
  ),
  secretManagerEndpoint: text(
    'SECRET_MANAGER_API_ENDPOINT',
    '',
    "host:port of a loopback Secret Manager stand-in (local mode, tests); empty means Google's.",
  ),
  databaseExport: oneOf(
    'DATABASE_EXPORT',
    'cloud-sql',
    'Database export: cloud-sql (Cloud SQL Admin export to BACKUP_BUCKET), or local-pg-dump (pg_dump into LOCAL_BACKUP_DIR; only the local fleet wires it).',
    ['local-pg-dump', 'cloud-sql'],
  ),
  sqladminEndpoint: text(
    'SQLADMIN_API_ENDPOINT',
    '',
    "http://127.0.0.1:<port> of a loopback Cloud SQL Admin stand-in (local mode, tests), called without credentials; empty means Google's.",
  ),
  localBackupDir: text(
    'LOCAL_BACKUP_DIR',
    '.data/backups',
    'Folder the local-pg-dump export writes into (relative to the working directory); keep it git-ignored.',
  ),
  pgDumpPath: text(
    'PG_DUMP_PATH',
    '',
    'pg_dump binary for the local-pg-dump export; empty means the first pg_dump on PATH.',
  ),
  logLevel: oneOf('LOG_LEVEL', 'info', 'Lowest severity logged: debug, info, warning or error.', [
    'debug',
    'info',
    'warning',
    'error',
  ]),
  cloudRunService: text('K_SERVICE', '', 'Set by Cloud Run; its presence means "production".'),
};

export type RuntimeSettings = ConfigOf<typeof fields>;

/** AUTH_EDGE resolved: on Cloud Run (K_SERVICE set) Cloud Run's IAM front checks the signature. */
export function resolvedAuthEdge(settings: RuntimeSettings): AuthEdge {
  if (settings.authEdge !== 'auto') return settings.authEdge;
  return settings.cloudRunService === '' ? 'none' : 'cloud-run';
}

export const runtimeConfig = defineConfig('runtime', fields, (settings) => {
  const problems: string[] = [];
  const onCloudRun = settings.cloudRunService !== '';
  if (settings.authMode === 'none' && onCloudRun) {
    problems.push(
      'AUTH_MODE=none is refused on Cloud Run (K_SERVICE is set): every caller could run the job. Remove AUTH_MODE.',
    );
  }
  if (settings.authMode === 'oidc') {
    if (settings.oidcAudience === '')
      problems.push('OIDC_AUDIENCE is required with AUTH_MODE=oidc: set it to the function URL');
    if (settings.oidcInvokerEmails.length === 0) {
      problems.push(
        'OIDC_INVOKER_EMAILS is required with AUTH_MODE=oidc: list the scheduler invoker account(s)',
      );
    }
  }
  return problems;
});
