/**
 * Benchmark (b): how fast cleanup-worker's VERIFICATION_CODE step purges, against the limit.
 *
 * A seed database gets N expired verification_codes (one INSERT ... SELECT generate_series), is
 * frozen and analysed, and is then cloned (CREATE DATABASE ... TEMPLATE) once per timed run, so
 * every run starts from byte-identical data:
 * - limit: one unbatched `DELETE FROM verification_codes WHERE expires_at < $1 AND long_expires_at < $1`;
 * - ours: deleteInBatches with the step's target, at 5000, 10000 and 20000 rows per statement (the
 *   cleanup default among them), timing every batch statement through onBatch.
 * Before each timed run the clone is VACUUM ANALYZEd, read once and checkpointed, so both sides
 * start equal. Runs alternate order between repetitions (forward, then reversed).
 */
import { cleanupConfig } from '../functions/jobs/cleanup-worker/config';
import { performance } from 'node:perf_hooks';
import { Client, Pool } from 'pg';
import { deleteInBatches } from '../functions/db/batches';
import type { PostgresServer } from '../local/embedded-postgres';
import type { Summary } from './stats';
import { fmt, fmtInt, median, summarize, table, verdict } from './stats';

export const PURGE_TARGET_RATIO = 0.7;
export const PURGE_TARGET_SLOWEST_MS = 1000;
/** CLEANUP_BATCH_SIZE's default (functions/jobs/cleanup-worker/config.ts). */
/** The batch size cleanup-worker uses unless CLEANUP_BATCH_SIZE says otherwise. */
export const CLEANUP_DEFAULT_BATCH_SIZE = cleanupConfig.parse({
  TOKEN_SIGNING_KEY: 'projects/p/locations/l/keyRings/r/cryptoKeys/k',
}).batchSize;

const WHERE = 'expires_at < $1 AND long_expires_at < $1';
/** Every seeded row expired well before this instant. */
const CUTOFF = new Date(Date.UTC(2024, 0, 1));
/** Seeded rows were created over the 30 days ending 2 days before CUTOFF, in id order. */
const SEED_FROM = new Date(CUTOFF.getTime() - 32 * 86_400_000);
const SEED_SPAN_SECONDS = 30 * 86_400;

export interface CleanupPurgeOptions {
  readonly pg: PostgresServer;
  /** A migrated database to seed from. */
  readonly template: string;
  readonly rows: number;
  readonly batchSizes: readonly number[];
  readonly repetitions: number;
  /**
   * The limit is one statement of a second or so, the noisiest number here; it gets extra runs
   * (cheap) so its median is not one unlucky sample.
   */
  readonly limitRepetitions: number;
  readonly log: (line: string) => void;
}

export interface PurgeTrial {
  readonly ms: number;
  readonly rows: number;
  readonly rowsPerSecond: number;
  /** One entry per statement: the whole DELETE for the limit, every batch for ours. */
  readonly statementMs: readonly number[];
  readonly walBytes: number;
}

export interface PurgeVariant {
  readonly name: string;
  readonly batchSize?: number;
  readonly trials: PurgeTrial[];
}

export interface PurgeVariantResult {
  readonly name: string;
  readonly batchSize?: number;
  readonly trials: readonly PurgeTrial[];
  /** Median over repetitions. */
  readonly rowsPerSecond: number;
  readonly ms: number;
  readonly statements: number;
  readonly statementSummary: Summary;
  readonly slowestStatementMs: number;
  readonly walBytes: number;
  /** rows/s ÷ the limit's rows/s; 1 for the limit itself. */
  readonly ratio: number;
}

export interface CleanupPurgeResult {
  readonly rows: number;
  readonly seedMs: number;
  readonly tableBytes: number;
  readonly limit: PurgeVariantResult;
  readonly ours: readonly PurgeVariantResult[];
  readonly repetitions: number;
  readonly limitRepetitions: number;
}

async function withClient<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

