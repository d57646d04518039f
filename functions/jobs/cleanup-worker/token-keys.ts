/**
 * Step 9: destroy the KMS versions of token-signing keys rotated out long enough ago, then delete
 * their rows. Each key is handled on its own: one failure does not stop the others, and every
 * version destroyed is reported, so a partial failure never loses track of what was destroyed.
 * Destruction is idempotent (a version already destroyed, or gone from KMS, counts as done), so a
 * row whose delete failed is simply finished on the next run.
 */
import { describeError } from '../../core/errors';
import type { Db } from '../../core/db';
import type { Logger } from '../../core/logger';
import type { KeyManager } from '../../ports/key-manager';
import { KeyNotFoundError } from '../../ports/key-manager';

export interface TokenKeyPurge {
  readonly destroyed: string[];
  readonly failures: string[];
}

export async function purgeTokenSigningKeys(
  db: Db,
  keyManager: KeyManager,
  options: {
    before: Date;
    tokenSigningKey: string;
    logger: Logger;
    signal: AbortSignal;
    /** Told of each destroyed version as it happens, so an abort part-way loses none. */
    onDestroyed?: (name: string) => void;
  },
): Promise<TokenKeyPurge> {
  const { rows } = await db.query<{ id: string; key_version_id: string }>(
    `SELECT id, key_version_id FROM token_signing_keys
      WHERE is_active IS FALSE AND updated_at IS NOT NULL AND updated_at < $1
      ORDER BY id`,
    [options.before],
  );
  const purge: TokenKeyPurge = { destroyed: [], failures: [] };
  const prefix = `${options.tokenSigningKey}/cryptoKeyVersions/`;
  for (const row of rows) {
    options.signal.throwIfAborted();
    // Exactly `<key>/cryptoKeyVersions/<n>`: a bare prefix test would also pass `<key>/cryptoKeyVersions/1/x`.
    const version = row.key_version_id.startsWith(prefix) ? row.key_version_id.slice(prefix.length) : '';
    if (!/^\d+$/.test(version)) {
      purge.failures.push(
        `token_signing_keys id ${row.id}: ${row.key_version_id} is not a version of TOKEN_SIGNING_KEY; refusing to destroy it (check TOKEN_SIGNING_KEY)`,
      );
      continue;
    }
    try {
      try {
        await keyManager.destroyKeyVersion(row.key_version_id);
      } catch (error) {
        if (!(error instanceof KeyNotFoundError)) throw error;
        options.logger.warn('token signing key version is already gone from the key manager', {
          keyVersion: row.key_version_id,
        });
      }
      purge.destroyed.push(row.key_version_id);
      options.onDestroyed?.(row.key_version_id);
      await db.query('DELETE FROM token_signing_keys WHERE id = $1 AND is_active IS FALSE', [row.id]);
    } catch (error) {
      purge.failures.push(`token_signing_keys id ${row.id} (${row.key_version_id}): ${describeError(error)}`);
    }
  }
  return purge;
}
