/**
 * The token-signing-key step (enx-jobs.md §7.1): when there is no active key, or the active one is
 * TOKEN_SIGNING_KEY_MAX_AGE old (or its version can no longer sign), a new KMS version becomes the
 * one active key. Recording the new row and deactivating the old one happen in one transaction, so
 * readers always see exactly one active key once the first has been made.
 *
 * Versions of TOKEN_SIGNING_KEY that KMS has but the database never recorded (a run that stopped
 * between "created in KMS" and "recorded") are found on every run. When a rotation is due the newest
 * of them is adopted as the new key instead of creating yet another version, so repeated failures
 * never pile versions up; the rest are recorded as rotated-out keys, and cleanup-worker destroys
 * them after SIGNING_TOKEN_KEY_MAX_AGE like any other. This step never destroys a version itself:
 * cleanup-worker is the one destroyer of token keys.
 */
import type { Clock } from '../../core/clock';
import type { Db } from '../../core/db';
import { withTransaction } from '../../core/db';
import { formatDurationMs } from '../../core/duration';
import type { Logger } from '../../core/logger';
import type { KeyManager, KeyVersionState } from '../../ports/key-manager';
import { KeyNotFoundError } from '../../ports/key-manager';
import { audit } from './audit';

export interface TokenKeyDeps {
  readonly db: Db;
  readonly keyManager: KeyManager;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly signal: AbortSignal;
}

export interface TokenKeyResult {
  /** Versions created in KMS by this run (0 or 1). */
  readonly created: number;
  /** Unrecorded versions taken as the new key instead of creating one (0 or 1). */
  readonly adopted: number;
  readonly activated: number;
  /** Unrecorded versions recorded as rotated out, for cleanup-worker to destroy. */
  readonly orphansRecorded: number;
  readonly activeVersion: string;
}

interface KnownKey {
  readonly id: string;
  readonly key_version_id: string;
  readonly is_active: boolean;
  readonly created_at: Date;
}

async function listVersions(keyManager: KeyManager, keyName: string) {
  try {
    return await keyManager.listKeyVersions(keyName);
  } catch (error) {
    if (error instanceof KeyNotFoundError) return [];
    throw new Error(
      `could not list the versions of TOKEN_SIGNING_KEY ${keyName}; check that the key exists and the job's service account may list its versions (roles/cloudkms.admin)`,
      { cause: error },
    );
  }
}

/** Why the active key must be replaced, or undefined when it is fine. */
function rotationReason(
  active: KnownKey | undefined,
  states: Map<string, KeyVersionState>,
  now: Date,
  maxAgeMs: number,
): string | undefined {
  if (!active) return 'there is no active token signing key';
  const state = states.get(active.key_version_id);
  if (state === undefined) {
    return `the active key ${active.key_version_id} is not a version of TOKEN_SIGNING_KEY`;
  }
  if (state !== 'ENABLED') return `the active key ${active.key_version_id} is ${state}`;
  const ageMs = now.getTime() - active.created_at.getTime();
  if (ageMs >= maxAgeMs) {
    return `the active key is ${formatDurationMs(ageMs)} old (TOKEN_SIGNING_KEY_MAX_AGE is ${formatDurationMs(maxAgeMs)})`;
  }
  return undefined;
}

