/**
 * The test phone's user report, as e2e-user-report clears it. ENX allows one user report per phone
 * number, so a report left by the previous run makes the next issue answer 200 without a code; the
 * original cleared it before each run with DeleteUserReport(+18558361987, NullActor)
 * (pkg/controller/e2erunner/handlers.go handleEndToEnd). This mirrors pkg/database/user_report.go
 * DeleteUserReport: the row is found by the phone's HMAC under every phone_number_database_hmac
 * secret (allAllowedHMACs), a linked code that has not expired is expired so nobody else can use it,
 * the report is deleted (the code's user_report_id goes NULL by ENX's foreign key), and, as with
 * NullActor, no audit entry is written.
 */
import type { SecretStore } from '../../ports/secret-store';
import type { Db } from '../../core/db';
import { withTransaction } from '../../core/db';
import { consumableSecrets, ENX_SECRET_TYPE, enxHmac } from '../../db/enx-secrets';

/** Every HMAC the phone may be stored under: one per phone_number_database_hmac secret. */
export async function phoneHashes(db: Db, store: SecretStore, phone: string): Promise<string[]> {
  const secrets = await consumableSecrets(db, store, ENX_SECRET_TYPE.phoneNumberDatabaseHmac);
  return secrets.map((secret) => enxHmac(secret, phone));
}

/** Deletes the phone's user report, if any, expiring its code first; returns how many went (0 or 1). */
export function deleteUserReport(db: Db, hashes: readonly string[], now: Date): Promise<number> {
  return withTransaction(db, async (client) => {
    const { rows } = await client.query<{ id: string }>(
      'SELECT id FROM user_reports WHERE phone_hash = ANY($1::text[]) ORDER BY id LIMIT 1 FOR UPDATE',
      [hashes],
    );
    if (rows.length === 0) return 0;
    await client.query(
      `UPDATE verification_codes SET expires_at = $2, long_expires_at = $2, updated_at = $2
        WHERE user_report_id = $1 AND (expires_at > $2 OR long_expires_at > $2)`,
      [rows[0].id, now],
    );
    const deleted = await client.query('DELETE FROM user_reports WHERE id = $1', [rows[0].id]);
    return deleted.rowCount ?? 0;
  });
}
