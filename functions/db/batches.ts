/**
 * Deletes and updates in bounded batches, so no statement holds row locks (or bloats WAL) for long
 * on a big table, and an aborted run stops between batches having committed what it did.
 *
 * On PostgreSQL 14 and later the heap is walked in ranges of pages (TID range scans): one read of
 * each row, like a single DELETE, but in short statements. On older servers, tables with an `id`
 * key are walked in fixed ranges of ids, and the others (the stats tables, small) by ctid. Table names and conditions are constants of the
 * calling code, never input; values always travel as parameters.
 *
 * The condition is part of every changing statement, so a row that a concurrent transaction
 * changes while the batch waits for its lock (an admin restoring an API key, say) is re-checked on
 * its new version by PostgreSQL and left alone if it no longer matches.
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
  /**
   * How the table is walked. Normally chosen from the server: `pages` (PostgreSQL 14+, TID range
   * scans) or `keys` (older servers). Tests force each in turn.
   */
  readonly strategy?: 'pages' | 'keys';
  /**
   * Asked before every batch but the first: true ends the walk there, its batches committed, with
   * `complete: false`. A caller sharing a time budget between walks (cleanup-worker) yields this way;
   * the first batch always runs, so every call makes progress.
   */
  readonly yieldWhen?: () => boolean;
}

/** What a walk did: rows changed, and whether it covered the whole table or yielded before. */
export interface BatchResult {
  readonly count: number;
  readonly complete: boolean;
}

export async function deleteInBatches(db: Db, target: BatchTarget, options: BatchOptions): Promise<number> {
  return (await inBatches(db, target, options, null)).count;
}

/** deleteInBatches that may yield (BatchOptions.yieldWhen) and says whether it finished. */
export function deleteWithin(db: Db, target: BatchTarget, options: BatchOptions): Promise<BatchResult> {
  return inBatches(db, target, options, null);
}

/** `set` is a SET list such as "code = '', long_code = ''". */
export async function updateInBatches(
  db: Db,
  target: BatchTarget,
  set: string,
  options: BatchOptions,
): Promise<number> {
  return (await updateWithin(db, target, set, options)).count;
}

/** updateInBatches that may yield (BatchOptions.yieldWhen) and says whether it finished. */
export function updateWithin(
  db: Db,
  target: BatchTarget,
  set: string,
  options: BatchOptions,
): Promise<BatchResult> {
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
): Promise<BatchResult> {
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
    throw new Error(`batch size must be a positive whole number, not ${options.batchSize}`);
  }
  const action = (chosen: string, returning = true) => {
    const where = `${chosen} AND (${target.where})`;
    const verb =
      set === null
        ? `DELETE FROM ${target.table} WHERE ${where}`
        : `UPDATE ${target.table} SET ${set} WHERE ${where}`;
    return returning ? `${verb} RETURNING 1` : verb;
  };
  const strategy = options.strategy ?? ((await supportsTidRangeScans(db)) ? 'pages' : 'keys');
  if (strategy === 'pages') return walkByPages(db, target, options, action);
  return (target.key ?? 'id') === 'ctid'
    ? walkByCtid(db, target, options, action)
    : walkByIdRanges(db, target, options, action);
}

const tidRangeSupport = new WeakMap<Db, Promise<boolean>>();

/** TID range scans arrived in PostgreSQL 14; on older servers a ctid range is a full scan. */
function supportsTidRangeScans(db: Db): Promise<boolean> {
  let known = tidRangeSupport.get(db);
  if (!known) {
    known = db
      .query<{ version: string }>("SELECT current_setting('server_version_num') AS version")
      .then(({ rows }) => Number(rows[0].version) >= 140000);
    tidRangeSupport.set(db, known);
  }
  return known;
}

/** Used when the planner has never measured the table (reltuples unknown). */
const DEFAULT_ROWS_PER_PAGE = 60;

/**
 * Walks the table's heap in ranges of pages (a TID range scan each): exactly the sequential scan a
 * single DELETE would make, cut into statements of about batchSize rows' worth of pages. Every row
 * is read once, each statement is short however many rows match, and it works for any table, with
 * or without an id. Pages added after the walk started are left for the next run. An update must
 * not leave a row matching its condition (a moved row version could be met again further on).
 */
