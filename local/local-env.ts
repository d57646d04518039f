/**
 * The environment every function gets in local mode: the production settings, with the wiring
 * pointed at the loopback stand-ins. An operator's own variables (say AUDIT_ENTRY_MAX_AGE=240h)
 * pass through to the jobs; the wiring always wins, so a stray DATABASE_URL or K_SERVICE in the
 * shell can never point the local fleet at a real system.
 */
import type { Env } from '../functions/core/config';
import { localRateLimitEnv } from './redis';
import type { RedisServer } from './redis';
import { LOCAL_MAIL_DEFAULTS, localSmtpEnv } from './smtp-catcher';

export const LOCAL_PROJECT = 'enx-local';
export const LOCAL_DATABASE = 'en-verification';
/** The scheduler's service account in local mode; the only caller the functions accept. */
export const LOCAL_INVOKER = `scheduler-invoker@${LOCAL_PROJECT}.iam.gserviceaccount.com`;
/** The crypto key whose versions sign tokens; the demo data creates its versions in the local KMS. */
export const LOCAL_TOKEN_SIGNING_KEY = `projects/${LOCAL_PROJECT}/locations/local/keyRings/enx-jobs/cryptoKeys/token-signing`;
/** Where the demo realms' certificate-signing keys live in the local KMS. */
export const LOCAL_REALM_KEY_RING = `projects/${LOCAL_PROJECT}/locations/local/keyRings/realm-keys`;
/** The system certificate-signing key; stats-puller-worker signs with its newest enabled version. */
export const LOCAL_CERTIFICATE_KEY = `projects/${LOCAL_PROJECT}/locations/local/keyRings/enx-jobs/cryptoKeys/certificate-signing`;

export interface LocalWiring {
  readonly databaseUrl: string;
  readonly issuer: string;
  readonly jwksUrl: string;
  /** The loopback app-list feed appsync-worker syncs from. */
  readonly appFeedUrl?: string;
  /** The loopback key-server stats stand-in, and the system key version its tokens are signed with. */
  readonly keyServerUrl?: string;
  readonly certificateSigningKey?: string;
  /** The fleet's Redis for modeler-worker's quotas; none means RATE_LIMIT_TYPE=NOOP. */
  readonly redis?: Pick<RedisServer, 'host' | 'port' | 'password'>;
  /** The loopback SMTP catcher the emailers send to. */
  readonly smtpPort?: number;
  /** The e2e probes' settings pointing at the loopback upstreams (local/upstreams/start.ts). */
  readonly e2eEnv?: Env;
  /** Where backup-worker's pg_dump files go: inside the fleet's data folder. */
  readonly backupDir?: string;
  /**
   * host:port of the loopback Cloud Monitoring stand-in (local/fake-google/metric-service.ts). The
   * functions record their signals in the database and fleet-watchdog writes them there, as deployed.
   */
  readonly monitoringEndpoint: string;
}

/**
 * The local implementations (local/wiring.ts) in place of production's defaults: keys and secret
 * versions in the local database, backups by pg_dump. Signals take production's path
 * (SIGNALS_SINK=cloud-monitoring) to the loopback Cloud Monitoring stand-in.
 */
export const LOCAL_ADAPTERS = {
  KEY_MANAGER: 'local',
  SECRET_MANAGER: 'local',
  DATABASE_EXPORT: 'local-pg-dump',
} as const satisfies Env;

/** Defaults an operator may override from the shell. */
const LOCAL_DEFAULTS: Env = {
  TOKEN_SIGNING_KEY: LOCAL_TOKEN_SIGNING_KEY,
  LOG_LEVEL: 'info',
  // The rotation jobs' targets in the local KMS and secret store; the backup settings only name
  // production's targets (the local export is pg_dump into LOCAL_BACKUP_DIR).
  SECRETS_PARENT: `projects/${LOCAL_PROJECT}/secrets`,
  DB_KEYRING: LOCAL_REALM_KEY_RING,
  BACKUP_BUCKET: `${LOCAL_PROJECT}-backups`,
  BACKUP_DATABASE_NAME: LOCAL_DATABASE,
  BACKUP_DATABASE_INSTANCE_URL: `https://sqladmin.googleapis.com/sql/v1beta4/projects/${LOCAL_PROJECT}/instances/local`,
  ...LOCAL_MAIL_DEFAULTS,
};

/** Settings that tie the fleet to its own stand-ins; never taken from the shell. */
function wiring(parts: LocalWiring): Env {
  return {
    DATABASE_URL: parts.databaseUrl,
    DB_MIGRATE: 'auto',
    AUTH_MODE: 'oidc',
    // Every function sits behind the local Cloud Run edge (cloud-run-edge.ts), as on Cloud Run.
    AUTH_EDGE: 'cloud-run',
    OIDC_ISSUER: parts.issuer,
    OIDC_JWKS_URL: parts.jwksUrl,
    OIDC_INVOKER_EMAILS: LOCAL_INVOKER,
    GOOGLE_CLOUD_PROJECT: LOCAL_PROJECT,
    METADATA_SERVER_DETECTION: 'none',
    ...LOCAL_ADAPTERS,
    SIGNALS_SINK: 'cloud-monitoring',
    MONITORING_API_ENDPOINT: parts.monitoringEndpoint,
    K_SERVICE: undefined,
    APP_SYNC_URL: parts.appFeedUrl,
    KEY_SERVER_URL: parts.keyServerUrl,
    CERTIFICATE_SIGNING_KEY: parts.certificateSigningKey,
    ...localRateLimitEnv(parts.redis),
    ...localSmtpEnv(parts.smtpPort),
    ...parts.e2eEnv,
    ...(parts.backupDir ? { LOCAL_BACKUP_DIR: parts.backupDir } : {}),
  };
}

/** The shared environment; each function adds OIDC_AUDIENCE, its own URL. */
export function localEnv(parts: LocalWiring, operator: Env = {}): Env {
  return { ...LOCAL_DEFAULTS, ...operator, ...wiring(parts) };
}
