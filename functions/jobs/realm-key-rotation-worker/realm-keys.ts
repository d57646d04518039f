/**
 * One realm's certificate keys (enx-jobs.md §7.2), in three stages that each stand alone:
 *
 * - create: when the realm has no key, or its newest key is active and older than
 *   VERIFICATION_SIGNING_KEY_MAX_AGE, add a KMS version and record it (active at once only when the
 *   realm has no other key). KMS versions the database never recorded are adopted when a key is due
 *   (so repeated failures never pile up versions) and otherwise recorded as deleted and destroyed:
 *   an unrecorded version was never published or used.
 * - activate: the newest key, once VERIFICATION_ACTIVATION_DELAY old, becomes the one active key;
 *   the others are deactivated in the same transaction (and the database allows one active key per
 *   realm).
 * - destroy: older inactive keys retired longer ago than the delay (and than the realm's certificate
 *   duration: certificates it signed must stay verifiable) are soft-deleted, which withdraws them
 *   from publication, and then their KMS versions are destroyed. A version whose destruction failed
 *   belongs to a soft-deleted row and is destroyed by the next run; cleanup-worker removes the rows.
 */
import type { Clock } from '../../core/clock';
import type { Db, DbClient } from '../../core/db';
import { withTransaction } from '../../core/db';
import type { Logger } from '../../core/logger';
import type { KeyManager } from '../../ports/key-manager';
import { KeyNotFoundError } from '../../ports/key-manager';
import { audit } from '../rotation-worker/audit';
import type { RealmKeyRotationConfig } from './config';

export interface RealmKeyDeps {
  readonly db: Db;
  readonly keyManager: KeyManager;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly signal: AbortSignal;
}

export interface Realm {
  readonly id: number;
  /** Seconds a certificate signed by the realm's key stays valid. */
  readonly certificateDurationS: number;
}

export interface CreateResult {
  readonly created: number;
  readonly adopted: number;
  readonly orphansDestroyed: number;
}

interface KeyRow {
  readonly id: number;
  readonly key_id: string;
  readonly active: boolean;
  readonly created_at: Date;
  readonly updated_at: Date;
  readonly deleted_at: Date | null;
}

export function realmKeyName(keyRing: string, realmId: number): string {
  return `${keyRing}/cryptoKeys/realm-${realmId}`;
}

async function listVersions(keyManager: KeyManager, keyName: string) {
  try {
    return await keyManager.listKeyVersions(keyName);
  } catch (error) {
    if (error instanceof KeyNotFoundError) return [];
    throw new Error(
      `could not list the versions of ${keyName}; check DB_KEYRING and that the job's service account may list them (roles/cloudkms.admin)`,
      { cause: error },
    );
  }
}

/** Destroys a version; one already gone from KMS counts as destroyed. */
async function destroyVersion(keyManager: KeyManager, version: string): Promise<void> {
  try {
    await keyManager.destroyKeyVersion(version);
  } catch (error) {
    if (error instanceof KeyNotFoundError) return;
    throw new Error(
      `could not destroy key version ${version}; check that the job's service account may destroy versions (roles/cloudkms.admin)`,
      { cause: error },
    );
  }
}

async function keysOf(db: Db | DbClient, realmId: number): Promise<KeyRow[]> {
  const { rows } = await db.query<KeyRow>(
    `SELECT id, key_id, active, created_at, updated_at, deleted_at FROM signing_keys
      WHERE realm_id = $1 ORDER BY created_at DESC, id DESC`,
    [realmId],
  );
  return rows;
}

const target = (id: number, version: string) => ({ id: `signing_keys:${id}`, display: version });

