/**
 * Audit entries written by the rotation jobs, with the actor ENX's rotation service used
 * (`rotation:1`, "Rotation"), so an operator reading audit_entries sees the same history as before.
 * Always written inside the transaction of the change they describe: an entry exists exactly when
 * its change does.
 */
import type { DbClient } from '../../core/db';

export const ROTATION_ACTOR = { id: 'rotation:1', display: 'Rotation' } as const;

export interface AuditTarget {
  /** `<table>:<id>`, for example `token_signing_keys:7`. */
  readonly id: string;
  /** What an operator recognises: a key version name, a secret type. */
  readonly display: string;
}

export async function audit(
  client: DbClient,
  entry: { realmId?: number; action: string; target: AuditTarget; now: Date },
): Promise<void> {
  await client.query(
    `INSERT INTO audit_entries (realm_id, actor_id, actor_display, action, target_id, target_display, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [
      entry.realmId ?? 0,
      ROTATION_ACTOR.id,
      ROTATION_ACTOR.display,
      entry.action,
      entry.target.id,
      entry.target.display,
      entry.now,
    ],
  );
}