export async function rotateTokenSigningKey(
  deps: TokenKeyDeps,
  options: { readonly keyName: string; readonly maxAgeMs: number },
): Promise<TokenKeyResult> {
  const { db, keyManager, logger } = deps;
  // KMS first, then the database: a version recorded in between is then seen as known, never as
  // an orphan.
  const versions = await listVersions(keyManager, options.keyName);
  const { rows: known } = await db.query<KnownKey>(
    'SELECT id::text, key_version_id, is_active, created_at FROM token_signing_keys ORDER BY id',
  );
  const recorded = new Set(known.map((row) => row.key_version_id));
  const states = new Map(versions.map((version) => [version.name, version.state]));
  const orphans = versions
    .filter((version) => version.state === 'ENABLED' && !recorded.has(version.name))
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());

  const now = deps.clock.now();
  const active = known.find((row) => row.is_active);
  const reason = rotationReason(active, states, now, options.maxAgeMs);
  const adopt = reason ? orphans[0] : undefined;
  const retire = orphans.filter((orphan) => orphan !== adopt);

  let orphansRecorded = 0;
  if (retire.length > 0) {
    orphansRecorded = await withTransaction(db, async (client) => {
      const { rows } = await client.query<{ id: string; key_version_id: string }>(
        `INSERT INTO token_signing_keys (key_version_id, is_active, created_at, updated_at)
         SELECT name, false, created, $3 FROM unnest($1::text[], $2::timestamptz[]) AS o(name, created)
         ON CONFLICT (key_version_id) DO NOTHING
         RETURNING id::text, key_version_id`,
        [retire.map((orphan) => orphan.name), retire.map((orphan) => orphan.createdAt), now],
      );
      for (const row of rows) {
        await audit(client, {
          action: 'recorded unrecorded token signing key version as rotated out',
          target: { id: `token_signing_keys:${row.id}`, display: row.key_version_id },
          now,
        });
      }
      return rows.length;
    });
    logger.warn(
      `recorded ${orphansRecorded} token signing key version(s) that KMS had but the database did not; cleanup-worker destroys them after SIGNING_TOKEN_KEY_MAX_AGE`,
      { event: 'token_key_orphans_recorded', versions: retire.map((orphan) => orphan.name) },
    );
  }

  if (!reason) {
    logger.debug('token signing key does not require rotation', { version: active?.key_version_id });
    return {
      created: 0,
      adopted: 0,
      activated: 0,
      orphansRecorded,
      activeVersion: active?.key_version_id ?? '',
    };
  }

  deps.signal.throwIfAborted();
  let version: string;
  if (adopt) {
    version = adopt.name;
    logger.warn(`adopting token signing key version ${version}, which KMS has but the database did not`, {
      event: 'token_key_adopted',
      version,
    });
  } else {
    try {
      version = await keyManager.createKeyVersion(options.keyName);
    } catch (error) {
      throw new Error(
        `could not create a version of TOKEN_SIGNING_KEY ${options.keyName} (${reason}); check the key exists, KMS quota, and that the job's service account may create versions (roles/cloudkms.admin)`,
        { cause: error },
      );
    }
  }

  const { id, uuid } = await withTransaction(db, async (client) => {
    const previous = await client.query<{ id: string; key_version_id: string }>(
      `UPDATE token_signing_keys SET is_active = false, updated_at = $1 WHERE is_active
       RETURNING id::text, key_version_id`,
      [now],
    );
    const inserted = await client.query<{ id: string; uuid: string }>(
      `INSERT INTO token_signing_keys (key_version_id, is_active, created_at, updated_at)
       VALUES ($1, true, $2, $2) RETURNING id::text, uuid::text`,
      [version, now],
    );
    const target = { id: `token_signing_keys:${inserted.rows[0].id}`, display: version };
    await audit(client, { action: 'created token signing key', target, now });
    await audit(client, { action: 'activated token signing key version', target, now });
    for (const row of previous.rows) {
      await audit(client, {
        action: 'deactivated token signing key version',
        target: { id: `token_signing_keys:${row.id}`, display: row.key_version_id },
        now,
      });
    }
    return inserted.rows[0];
  });
  logger.info(`rotated token signing key: ${reason}`, {
    event: 'token_key_rotated',
    version,
    kid: uuid,
    rowId: id,
    previous: active?.key_version_id,
  });
  return {
    created: adopt ? 0 : 1,
    adopted: adopt ? 1 : 0,
    activated: 1,
    orphansRecorded,
    activeVersion: version,
  };
}
