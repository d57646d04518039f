/**
 * Audit entries written by the rotation jobs, with the actor ENX's rotation service used
 * (`rotation:1`, "Rotation"), so an operator reading audit_entries sees the same history as before.
 * Always written inside the transaction of the change they describe: an entry exists exactly when
 * its change does.
 */
import type { DbClient } from '../../core/db';
import { writeAudit } from '../../db/audit';
import type { AuditActor, AuditEntry } from '../../db/audit';

export const ROTATION_ACTOR: AuditActor = { id: 'rotation:1', display: 'Rotation' };

export type AuditTarget = AuditEntry['target'];

export function audit(client: DbClient, entry: Omit<AuditEntry, 'diff'>): Promise<void> {
  return writeAudit(client, ROTATION_ACTOR, entry);
}
