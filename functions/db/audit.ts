/**
 * Entries in ENX's audit_entries table, written the way the server writes them: an actor (the
 * server's own jobs act as `system:1`), an action, the target row and, for changes of a value, a
 * diff. Callers write them inside the transaction of the change they describe, so an entry exists
 * exactly when its change does.
 */
import type { Db, DbClient } from '../core/db';

export interface AuditActor {
  readonly id: string;
  readonly display: string;
}

/** The actor the server writes for its own jobs (database.System, enx-jobs.md §0.6). */
export const SYSTEM_ACTOR: AuditActor = { id: 'system:1', display: 'System' };

export interface AuditEntry {
  /** 0 for system-wide entries. */
  readonly realmId?: number;
  readonly action: string;
  /** `<table>:<id>` and what an operator recognises (a name, a key version). */
  readonly target: { readonly id: string; readonly display: string };
  /** JSON text of what changed, when a value changed. */
  readonly diff?: string;
  readonly now: Date;
}

export async function writeAudit(db: Db | DbClient, actor: AuditActor, entry: AuditEntry): Promise<void> {
  await db.query(
    `INSERT INTO audit_entries (realm_id, actor_id, actor_display, action, target_id, target_display, diff, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [
      entry.realmId ?? 0,
      actor.id,
      actor.display,
      entry.action,
      entry.target.id,
      entry.target.display,
      entry.diff ?? null,
      entry.now,
    ],
  );
}