export async function createRealmKey(
  deps: RealmKeyDeps,
  config: RealmKeyRotationConfig,
  realm: Realm,
): Promise<CreateResult> {
  const { db, keyManager, logger } = deps;
  const keyName = realmKeyName(config.keyRing, realm.id);
  const versions = await listVersions(keyManager, keyName);
  const rows = await keysOf(db, realm.id);
  const recorded = new Set(rows.map((row) => row.key_id));
  const orphans = versions
    .filter((version) => version.state === 'ENABLED' && !recorded.has(version.name))
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());

  const now = deps.clock.now();
  const live = rows.filter((row) => row.deleted_at === null);
  const newest = live[0];
  const due = !newest || (newest.active && newest.created_at.getTime() + config.maxAgeMs < now.getTime());
  const adopt = due ? orphans[0] : undefined;
  const abandon = orphans.filter((orphan) => orphan !== adopt);

  // Recorded (as deleted) before destroying, so a run cut off earlier that still holds one of these
  // versions can no longer record it (signing_keys.key_id is unique).
  let orphansDestroyed = 0;
  if (abandon.length > 0) {
    await withTransaction(db, async (client) => {
      const inserted = await client.query<{ id: number; key_id: string }>(
        `INSERT INTO signing_keys (realm_id, key_id, active, created_at, updated_at, deleted_at)
         SELECT $1, name, false, created, $4, $4 FROM unnest($2::text[], $3::timestamptz[]) AS o(name, created)
         ON CONFLICT (key_id) DO NOTHING RETURNING id, key_id`,
        [realm.id, abandon.map((orphan) => orphan.name), abandon.map((orphan) => orphan.createdAt), now],
      );
      for (const row of inserted.rows) {
        await audit(client, {
          realmId: realm.id,
          action: 'recorded unrecorded signing key version for destruction',
          target: target(row.id, row.key_id),
          now,
        });
      }
    });
    for (const orphan of abandon) {
      deps.signal.throwIfAborted();
      await destroyVersion(keyManager, orphan.name);
      orphansDestroyed += 1;
    }
    logger.warn(
      `realm ${realm.id}: destroyed ${orphansDestroyed} key version(s) that KMS had but the database did not`,
      {
        event: 'realm_key_orphans_destroyed',
        realmId: realm.id,
        versions: abandon.map((orphan) => orphan.name),
      },
    );
  }

  if (!due) return { created: 0, adopted: 0, orphansDestroyed };
  if (live.length >= config.maxKeyVersions) {
    throw new Error(
      `too many certificate signing keys: realm ${realm.id} has ${live.length} not yet destroyed and DB_MAX_KEY_VERSIONS is ${config.maxKeyVersions}; check why older keys are not being destroyed, or raise DB_MAX_KEY_VERSIONS`,
    );
  }
  deps.signal.throwIfAborted();
  let version: string;
  if (adopt) {
    version = adopt.name;
  } else {
    try {
      await keyManager.createSigningKey(config.keyRing, `realm-${realm.id}`);
      version = await keyManager.createKeyVersion(keyName);
    } catch (error) {
      throw new Error(
        `could not create a version of ${keyName}; check DB_KEYRING exists, KMS quota, and that the job's service account may create keys (roles/cloudkms.admin)`,
        { cause: error },
      );
    }
  }
  const row = await withTransaction(db, async (client) => {
    // Serialises with anything else changing this realm's keys, and the count is then exact.
    await client.query('SELECT id FROM realms WHERE id = $1 FOR UPDATE', [realm.id]);
    const { rows: counted } = await client.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM signing_keys WHERE realm_id = $1 AND deleted_at IS NULL',
      [realm.id],
    );
    if (counted[0].n >= config.maxKeyVersions) {
      throw new Error(
        `too many certificate signing keys: realm ${realm.id} has ${counted[0].n} and DB_MAX_KEY_VERSIONS is ${config.maxKeyVersions}`,
      );
    }
    const inserted = await client.query<{ id: number; active: boolean }>(
      `INSERT INTO signing_keys (realm_id, key_id, active, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
       RETURNING id, active`,
      [realm.id, version, counted[0].n === 0, now],
    );
    await audit(client, {
      realmId: realm.id,
      action: 'created signing key',
      target: target(inserted.rows[0].id, version),
      now,
    });
    return inserted.rows[0];
  });
  logger.info(
    `realm ${realm.id}: ${adopt ? 'adopted unrecorded' : 'created new'} verification signing key${row.active ? ' (active: the realm had no key)' : ''}`,
    { event: 'realm_key_created', realmId: realm.id, version, kid: `r${realm.id}v${row.id}` },
  );
  return { created: adopt ? 0 : 1, adopted: adopt ? 1 : 0, orphansDestroyed };
}

