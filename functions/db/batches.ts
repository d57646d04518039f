/**
 * Deletes and updates in bounded batches, so no statement holds row locks (or bloats WAL) for long
 * on a big table, and an aborted run stops between batches having committed what it did.
 *
 * Tables with an `id` key are walked in id order (keyset pagination on the primary key), so the
 * whole pass scans the table once however many batches it takes. Tables keyed otherwise (the stats
 * tables) are walked by ctid; they are small. Table names and conditions are constants of the
 * calling code, never input; values always travel as parameters.
 *
 * The condition is checked twice in each statement: once to choose the batch, and again on the
 * row being changed. A row that a concurrent transaction changes while the batch waits for its
 * lock (an admin restoring an API key, say) is re-checked on its new version by PostgreSQL and
 * left alone if it no longer matches; choosing by key alone would delete it anyway.
 */
import type { Db } from '../core/db';

export interface BatchTarget {
  readonly table: string;
  /** A SQL condition over the table's columns, with $1.. placeholders for `params`. */
  readonly where: string;
  readonly params: readonly unknown[];
  /** How rows are walked: by the integer primary key `id` (default) or by ctid. */
  readonly key?: 'id' | 'ctid';
}

export interface BatchOptions {
  readonly batchSize: number;
  readonly signal?: AbortSignal;
  /** Called after each committed batch; benchmarks use it to time statements. */
  readonly onBatch?: (rows: number, elapsedMs: number) => void;
}

export async function deleteInBatches(db: Db, target: BatchTarget, options: BatchOptions): Promise<number> {
  return inBatches(db, target, options, null);
}

/** `set` is a SET list such as "code = '', long_code = ''". */
export async function updateInBatches(
  db: Db,
  target: BatchTarget,
  set: string,
  options: BatchOptions,
): Promise<number> {
  // An updated row gets a new ctid; if it still matched it would be chosen again, forever. The id
  // keyset only moves forward, so it cannot loop.
  if (target.key === 'ctid') {
    throw new Error(`updateInBatches on ${target.table}: updates must walk the id key, not ctid`);
  }
  return inBatches(db, target, options, set);
}

async function inBatches(
  db: Db,
  target: BatchTarget,
  options: BatchOptions,
  set: string | null,
): Promise<number> {
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
    throw new Error(`batch size must be a positive whole number, not ${options.batchSize}`);
  }
  const n = target.params.length;
  const byCtid = (target.key ?? 'id') === 'ctid';
  const action = (chosen: string) => {
    const where = `${chosen} AND (${target.where})`;
    return set === null
      ? `DELETE FROM ${target.table} WHERE ${where} RETURNING 1`
      : `UPDATE ${target.table} SET ${set} WHERE ${where} RETURNING 1`;
  };

  // `ctid = ANY(ARRAY(...))` rather than `ctid IN (...)`: only the former is a TID scan; the
  // latter plans as a join over the whole table, per batch.
  const sql = byCtid
    ? `WITH batch AS MATERIALIZED (
           SELECT ctid FROM ${target.table} WHERE (${target.where}) LIMIT $${n + 1}
         ), changed AS (
           ${action('ctid = ANY(ARRAY(SELECT ctid FROM batch))')}
         )
         SELECT (SELECT count(*)::int FROM changed) AS changed,
                (SELECT count(*)::int FROM batch) AS scanned,
                NULL::text AS last`
    : `WITH batch AS MATERIALIZED (
           SELECT id FROM ${target.table} WHERE (${target.where}) AND id > $${n + 2}::bigint
            ORDER BY id LIMIT $${n + 1}
         ), changed AS (
           ${action('id IN (SELECT id FROM batch)')}
         )
         SELECT (SELECT count(*)::int FROM changed) AS changed,
                (SELECT count(*)::int FROM batch) AS scanned,
                (SELECT max(id)::text FROM batch) AS last`;

  let total = 0;
  let last = '-9223372036854775808';
  for (;;) {
    options.signal?.throwIfAborted();
    const started = Date.now();
    const params = byCtid
      ? [...target.params, options.batchSize]
      : [...target.params, options.batchSize, last];
    const { rows } = await db.query<{ changed: number; scanned: number; last: string | null }>(sql, params);
    total += rows[0].changed;
    options.onBatch?.(rows[0].changed, Date.now() - started);
    // A short batch means nothing matched beyond it. Counting the rows chosen rather than those
    // changed keeps going when a concurrent change made some chosen rows no longer match.
    if (rows[0].scanned < options.batchSize) return total;
    if (rows[0].last !== null) last = rows[0].last;
  }
}
