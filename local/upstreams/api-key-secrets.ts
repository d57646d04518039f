/**
 * A first api_key_database_hmac, api_key_signature_hmac and phone_number_database_hmac secret (the
 * last one hashes user reports' phone numbers) for a database that has none, so
 * the stand-ins and the probes have the keys a running ENX deployment always has. In ENX the
 * rotation service creates them (pkg/controller/rotation/handle_secrets_rotate.go rotateSecret:
 * 128 random bytes, the first secret of a type active at once); here rotation-worker takes over
 * from the next tick. Rows that already exist are left alone.
 */
import { randomBytes } from 'node:crypto';
import type { SecretStore } from '../../functions/ports/secret-store';
import type { Db } from '../../functions/core/db';

const FIRST_SECRETS = [
  { type: 'api_key_database_hmac', secretId: 'db-apikey-db-hmac' },
  { type: 'api_key_signature_hmac', secretId: 'db-apikey-sig-hmac' },
  { type: 'phone_number_database_hmac', secretId: 'db-phone-number-hmac' },
] as const;

const SECRET_BYTES = 128;

export async function ensureApiKeySecrets(
  db: Db,
  store: SecretStore,
  secretsParent: string,
  now: Date,
): Promise<void> {
  for (const { type, secretId } of FIRST_SECRETS) {
    const { rows } = await db.query('SELECT 1 FROM secrets WHERE type = $1 AND deleted_at IS NULL LIMIT 1', [
      type,
    ]);
    if (rows.length > 0) continue;
    const reference = await store.addSecretVersion(secretsParent, secretId, randomBytes(SECRET_BYTES));
    await db.query(
      'INSERT INTO secrets (type, reference, active, created_at, updated_at) VALUES ($1, $2, true, $3, $3)',
      [type, reference, now],
    );
  }
}
