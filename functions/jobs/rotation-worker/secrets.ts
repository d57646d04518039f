/**
 * The secrets step (enx-jobs.md §7.3), one secret type at a time. A secret's life:
 *
 *   pending  ──(SECRET_ACTIVATION_TTL after creation)──▶ active
 *   active   ──(its max age, once a newer secret is active)──▶ retired
 *   retired  ──(SECRET_ACTIVATION_TTL after retirement)──▶ marked for deletion
 *   marked   ──(SECRET_DESTROY_TTL later)──▶ version destroyed, row purged
 *
 * Consumers accept every row not marked for deletion, newest active first, so a pending secret is
 * already accepted while it propagates and a retired one stays accepted for its grace period.
 * States use ENX's encoding (a pending row has created_at = updated_at; a retired one has
 * updated_at = its retirement), so an ENX server reads the same rows the same way.
 *
 * Fixes over the original: a secret retired in a run is never also marked for deletion in that run
 * (it gets its grace period); the only active secret of a type is not retired before a newer one is
 * active; and Secret Manager versions the database never recorded are adopted (when a new secret is
 * due) or recorded as marked for deletion, so they are destroyed on the normal schedule instead of
 * being orphaned.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../../core/clock';
import type { Db } from '../../core/db';
import { withTransaction } from '../../core/db';
import { describeError } from '../../core/errors';
import type { Logger } from '../../core/logger';
import type { SecretStore } from '../../ports/secret-store';
import { SecretNotFoundError } from '../../ports/secret-store';
import { audit } from './audit';
import type { SecretAges } from './config';
import type { SecretType } from './secret-types';

export interface SecretDeps {
  readonly db: Db;
  readonly secretStore: SecretStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly signal: AbortSignal;
}

export interface SecretTypeResult {
  created: number;
  adopted: number;
  activated: number;
  retired: number;
  markedForDeletion: number;
  purged: number;
  orphansRecorded: number;
}

export interface SecretOptions {
  readonly parent: string;
  readonly kind: SecretType;
  readonly ages: SecretAges;
  readonly activationTtlMs: number;
  readonly destroyTtlMs: number;
}

interface SecretRow {
  readonly id: string;
  readonly reference: string;
  active: boolean;
  readonly created_at: Date;
  updated_at: Date;
  readonly deleted_at: Date | null;
}

const isPending = (row: SecretRow) => !row.active && row.created_at.getTime() === row.updated_at.getTime();
const isRetired = (row: SecretRow) => !row.active && row.updated_at.getTime() > row.created_at.getTime();

async function listVersions(store: SecretStore, secret: string) {
  try {
    return await store.listSecretVersions(secret);
  } catch (error) {
    if (error instanceof SecretNotFoundError) return [];
    throw new Error(
      `could not list the versions of secret ${secret}; check SECRETS_PARENT and that the job's service account may list them (secretmanager.versions.list, in the enxJobsSecretRotator role infra grants)`,
      { cause: error },
    );
  }
}

export async function rotateSecretType(deps: SecretDeps, options: SecretOptions): Promise<SecretTypeResult> {
  const { db, logger, signal } = deps;
  const { kind, ages } = options;
  const secret = `${options.parent}/${kind.secretId}`;
  const result: SecretTypeResult = {
    created: 0,
    adopted: 0,
    activated: 0,
    retired: 0,
    markedForDeletion: 0,
    purged: 0,
    orphansRecorded: 0,
  };
  const target = (row: { id: string }) => ({ id: `secrets:${row.id}`, display: kind.type });

  // Secret Manager first, then the database: a version recorded in between is then known.
  const versions = await listVersions(deps.secretStore, secret);
  const { rows } = await db.query<SecretRow>(
    `SELECT id::text, reference, active, created_at, updated_at, deleted_at FROM secrets
      WHERE type = $1 ORDER BY active DESC, created_at DESC, id DESC`,
    [kind.type],
  );
  const recorded = new Set(rows.map((row) => row.reference));
  const orphans = versions
    .filter((version) => version.state !== 'DESTROYED' && !recorded.has(version.name))
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());

  const now = deps.clock.now();
  const at = (date: Date) => now.getTime() - date.getTime();
  const existing = rows.filter((row) => row.deleted_at === null);
  // The newest of every live row, pending ones included (ENX commit 880fb12d), so a second secret
  // is never created while the first waits for activation.
  const newestAgeMs =
    existing.length === 0 ? Infinity : Math.min(...existing.map((row) => at(row.created_at)));
  const due = newestAgeMs > ages.minAgeMs;
  const adopt = due ? orphans.find((orphan) => orphan.state === 'ENABLED') : undefined;
  const abandon = orphans.filter((orphan) => orphan !== adopt);

  if (abandon.length > 0) {
    result.orphansRecorded = await withTransaction(db, async (client) => {
      const inserted = await client.query<{ id: string }>(
        `INSERT INTO secrets (type, reference, active, created_at, updated_at, deleted_at)
         SELECT $1, name, false, created, $4, $4 FROM unnest($2::text[], $3::timestamptz[]) AS o(name, created)
         ON CONFLICT (type, reference) DO NOTHING RETURNING id::text`,
        [kind.type, abandon.map((orphan) => orphan.name), abandon.map((orphan) => orphan.createdAt), now],
      );
      for (const row of inserted.rows) {
        await audit(client, {
          action: 'recorded unrecorded secret version for deletion',
          target: target(row),
          now,
        });
      }
      return inserted.rows.length;
    });
    logger.warn(
      `${kind.type}: recorded ${result.orphansRecorded} version(s) of ${secret} that the database did not know, marked for deletion`,
      {
        event: 'secret_orphans_recorded',
        secretType: kind.type,
        versions: abandon.map((orphan) => orphan.name),
      },
    );
  }

  if (due) {
    signal.throwIfAborted();
    let reference: string;
    if (adopt) {
      reference = adopt.name;
      logger.warn(`${kind.type}: adopting ${reference}, which Secret Manager has but the database did not`, {
        event: 'secret_adopted',
        secretType: kind.type,
      });
    } else {
      try {
        reference = await deps.secretStore.addSecretVersion(
          options.parent,
          kind.secretId,
          randomBytes(kind.bytes),
        );
      } catch (error) {
        throw new Error(
          `could not add a version to secret ${secret}; check Secret Manager quota and that the job's service account may add versions (secretmanager.versions.add, in the enxJobsSecretRotator role infra grants)`,
          { cause: error },
        );
      }
    }
    // The first secret of a type is active at once: there is nothing else to use.
    const active = existing.length === 0;
    const row = await withTransaction(db, async (client) => {
      const inserted = await client.query<SecretRow>(
        `INSERT INTO secrets (type, reference, active, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
         RETURNING id::text, reference, active, created_at, updated_at, deleted_at`,
        [kind.type, reference, active, now],
      );
      await audit(client, { action: 'created secret', target: target(inserted.rows[0]), now });
      return inserted.rows[0];
    });
    existing.unshift(row);
    if (adopt) result.adopted += 1;
    else result.created += 1;
    logger.info(
      `${kind.type}: created secret ${reference}${active ? ' (active: the first of its type)' : ''}`,
      {
        event: 'secret_created',
        secretType: kind.type,
        reference,
      },
    );
  }

  /**
   * One state change plus its audit entry, guarded by the state it expects (not by timestamps: ENX
   * wrote microseconds, a JS Date holds milliseconds); false when the row had moved on.
   */
  const change = async (row: SecretRow, sql: string, action: string): Promise<boolean> => {
    signal.throwIfAborted();
    return withTransaction(db, async (client) => {
      const updated = await client.query(sql, [row.id, now]);
      if (updated.rowCount === 0) return false;
      await audit(client, { action, target: target(row), now });
      return true;
    });
  };

  for (const row of existing) {
    if (isPending(row) && at(row.created_at) >= options.activationTtlMs) {
      const done = await change(
        row,
        'UPDATE secrets SET active = true, updated_at = $2 WHERE id = $1 AND NOT active AND deleted_at IS NULL',
        'updated secret active status',
      );
      if (done) {
        Object.assign(row, { active: true, updated_at: now });
        result.activated += 1;
        logger.info(`${kind.type}: activated secret ${row.reference}`, {
          event: 'secret_activated',
          secretType: kind.type,
        });
      }
    }
  }

  if (ages.maxAgeMs !== undefined) {
    const maxAgeMs = ages.maxAgeMs;
    for (const row of existing) {
      const successor = existing.some((other) => other.active && other.created_at > row.created_at);
      if (row.active && at(row.created_at) >= maxAgeMs && successor) {
        const done = await change(
          row,
          'UPDATE secrets SET active = false, updated_at = $2 WHERE id = $1 AND active AND deleted_at IS NULL',
          'deactivated expired secret',
        );
        if (done) {
          Object.assign(row, { active: false, updated_at: now });
          result.retired += 1;
          logger.info(
            `${kind.type}: retired secret ${row.reference}; it stays accepted for SECRET_ACTIVATION_TTL`,
            {
              event: 'secret_retired',
              secretType: kind.type,
            },
          );
        }
      } else if (isRetired(row) && at(row.updated_at) >= options.activationTtlMs) {
        const done = await change(
          row,
          'UPDATE secrets SET deleted_at = $2 WHERE id = $1 AND NOT active AND deleted_at IS NULL',
          'marked secret for deletion',
        );
        if (done) {
          result.markedForDeletion += 1;
          logger.info(`${kind.type}: marked secret ${row.reference} for deletion`, {
            event: 'secret_marked_for_deletion',
            secretType: kind.type,
          });
        }
      }
    }
  }

  // Purge: rows marked for deletion more than SECRET_DESTROY_TTL ago (including those marked by
  // earlier runs). Destroy first, then delete the row: a run stopped in between destroys again
  // (idempotent) and deletes next time, and a row never outlives knowledge of its version.
  const { rows: purgeable } = await db.query<{ id: string; reference: string }>(
    `SELECT id::text, reference FROM secrets WHERE type = $1 AND deleted_at IS NOT NULL AND deleted_at < $2 ORDER BY id`,
    [kind.type, new Date(now.getTime() - options.destroyTtlMs)],
  );
  const failures: string[] = [];
  for (const row of purgeable) {
    signal.throwIfAborted();
    try {
      await deps.secretStore.destroySecretVersion(row.reference);
      await withTransaction(db, async (client) => {
        await client.query('DELETE FROM secrets WHERE id = $1 AND deleted_at IS NOT NULL', [row.id]);
        await audit(client, { action: 'purged secret', target: target(row), now });
      });
      result.purged += 1;
      logger.info(`${kind.type}: destroyed and purged secret ${row.reference}`, {
        event: 'secret_purged',
        secretType: kind.type,
      });
    } catch (error) {
      if (signal.aborted) throw error;
      failures.push(`${row.reference}: ${describeError(error)}`);
    }
  }
  if (failures.length > 0) {
    throw new Error(
      `could not purge ${failures.length} secret version(s) marked for deletion (check that the job's service account may destroy versions: secretmanager.versions.destroy, in the enxJobsSecretRotator role infra grants): ${failures.join('; ')}`,
    );
  }
  return result;
}
