/**
 * Reading ENX's system secrets the way the server reads them, so a value this fleet derives from
 * them (an API key's stored HMAC) is the value the server derives.
 *
 * - Which rows: every `secrets` row of the type not marked for deletion, active first, then newest
 *   first (pkg/database/secret.go ListSecretsForType with pkg/database/scopes.go
 *   InConsumableSecretOrder; gorm's soft delete hides rows with deleted_at set).
 * - The values: each row's `reference` is a Secret Manager version name whose payload is the raw
 *   key bytes (pkg/database/secretresolver.go Resolve; rotation writes random bytes,
 *   pkg/controller/rotation/handle_secrets_rotate.go createUpstreamSecretVersion).
 * - Writing uses the first of them, looking up accepts any (pkg/database/database.go initialHMAC
 *   and allAllowedHMACs): HMAC-SHA512, base64url without padding.
 */
import { createHmac } from 'node:crypto';
import type { SecretStore } from '../ports/secret-store';
import type { Db } from '../core/db';

/** ENX's secret types this fleet reads (pkg/database/secret.go). */
export const ENX_SECRET_TYPE = {
  apiKeyDatabaseHmac: 'api_key_database_hmac',
  apiKeySignatureHmac: 'api_key_signature_hmac',
  phoneNumberDatabaseHmac: 'phone_number_database_hmac',
} as const;

export type EnxSecretType = (typeof ENX_SECRET_TYPE)[keyof typeof ENX_SECRET_TYPE];

/** The usable keys of a type, in ENX's order; fails naming the fix when there are none. */
export async function consumableSecrets(db: Db, store: SecretStore, type: EnxSecretType): Promise<Buffer[]> {
  const { rows } = await db.query<{ reference: string }>(
    `SELECT reference FROM secrets WHERE type = $1 AND deleted_at IS NULL
      ORDER BY active DESC, created_at DESC`,
    [type],
  );
  if (rows.length === 0) {
    throw new Error(
      `the secrets table has no ${type} secret; rotation-worker creates the first one (run it once), or the verification server's database is not the one DB_* points at`,
    );
  }
  const values: Buffer[] = [];
  for (const { reference } of rows) {
    try {
      values.push(await store.accessSecretVersion(reference));
    } catch (error) {
      throw new Error(
        `could not read ${type} secret ${reference}: ${(error as Error).message}; the job's service account needs secretmanager.versions.access on it`,
        { cause: error },
      );
    }
  }
  return values;
}

/** HMAC-SHA512 of `data`, base64url without padding: how ENX stores and signs API keys. */
export function enxHmac(key: Buffer, data: string): string {
  return createHmac('sha512', key).update(data).digest('base64url');
}
