/**
 * Shared set-up for the rotation jobs' tests: short ages (hours, not months) so thresholds are easy
 * to cross with a manual clock, a hand-made job context over the local KMS and secret store, and
 * helpers that place keys and secrets at chosen ages.
 */
import type { Pool } from 'pg';
import { rotationWorker } from '../../functions/catalog';
import { onlyAdapters } from './only-adapters';
import type { KeyManager, SecretStore } from '../../functions/ports';
import { LocalGauges } from '../../functions/ports/gauges';
import { LocalKeyManager } from '../../functions/adapters/local-key-manager';
import { LocalSecretStore } from '../../functions/adapters/local-secret-store';
import type { Clock } from '../../functions/core/clock';
import type { Env } from '../../functions/core/config';
import type { Db } from '../../functions/core/db';
import type { JobContext } from '../../functions/core/job-spec';
import { createLogger, SecretRegistry } from '../../functions/core/logger';
import { memoryWriter } from './memory-writer';
import { realmKeyRotationConfig } from '../../functions/jobs/realm-key-rotation-worker/config';
import type { RealmKeyRotationConfig } from '../../functions/jobs/realm-key-rotation-worker/config';
import { rotationConfig } from '../../functions/jobs/rotation-worker/config';
import type { RotationConfig } from '../../functions/jobs/rotation-worker/config';
import { TEST_TOKEN_SIGNING_KEY } from './harness';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const SECRETS_PARENT = 'projects/enx-test-project/secrets';
export const KEY_RING = 'projects/enx-test-project/locations/local/keyRings/realm-keys';
export const T0 = new Date('2026-03-01T00:00:00Z');

export const ROTATION_ENV: Env = {
  TOKEN_SIGNING_KEY: TEST_TOKEN_SIGNING_KEY,
  TOKEN_SIGNING_KEY_MAX_AGE: '10h',
  SECRETS_PARENT,
  SECRET_ACTIVATION_TTL: '1h',
  SECRET_DESTROY_TTL: '2h',
  VERIFICATION_CODE_DATABASE_HMAC_KEY_MIN_AGE: '3h',
  VERIFICATION_CODE_DATABASE_HMAC_KEY_MAX_AGE: '6h',
  COOKIE_KEY_MIN_AGE: '4h',
  COOKIE_KEY_MAX_AGE: '9h',
  PHONE_NUMBER_DATABASE_HMAC_MIN_AGE: '5h',
  PHONE_NUMBER_DATABASE_HMAC_MAX_AGE: '12h',
  API_KEY_DATABASE_HMAC_KEY_MIN_AGE: '20h',
  API_KEY_SIGNATURE_HMAC_KEY_MIN_AGE: '20h',
};

export const REALM_ENV: Env = {
  DB_KEYRING: KEY_RING,
  DB_MAX_KEY_VERSIONS: '3',
  VERIFICATION_SIGNING_KEY_MAX_AGE: '5h',
  VERIFICATION_ACTIVATION_DELAY: '1h',
};

export function testRotationConfig(env: Env = {}): RotationConfig {
  return rotationConfig.parse({ ...ROTATION_ENV, ...env });
}

export function testRealmConfig(env: Env = {}): RealmKeyRotationConfig {
  return realmKeyRotationConfig.parse({ ...REALM_ENV, ...env });
}

export function rotationContext(
  db: Db,
  clock: Clock,
  adapters: { keyManager: KeyManager; secretStore?: SecretStore },
  signal: AbortSignal = new AbortController().signal,
): { context: JobContext; logs: ReturnType<typeof memoryWriter> } {
  const logs = memoryWriter();
  const now = clock.now();
  return {
    logs,
    context: {
      db,
      clock,
      logger: createLogger({ write: logs.write, minSeverity: 'DEBUG' }),
      spec: rotationWorker,
      abortSignal: signal,
      secrets: new SecretRegistry(),
      tick: { id: now.toISOString(), scheduledAt: now, manual: false },
      attempt: 1,
      adapters: onlyAdapters({ ...adapters, gauges: new LocalGauges() }),
    },
  };
}

export async function resetRotationTables(pool: Pool): Promise<void> {
  await pool.query(
    `TRUNCATE realms, token_signing_keys, signing_keys, secrets, audit_entries, enx_jobs_local_kms_versions,
       enx_jobs_local_kms_keys, enx_jobs_local_secret_versions, enx_jobs_local_secrets RESTART IDENTITY CASCADE`,
  );
}

/** A clock standing still at `at`, so an upstream version records when it "was" made. */
export const at = (time: Date): Clock => ({ now: () => time });
export const before = (now: Date, ms: number) => new Date(now.getTime() - ms);