async function walkByPages(
  db: Db,
  target: BatchTarget,
  options: BatchOptions,
  action: Action,
): Promise<BatchResult> {
  const n = target.params.length;
  const { rows: size } = await db.query<{ pages: string; tuples: number; relpages: number }>(
    `SELECT (pg_relation_size(c.oid) / current_setting('block_size')::int)::text AS pages,
            c.reltuples AS tuples, c.relpages
       FROM pg_class c WHERE c.oid = $1::regclass`,
    [target.table],
  );
  const pages = Number(size[0].pages);
  const { tuples, relpages } = size[0];
  const rowsPerPage = tuples > 0 && relpages > 0 ? tuples / relpages : DEFAULT_ROWS_PER_PAGE;
  const step = Math.max(1, Math.floor(options.batchSize / rowsPerPage));
  const sql = action(`ctid >= $${n + 1}::tid AND ctid < $${n + 2}::tid`, false);
  let total = 0;
  // At least one statement, even on an empty table, so a broken condition (a renamed column, a
  // missing table) fails every run instead of waiting for the first matching row.
  for (let page = 0; page < Math.max(pages, 1); page += step) {
    if (page > 0 && options.yieldWhen?.()) return { count: total, complete: false };
    const { changed } = await batchStatement(
      db,
      options,
      sql,
      [...target.params, `(${page},0)`, `(${page + step},0)`],
      (result) => result.rowCount ?? 0,
    );
    total += changed;
  }
  return { count: total, complete: true };
}

type Action = (chosen: string, returning?: boolean) => string;

/**
 * One batch statement, with the bookkeeping every walk shares: stop first if the run was aborted
 * (earlier batches stay committed), time the statement, and report the rows it changed.
 */
async function batchStatement<Row extends Record<string, unknown>>(
  db: Db,
  options: BatchOptions,
  sql: string,
  params: readonly unknown[],
  changedOf: (result: { rows: Row[]; rowCount: number | null }) => number,
): Promise<{ rows: Row[]; changed: number }> {
  options.signal?.throwIfAborted();
  const started = Date.now();
  const result = await db.query<Row>(sql, [...params]);
  const changed = changedOf(result);
  options.onBatch?.(changed, Date.now() - started);
  return { rows: result.rows, changed };
}

/**
 * Walks the primary key in fixed ranges of batchSize ids: each statement is one index range scan
 * that reads its rows once and changes at most batchSize of them, so every statement stays short
 * however large the table and however many of its rows match. Gaps in the ids are skipped with
 * one index probe per statement (the next id after the range). Rows added after the walk started
 * (above the largest id it saw) are left for the next run.
 */
async function walkByIdRanges(
  db: Db,
  target: BatchTarget,
  options: BatchOptions,
  action: Action,
): Promise<BatchResult> {
  const n = target.params.length;
  const { rows: bounds } = await db.query<{ low: string | null; high: string | null }>(
    `SELECT min(id)::text AS low, max(id)::text AS high FROM ${target.table}`,
  );
  if (bounds[0].low === null || bounds[0].high === null) return { count: 0, complete: true };
  const high = BigInt(bounds[0].high);
  const size = BigInt(options.batchSize);
  const sql = `WITH changed AS (
      ${action(`id > $${n + 1}::bigint AND id <= $${n + 2}::bigint`)}
    )
    SELECT (SELECT count(*)::int FROM changed) AS changed,
           (SELECT min(id)::text FROM ${target.table} WHERE id > $${n + 2}::bigint) AS next`;

  let total = 0;
  let after = BigInt(bounds[0].low) - 1n;
  let first = true;
  while (after < high) {
    if (!first && options.yieldWhen?.()) return { count: total, complete: false };
    first = false;
    const { rows, changed } = await batchStatement<{ changed: number; next: string | null }>(
      db,
      options,
      sql,
      [...target.params, after.toString(), (after + size).toString()],
      (result) => result.rows[0].changed,
    );
    total += changed;
    if (rows[0].next === null) break;
    after = BigInt(rows[0].next) - 1n;
  }
  return { count: total, complete: true };
}

/**
 * Tables without an id (the stats tables, keyed by date) are small: batches of matching rows by
 * ctid. `ctid = ANY(ARRAY(...))` rather than `ctid IN (...)`: only the former is a TID scan; the
 * latter plans as a join over the whole table, per batch.
 */
async function walkByCtid(
  db: Db,
  target: BatchTarget,
  options: BatchOptions,
  action: Action,
): Promise<BatchResult> {
  const n = target.params.length;
  const sql = `WITH batch AS MATERIALIZED (
      SELECT ctid FROM ${target.table} WHERE (${target.where}) LIMIT $${n + 1}
    ), changed AS (
      ${action('ctid = ANY(ARRAY(SELECT ctid FROM batch))')}
    )
    SELECT (SELECT count(*)::int FROM changed) AS changed,
           (SELECT count(*)::int FROM batch) AS chosen`;
  let total = 0;
  for (let first = true; ; first = false) {
    if (!first && options.yieldWhen?.()) return { count: total, complete: false };
    const { rows, changed } = await batchStatement<{ changed: number; chosen: number }>(
      db,
      options,
      sql,
      [...target.params, options.batchSize],
      (result) => result.rows[0].changed,
    );
    total += changed;
    // A short batch means nothing matched beyond it. Counting the rows chosen rather than those
    // changed keeps going when a concurrent change made some chosen rows no longer match.
    if (rows[0].chosen < options.batchSize) return { count: total, complete: true };
  }
}
