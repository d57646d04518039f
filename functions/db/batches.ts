/**
 * Deletes and updates in bounded batches, so no statement holds row locks (or bloats WAL) for long
 * on a big table, and an aborted run stops between batches having committed what it did.
 *
 * Tables with an `id` key are walked in id order (keyset pagination on the primary key), so the
 * whole pass scans the table once however many batches it takes. Tables keyed otherwise (the stats
 * tables) are walked by ctid; they are small. Table names and conditions are constants of the
 * calling code, never input; values always travel as parameters.
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
  return inBatches(db, target, options, set);
}

async function inBatches(
  db: Db,
  target: BatchTarget,
  options: BatchOptions,
  set: string | null,
): Promise<number> {
  const n = target.params.length;
  const action = (keyList: string) =>
    set === null
      ? `DELETE FROM ${target.table} WHERE ${keyList} RETURNING 1`
      : `UPDATE ${target.table} SET ${set} WHERE ${keyList} RETURNING 1`;

  let total = 0;
  if ((target.key ?? 'id') === 'ctid') {
    const sql = `WITH changed AS (
        ${action(`ctid = ANY(ARRAY(SELECT ctid FROM ${target.table} WHERE ${target.where} LIMIT $${n + 1}))`)}
      ) SELECT count(*)::int AS changed FROM changed`;
    for (;;) {
      options.signal?.throwIfAborted();
      const started = Date.now();
      const { rows } = await db.query<{ changed: number }>(sql, [...target.params, options.batchSize]);
      total += rows[0].changed;
      options.onBatch?.(rows[0].changed, Date.now() - started);
      if (rows[0].changed < options.batchSize) return total;
    }
  }

  const sql = `WITH batch AS (
      SELECT id FROM ${target.table} WHERE (${target.where}) AND id > $${n + 1}::bigint ORDER BY id LIMIT $${n + 2}
    ), changed AS (
      ${action('id IN (SELECT id FROM batch)')}
    )
    SELECT (SELECT count(*)::int FROM changed) AS changed,
           (SELECT count(*)::int FROM batch) AS scanned,
           (SELECT max(id)::text FROM batch) AS last`;
  let last = '-9223372036854775808';
  for (;;) {
    options.signal?.throwIfAborted();
    const started = Date.now();
    const { rows } = await db.query<{ changed: number; scanned: number; last: string | null }>(sql, [
      ...target.params,
      last,
      options.batchSize,
    ]);
    total += rows[0].changed;
    options.onBatch?.(rows[0].changed, Date.now() - started);
    if (rows[0].scanned < options.batchSize || rows[0].last === null) return total;
    last = rows[0].last;
  }
}