function quote(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

async function dropDatabase(pg: PostgresServer, name: string): Promise<void> {
  await withClient(pg.url('postgres'), (client) =>
    client.query(`DROP DATABASE IF EXISTS ${quote(name)} WITH (FORCE)`),
  );
}

async function seed(
  pg: PostgresServer,
  name: string,
  template: string,
  rows: number,
  log: (line: string) => void,
) {
  await dropDatabase(pg, name);
  await pg.createDatabase(name, template);
  return withClient(pg.url(name), async (client) => {
    const started = performance.now();
    // Realistic rows: 8-digit short codes, 16-character long codes, a random uuid (unique index),
    // a realm among 20, a test type, short codes valid 15 minutes and long codes 24 hours.
    await client.query(
      `INSERT INTO verification_codes
         (created_at, updated_at, realm_id, code, long_code, uuid, claimed, test_type, test_date,
          expires_at, long_expires_at, issuing_user_id)
       SELECT t, t, 1 + (g % 20),
              lpad(((g::bigint * 7919) % 100000000)::text, 8, '0'),
              substr(md5(g::text), 1, 16),
              gen_random_uuid(),
              g % 3 = 0,
              (ARRAY['confirmed', 'likely', 'negative'])[1 + g % 3],
              t - interval '2 days',
              t + interval '15 minutes',
              t + interval '24 hours',
              1 + (g % 50)
         FROM generate_series(1, $1::int) AS g,
              LATERAL (SELECT $2::timestamptz + (g * ($3::float8 / $1::int)) * interval '1 second' AS t) AS times`,
      [rows, SEED_FROM, SEED_SPAN_SECONDS],
    );
    const insertedMs = performance.now() - started;
    // Hint bits, visibility map and statistics settled once; every clone inherits them.
    await client.query('VACUUM (FREEZE, ANALYZE) verification_codes');
    const { rows: size } = await client.query<{ bytes: string }>(
      "SELECT pg_total_relation_size('verification_codes')::text AS bytes",
    );
    const seedMs = performance.now() - started;
    log(
      `  cleanup purge: seeded ${fmtInt(rows)} rows in ${fmt(insertedMs / 1000, 1)} s ` +
        `(+ freeze ${fmt((seedMs - insertedMs) / 1000, 1)} s), ${fmt(Number(size[0].bytes) / 1048576, 0)} MB with indexes`,
    );
    return { seedMs, tableBytes: Number(size[0].bytes) };
  });
}

async function runTrial(
  pg: PostgresServer,
  seedDb: string,
  trialDb: string,
  rows: number,
  batchSize: number | undefined,
): Promise<PurgeTrial> {
  await dropDatabase(pg, trialDb);
  await pg.createDatabase(trialDb, seedDb);
  const pool = new Pool({ connectionString: pg.url(trialDb), max: 2 });
  pool.on('error', () => undefined);
  try {
    await pool.query('VACUUM ANALYZE verification_codes');
    const { rows: before } = await pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM verification_codes',
    );
    if (before[0].n !== rows) throw new Error(`clone has ${before[0].n} rows, expected ${rows}`);
    await pool.query('CHECKPOINT');
    const lsn = async () =>
      (await pool.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn;
    const walBefore = await lsn();

    const statementMs: number[] = [];
    let deleted: number;
    const started = performance.now();
    if (batchSize === undefined) {
      const result = await pool.query(`DELETE FROM verification_codes WHERE ${WHERE}`, [CUTOFF]);
      deleted = result.rowCount ?? 0;
      statementMs.push(performance.now() - started);
    } else {
      deleted = await deleteInBatches(
        pool,
        { table: 'verification_codes', where: WHERE, params: [CUTOFF] },
        { batchSize, onBatch: (_rows, elapsedMs) => statementMs.push(elapsedMs) },
      );
    }
    const ms = performance.now() - started;

    const walAfter = await lsn();
    const { rows: wal } = await pool.query<{ bytes: string }>(
      'SELECT pg_wal_lsn_diff($1::pg_lsn, $2::pg_lsn)::text AS bytes',
      [walAfter, walBefore],
    );
    const { rows: after } = await pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM verification_codes',
    );
    if (deleted !== rows || after[0].n !== 0) {
      throw new Error(`deleted ${deleted} of ${rows} rows; ${after[0].n} left`);
    }
    return {
      ms,
      rows: deleted,
      rowsPerSecond: deleted / (ms / 1000),
      statementMs,
      walBytes: Number(wal[0].bytes),
    };
  } finally {
    await pool.end();
    await dropDatabase(pg, trialDb);
  }
}

function settle(variant: PurgeVariant, limitRowsPerSecond: number): PurgeVariantResult {
  const statements = variant.trials.flatMap((trial) => trial.statementMs);
  const rowsPerSecond = median(variant.trials.map((trial) => trial.rowsPerSecond));
  return {
    name: variant.name,
    batchSize: variant.batchSize,
    trials: variant.trials,
    rowsPerSecond,
    ms: median(variant.trials.map((trial) => trial.ms)),
    statements: Math.round(median(variant.trials.map((trial) => trial.statementMs.length))),
    statementSummary: summarize(statements),
    slowestStatementMs: Math.max(...statements),
    walBytes: median(variant.trials.map((trial) => trial.walBytes)),
    ratio: rowsPerSecond / limitRowsPerSecond,
  };
}