export async function addRealm(
  pool: Pool,
  id: number,
  options: { autoRotate?: boolean; certificateDurationS?: number } = {},
) {
  await pool.query(
    `INSERT INTO realms (id, name, region_code, auto_rotate_certificate_key, use_realm_certificate_key, certificate_duration)
     VALUES ($1, $2, $3, $4, true, $5)`,
    [id, `Realm ${id}`, `R${id}`, options.autoRotate ?? true, options.certificateDurationS ?? 900],
  );
}

/** A realm key version created at `createdAt`, recorded with the given row state. */
export async function addRealmKey(
  pool: Pool,
  realmId: number,
  row: { createdAt: Date; active: boolean; updatedAt?: Date; deletedAt?: Date },
): Promise<string> {
  const keys = new LocalKeyManager(pool, at(row.createdAt));
  const version = await keys.createKeyVersion(`${KEY_RING}/cryptoKeys/realm-${realmId}`);
  await pool.query(
    `INSERT INTO signing_keys (realm_id, key_id, active, created_at, updated_at, deleted_at) VALUES ($1, $2, $3, $4, $5, $6)`,
    [realmId, version, row.active, row.createdAt, row.updatedAt ?? row.createdAt, row.deletedAt ?? null],
  );
  return version;
}

export async function addTokenKey(
  pool: Pool,
  row: { createdAt: Date; active: boolean; updatedAt?: Date },
): Promise<string> {
  const version = await new LocalKeyManager(pool, at(row.createdAt)).createKeyVersion(TEST_TOKEN_SIGNING_KEY);
  await pool.query(
    'INSERT INTO token_signing_keys (key_version_id, is_active, created_at, updated_at) VALUES ($1, $2, $3, $4)',
    [version, row.active, row.createdAt, row.updatedAt ?? row.createdAt],
  );
  return version;
}

/** A secret version created at `createdAt`; `updatedAt` after it means retired (when inactive). */
export async function addSecret(
  pool: Pool,
  type: string,
  secretId: string,
  row: { createdAt: Date; active: boolean; updatedAt?: Date; deletedAt?: Date },
): Promise<string> {
  const store = new LocalSecretStore(pool, at(row.createdAt));
  const reference = await store.addSecretVersion(SECRETS_PARENT, secretId, Buffer.from('0123456789abcdef'));
  await pool.query(
    `INSERT INTO secrets (type, reference, active, created_at, updated_at, deleted_at) VALUES ($1, $2, $3, $4, $5, $6)`,
    [type, reference, row.active, row.createdAt, row.updatedAt ?? row.createdAt, row.deletedAt ?? null],
  );
  return reference;
}

/**
 * A state where one run of each job has every kind of work: a token rotation; secrets to create
 * (first of a type and successors), activate, retire, mark for deletion and purge; realm keys to
 * create (first and successor), activate and destroy. Times are relative to `now`.
 */
export async function seedBusyState(pool: Pool, now: Date): Promise<void> {
  const ago = (hours: number) => before(now, hours * HOUR_MS);
  await addTokenKey(pool, { createdAt: ago(11), active: true });
  // verification codes: the old active one is past its max age and a successor waits to activate.
  await addSecret(pool, 'verification_code_database_hmac', 'db-verification-code-hmac', {
    createdAt: ago(7),
    active: true,
    updatedAt: ago(7),
  });
  await addSecret(pool, 'verification_code_database_hmac', 'db-verification-code-hmac', {
    createdAt: ago(2),
    active: false,
  });
  // cookies: one marked for deletion past the destroy TTL, one retired past its grace, an active one
  // old enough for a successor.
  await addSecret(pool, 'cookie_keys', 'cookie-keys', {
    createdAt: ago(14),
    active: false,
    updatedAt: ago(5),
    deletedAt: ago(3),
  });
  await addSecret(pool, 'cookie_keys', 'cookie-keys', {
    createdAt: ago(10),
    active: false,
    updatedAt: ago(1.5),
  });
  await addSecret(pool, 'cookie_keys', 'cookie-keys', { createdAt: ago(5), active: true, updatedAt: ago(4) });
  // phone numbers: recent, nothing due. api-key signature: due for a successor. api-key database: none yet.
  await addSecret(pool, 'phone_number_database_hmac', 'db-phone-number-hmac', {
    createdAt: ago(1),
    active: true,
  });
  await addSecret(pool, 'api_key_signature_hmac', 'db-apikey-sig-hmac', { createdAt: ago(21), active: true });

  await addRealm(pool, 1);
  await addRealm(pool, 2);
  await addRealm(pool, 3);
  // realm 1: active key past its max age. realm 2: a pending key to activate and a retired one to
  // destroy. realm 3: no key yet.
  await addRealmKey(pool, 1, { createdAt: ago(6), active: true });
  await addRealmKey(pool, 2, { createdAt: ago(9), active: false, updatedAt: ago(3) });
  await addRealmKey(pool, 2, { createdAt: ago(7), active: true });
  await addRealmKey(pool, 2, { createdAt: ago(2), active: false });
}
