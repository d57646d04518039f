/**
 * The modeler's SQL. Every write touches only the columns the modeler owns, never the whole realm
 * row: the original saved the realm object it had loaded at the start of the run, so an admin's
 * edit made meanwhile was silently undone (and the other way round). The limit is read, changed
 * and audited under the row's lock, so an admin saving the realm at the same moment waits for a
 * few milliseconds instead of being overwritten, and the audit's "from" is the value really
 * replaced.
 */
import type { Db } from '../../core/db';
import { withTransaction } from '../../core/db';
import { SYSTEM_ACTOR, writeAudit } from '../../db/audit';
import type { IssuedDay } from './abuse-model';
import { effectiveLimit, MAX_DAYS } from './abuse-model';
import type { AnomalyModel, ClaimDay } from './anomaly-model';
import { HISTORY_DAYS } from './anomaly-model';

/** The actor the server writes for its own jobs (database.System, enx-jobs.md §0.6). */

export interface RealmRow {
  readonly id: number;
  readonly name: string;
  readonly is_e2e: boolean;
  readonly abuse_prevention_enabled: boolean;
}

/** Live realms, by name (the original's ListRealms order). */
export async function listRealms(db: Db): Promise<RealmRow[]> {
  const { rows } = await db.query<RealmRow>(
    `SELECT id, name, is_e2e, abuse_prevention_enabled FROM realms
      WHERE deleted_at IS NULL ORDER BY name, id`,
  );
  return rows;
}

/** The realm's most recent complete days with statistics (before `today`), oldest first. */
export async function recentIssuedDays(db: Db, realmId: number, today: string): Promise<IssuedDay[]> {
  const { rows } = await db.query<{ date: string; codes_issued: number }>(
    `SELECT to_char(date, 'YYYY-MM-DD') AS date, codes_issued FROM realm_stats
      WHERE realm_id = $1 AND date < $2::date ORDER BY date DESC LIMIT $3`,
    [realmId, today, MAX_DAYS],
  );
  return rows.reverse().map((row) => ({ date: row.date, codesIssued: row.codes_issued }));
}

/** The realm's statistics from today − 90 days up to yesterday (today is partial). */
export async function claimDays(db: Db, realmId: number, today: string): Promise<ClaimDay[]> {
  const { rows } = await db.query<{ date: string; codes_issued: number; codes_claimed: number }>(
    `SELECT to_char(date, 'YYYY-MM-DD') AS date, codes_issued, codes_claimed FROM realm_stats
      WHERE realm_id = $1 AND date >= $2::date - $3::int AND date < $2::date`,
    [realmId, today, HISTORY_DAYS],
  );
  return rows.map((row) => ({
    date: row.date,
    codesIssued: row.codes_issued,
    codesClaimed: row.codes_claimed,
  }));
}

export type SavedLimit =
  /** Deleted, or abuse prevention switched off, since the realm list was read: nothing written. */
  | { readonly kind: 'gone' | 'disabled' }
  | {
      readonly kind: 'saved';
      readonly from: number;
      readonly to: number;
      /** ceil(to × factor): what the rate limiter must enforce. */
      readonly effective: number;
    };

/**
 * Sets the realm's abuse_prevention_limit and audits the change, in one transaction. A broken
 * factor fails before anything is written.
 */
export async function saveLimit(db: Db, realmId: number, limit: number, now: Date): Promise<SavedLimit> {
  return withTransaction(db, async (client) => {
    const { rows } = await client.query<{
      name: string;
      abuse_prevention_enabled: boolean;
      abuse_prevention_limit: number;
      factor: string;
    }>(
      `SELECT name, abuse_prevention_enabled, abuse_prevention_limit,
              abuse_prevention_limit_factor::text AS factor
         FROM realms WHERE id = $1 AND deleted_at IS NULL FOR UPDATE`,
      [realmId],
    );
    if (rows.length === 0) return { kind: 'gone' };
    const realm = rows[0];
    if (!realm.abuse_prevention_enabled) return { kind: 'disabled' };
    const effective = effectiveLimit(limit, realm.factor);
    const from = realm.abuse_prevention_limit;
    if (from !== limit) {
      await client.query('UPDATE realms SET abuse_prevention_limit = $2, updated_at = $3 WHERE id = $1', [
        realmId,
        limit,
        now,
      ]);
      await writeAudit(client, SYSTEM_ACTOR, {
        realmId,
        action: 'updated abuse prevention limit',
        target: { id: `realms:${realmId}`, display: realm.name },
        diff: JSON.stringify({ abuse_prevention_limit: { from, to: limit } }),
        now,
      });
    }
    return { kind: 'saved', from, to: limit, effective };
  });
}

/**
 * Saves the three anomaly columns (numeric(10,8)) when they change at that precision. Statistics,
 * not settings: they are not audited, as the original's SaveRealm did not audit them. Returns
 * whether the row changed.
 */
export async function saveAnomalyModel(
  db: Db,
  realmId: number,
  model: Extract<AnomalyModel, { kind: 'modelled' }>,
  now: Date,
): Promise<boolean> {
  const result = await db.query(
    `UPDATE realms
        SET last_codes_claimed_ratio = round($2::numeric, 8),
            codes_claimed_ratio_mean = round($3::numeric, 8),
            codes_claimed_ratio_stddev = round($4::numeric, 8),
            updated_at = $5
      WHERE id = $1 AND deleted_at IS NULL
        AND (last_codes_claimed_ratio, codes_claimed_ratio_mean, codes_claimed_ratio_stddev)
            IS DISTINCT FROM (round($2::numeric, 8), round($3::numeric, 8), round($4::numeric, 8))`,
    [realmId, model.last, model.mean, model.stddev, now],
  );
  return (result.rowCount ?? 0) > 0;
}
