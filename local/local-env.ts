/**
 * The environment every function gets in local mode: the production settings, with the wiring
 * pointed at the loopback stand-ins. An operator's own variables (say AUDIT_ENTRY_MAX_AGE=240h)
 * pass through to the jobs; the wiring always wins, so a stray DATABASE_URL or K_SERVICE in the
 * shell can never point the local fleet at a real system.
 */
import type { Env } from '../functions/core/config';

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
}

/** Defaults an operator may override from the shell. */
const LOCAL_DEFAULTS: Env = {
  TOKEN_SIGNING_KEY: LOCAL_TOKEN_SIGNING_KEY,
  LOG_LEVEL: 'info',
};

/** Settings that tie the fleet to its own stand-ins; never taken from the shell. */
function wiring(parts: LocalWiring): Env {
  return {
    DATABASE_URL: parts.databaseUrl,
    DB_MIGRATE: 'auto',
    AUTH_MODE: 'oidc',
    OIDC_ISSUER: parts.issuer,
    OIDC_JWKS_URL: parts.jwksUrl,
    OIDC_INVOKER_EMAILS: LOCAL_INVOKER,
    GOOGLE_CLOUD_PROJECT: LOCAL_PROJECT,
    METADATA_SERVER_DETECTION: 'none',
    SIGNALS_SINK: 'local',
    KEY_MANAGER: 'local',
    K_SERVICE: undefined,
    APP_SYNC_URL: parts.appFeedUrl,
    KEY_SERVER_URL: parts.keyServerUrl,
    CERTIFICATE_SIGNING_KEY: parts.certificateSigningKey,
  };
}

/** The shared environment; each function adds OIDC_AUDIENCE, its own URL. */
export function localEnv(parts: LocalWiring, operator: Env = {}): Env {
  return { ...LOCAL_DEFAULTS, ...operator, ...wiring(parts) };
}