export async function activateRealmKey(
  deps: RealmKeyDeps,
  config: RealmKeyRotationConfig,
  realm: Realm,
): Promise<number> {
  const now = deps.clock.now();
  const newest = (await keysOf(deps.db, realm.id)).find((row) => row.deleted_at === null);
  if (!newest || newest.active || newest.created_at.getTime() + config.activationDelayMs >= now.getTime()) {
    return 0;
  }
  deps.signal.throwIfAborted();
  const activated = await withTransaction(deps.db, async (client) => {
    await client.query('SELECT id FROM realms WHERE id = $1 FOR UPDATE', [realm.id]);
    const previous = await client.query<{ id: number; key_id: string }>(
      `UPDATE signing_keys SET active = false, updated_at = $3
        WHERE realm_id = $1 AND id <> $2 AND active AND deleted_at IS NULL RETURNING id, key_id`,
      [realm.id, newest.id, now],
    );
    const updated = await client.query(
      `UPDATE signing_keys SET active = true, updated_at = $3
        WHERE realm_id = $1 AND id = $2 AND NOT active AND deleted_at IS NULL`,
      [realm.id, newest.id, now],
    );
    if (updated.rowCount === 0) return false;
    await audit(client, {
      realmId: realm.id,
      action: 'updated active signing key',
      target: target(newest.id, newest.key_id),
      now,
    });
    for (const row of previous.rows) {
      await audit(client, {
        realmId: realm.id,
        action: 'deactivated signing key',
        target: target(row.id, row.key_id),
        now,
      });
    }
    return true;
  });
  if (!activated) return 0;
  deps.logger.info(`realm ${realm.id}: activated new realm signing key`, {
    event: 'realm_key_activated',
    realmId: realm.id,
    kid: `r${realm.id}v${newest.id}`,
  });
  return 1;
}

export async function destroyRealmKeys(
  deps: RealmKeyDeps,
  config: RealmKeyRotationConfig,
  realm: Realm,
): Promise<number> {
  const { db, keyManager } = deps;
  const now = deps.clock.now();
  const graceMs = Math.max(config.activationDelayMs, realm.certificateDurationS * 1000);
  const rows = await keysOf(db, realm.id);
  const live = rows.filter((row) => row.deleted_at === null);
  const expired = live
    .slice(1)
    .filter((row) => !row.active && row.updated_at.getTime() + graceMs < now.getTime());
  let destroyed = 0;
  for (const row of expired) {
    deps.signal.throwIfAborted();
    const withdrawn = await withTransaction(db, async (client) => {
      const updated = await client.query(
        'UPDATE signing_keys SET deleted_at = $2 WHERE id = $1 AND NOT active AND deleted_at IS NULL',
        [row.id, now],
      );
      if (updated.rowCount === 0) return false;
      await audit(client, {
        realmId: realm.id,
        action: 'destroyed signing key',
        target: target(row.id, row.key_id),
        now,
      });
      return true;
    });
    if (!withdrawn) continue;
    await destroyVersion(keyManager, row.key_id);
    destroyed += 1;
    deps.logger.info(`realm ${realm.id}: destroyed signing key`, {
      event: 'realm_key_destroyed',
      realmId: realm.id,
      kid: `r${realm.id}v${row.id}`,
    });
  }
  // Versions of soft-deleted rows that KMS still has: a destruction an earlier run did not finish.
  const deleted = rows.filter((row) => row.deleted_at !== null);
  if (deleted.length > 0) {
    const enabled = new Set(
      (await listVersions(keyManager, realmKeyName(config.keyRing, realm.id)))
        .filter((version) => version.state === 'ENABLED')
        .map((version) => version.name),
    );
    for (const row of deleted.filter((candidate) => enabled.has(candidate.key_id))) {
      deps.signal.throwIfAborted();
      await destroyVersion(keyManager, row.key_id);
      destroyed += 1;
      deps.logger.warn(`realm ${realm.id}: finished destroying key version ${row.key_id} of a deleted key`, {
        event: 'realm_key_destroyed',
        realmId: realm.id,
      });
    }
  }
  return destroyed;
}