export async function runCleanupPurge(options: CleanupPurgeOptions): Promise<CleanupPurgeResult> {
  const { pg, log } = options;
  const seedDb = 'bench_purge_seed';
  const seeded = await seed(pg, seedDb, options.template, options.rows, log);
  try {
    const variants: PurgeVariant[] = [
      { name: 'limit: one unbatched DELETE', trials: [] },
      ...options.batchSizes.map((size) => ({
        name: `ours: deleteInBatches ${size}${size === CLEANUP_DEFAULT_BATCH_SIZE ? ' (default)' : ''}`,
        batchSize: size,
        trials: [],
      })),
    ];
    for (let rep = 0; rep < options.repetitions; rep += 1) {
      const order = rep % 2 === 0 ? variants : [...variants].reverse();
      for (const variant of order) {
        const trial = await runTrial(pg, seedDb, 'bench_purge_trial', options.rows, variant.batchSize);
        variant.trials.push(trial);
        log(
          `  cleanup purge: run ${rep + 1}/${options.repetitions} ${variant.name}: ${fmt(trial.ms / 1000, 2)} s, ` +
            `${fmtInt(trial.rowsPerSecond)} rows/s, ${trial.statementMs.length} statement(s), ` +
            `slowest ${fmt(Math.max(...trial.statementMs), 0)} ms`,
        );
      }
    }
    for (let extra = variants[0].trials.length; extra < options.limitRepetitions; extra += 1) {
      const trial = await runTrial(pg, seedDb, 'bench_purge_trial', options.rows, undefined);
      variants[0].trials.push(trial);
      log(
        `  cleanup purge: extra run ${extra + 1}/${options.limitRepetitions} ${variants[0].name}: ` +
          `${fmt(trial.ms / 1000, 2)} s, ${fmtInt(trial.rowsPerSecond)} rows/s`,
      );
    }
    const limitRowsPerSecond = median(variants[0].trials.map((trial) => trial.rowsPerSecond));
    const [limit, ...ours] = variants.map((variant) => settle(variant, limitRowsPerSecond));
    return {
      rows: options.rows,
      seedMs: seeded.seedMs,
      tableBytes: seeded.tableBytes,
      limit,
      ours,
      repetitions: options.repetitions,
      limitRepetitions: Math.max(options.repetitions, options.limitRepetitions),
    };
  } finally {
    await dropDatabase(pg, seedDb);
  }
}

export function formatCleanupPurge(result: CleanupPurgeResult): string {
  const all = [result.limit, ...result.ours];
  const runs = table(
    [
      'purge of ' + fmtInt(result.rows) + ' expired codes',
      'median s',
      'rows/s',
      'runs (rows/s)',
      'statements',
      'WAL MB',
    ],
    all.map((v) => [
      v.name,
      fmt(v.ms / 1000, 2),
      fmtInt(v.rowsPerSecond),
      v.trials.map((trial) => fmtInt(trial.rowsPerSecond)).join(' / '),
      v.statements,
      fmt(v.walBytes / 1048576, 0),
    ]),
  );
  const statements = table(
    ['per statement', 'median ms', 'p95 ms', 'slowest ms', 'target', 'verdict'],
    all.map((v) => {
      const isOurs = v.batchSize !== undefined;
      return [
        v.name,
        fmt(v.statementSummary.median, 0),
        fmt(v.statementSummary.p95, 0),
        fmt(v.slowestStatementMs, 0),
        isOurs ? `< ${PURGE_TARGET_SLOWEST_MS} ms` : '(one long statement)',
        isOurs ? verdict(v.slowestStatementMs < PURGE_TARGET_SLOWEST_MS) : '',
      ];
    }),
  );
  const ratios = table(
    ['throughput vs limit', 'rows/s', 'ratio ours/limit', 'target', 'verdict'],
    all.map((v) => {
      const isOurs = v.batchSize !== undefined;
      return [
        v.name,
        fmtInt(v.rowsPerSecond),
        fmt(v.ratio, 2),
        isOurs ? `>= ${PURGE_TARGET_RATIO}` : '(baseline)',
        isOurs ? verdict(v.ratio >= PURGE_TARGET_RATIO) : '',
      ];
    }),
  );
  return [
    `(seed ${fmt(result.seedMs / 1000, 1)} s, table + indexes ${fmt(result.tableBytes / 1048576, 0)} MB; ` +
      `${result.repetitions} run(s) per batched variant, ${result.limitRepetitions} of the limit; ` +
      'medians; order alternates between runs)',
    '',
    runs,
    '',
    statements,
    '',
    ratios,
  ].join('\n');
}
