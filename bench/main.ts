/**
 * npm run bench [-- [--quick] [runtime] [purge] [coldstart] ...]
 *
 * Speed targets of the job runtime, measured as ratios against a baseline taken in the same run on
 * the same machine, never as timed tests. Starts one throwaway embedded PostgreSQL on 127.0.0.1,
 * runs the chosen benchmarks (all by default), prints a table per benchmark and a summary, stops
 * everything and exits 0 whether targets were met or missed: the numbers are for humans. Exits 1
 * only when a benchmark could not run.
 *
 *   runtime  (a) runtime overhead per invocation vs a bare Functions Framework handler
 *   purge    (b) cleanup purge throughput: deleteInBatches vs one unbatched DELETE
 *   appsync  (c) appsync-worker syncing a 10,000-app feed: time and statements issued
 *   stats    (d) stats-puller-worker over 1,000 realms against a 50 ms key server vs the ideal
 *   fairness (e) cleanup-worker under a 2,000,000-row backlog in step 1: later steps run every tick
 *   coldstart (f) each function's cold start from its own archive vs a bare Functions Framework handler
 *   duplicates (g) 50 duplicate deliveries a second for 10 s: p99 vs a bare handler, DB connections
 *   --quick  fewer calls and 100,000 rows instead of 1,000,000
 *   --network-delay-ms=<n>  coldstart: n ms each way to Postgres and the JWKS, as over a network
 */
import './env';
import { performance } from 'node:perf_hooks';
import { Pool } from 'pg';
import { migrateLocal } from '../local/migrate';
import { startEmbeddedPostgres } from '../local/embedded-postgres';
import type { PostgresServer } from '../local/embedded-postgres';
import {
  CLEANUP_DEFAULT_BATCH_SIZE,
  PURGE_TARGET_RATIO,
  PURGE_TARGET_SLOWEST_MS,
  formatCleanupPurge,
  runCleanupPurge,
} from './cleanup-purge';
import type { CleanupPurgeResult } from './cleanup-purge';
import { RUNTIME_TARGET_ADDED_MS, formatRuntimeOverhead, runRuntimeOverhead } from './runtime-overhead';
import type { RuntimeOverheadResult } from './runtime-overhead';
import { formatAppsyncBench, runAppsyncBench } from './appsync-sync';
import { formatStatsPullerBench, runStatsPullerBench } from './stats-puller';
import { formatCleanupFairness, runCleanupFairness } from './cleanup-fairness';
import { COLD_START_TARGET_RATIO, buildFunctions, formatColdStart, runColdStart } from './cold-start';
import type { ColdStartResult } from './cold-start';
import { formatDuplicateLoad, runDuplicateLoad } from './duplicate-load';
import type { Cell } from './stats';
import { fmt, fmtInt, table, verdict } from './stats';

const BENCHES = ['runtime', 'purge', 'appsync', 'stats', 'fairness', 'coldstart', 'duplicates'] as const;
type BenchName = (typeof BENCHES)[number];

/** A bench that is still running after this long is stuck: stop Postgres and give up. */
const WATCHDOG_MS = 20 * 60_000;
const TEMPLATE = 'bench_migrated';

const USAGE = `usage: npm run bench -- [--quick] [${BENCHES.join('] [')}]
  runtime  runtime overhead per invocation vs a bare Functions Framework handler
  purge    cleanup purge throughput: deleteInBatches vs one unbatched DELETE
  appsync  appsync-worker syncing a 10,000-app feed (2,000 with --quick)
  stats    stats-puller-worker over 1,000 realms (200 with --quick), key server answering in 50 ms
  fairness cleanup-worker with 2,000,000 expired API keys in step 1 (200,000 with --quick)
  coldstart each function's first answer from its own archive vs a bare handler (20 cold starts each; the bare handler 5 times a round)
  duplicates 50 deliveries a second of one tick for 10 s (5 s with --quick): p99, DB connections
  --quick  fewer calls, 100,000 rows instead of 1,000,000
  --network-delay-ms=<n>  coldstart: hold every packet to Postgres and the JWKS n ms each way`;

interface Args {
  readonly quick: boolean;
  readonly benches: readonly BenchName[];
  /** coldstart: one-way delay to Postgres and the JWKS, in ms. */
  readonly networkDelayMs: number;
}

function parseArgs(argv: readonly string[]): Args | string {
  let quick = false;
  let networkDelayMs = 0;
  const chosen = new Set<BenchName>();
  for (const arg of argv) {
    const delay = /^--network-delay-ms=(\d{1,4})$/.exec(arg);
    if (arg === '--quick') quick = true;
    else if (delay) networkDelayMs = Number(delay[1]);
    else if (arg === '--help' || arg === '-h') return USAGE;
    else if ((BENCHES as readonly string[]).includes(arg)) chosen.add(arg as BenchName);
    else return `unknown argument "${arg}"\n${USAGE}`;
  }
  return {
    quick,
    networkDelayMs,
    benches: chosen.size > 0 ? BENCHES.filter((name) => chosen.has(name)) : BENCHES,
  };
}

function settingsFor(quick: boolean) {
  return quick
    ? {
        runtime: { warmup: 30, calls: 150, roundSize: 10, breakdownSamples: 50 },
        purge: { rows: 100_000, repetitions: 2, limitRepetitions: 3 },
      }
    : {
        runtime: { warmup: 100, calls: 500, roundSize: 10, breakdownSamples: 200 },
        purge: { rows: 1_000_000, repetitions: 2, limitRepetitions: 3 },
      };
}

const log = (line: string) => process.stdout.write(line + '\n');

function summaryTable(
  runtime?: RuntimeOverheadResult,
  purge?: CleanupPurgeResult,
  coldStart?: ColdStartResult,
): string {
  const rows: Cell[][] = [];
  for (const row of coldStart?.rows ?? []) {
    rows.push([
      `cold start to first answer, ${row.id}`,
      `${fmt(coldStart!.bareMs, 0)} ms`,
      `${fmt(row.medianMs, 0)} ms`,
      `${fmt(row.ratio, 2)}x`,
      `ratio <= ${COLD_START_TARGET_RATIO}`,
      `${fmt(row.ratio, 2)}x`,
      verdict(row.ratio <= COLD_START_TARGET_RATIO),
    ]);
  }
  if (runtime) {
    rows.push([
      'runtime overhead, median per call',
      `${fmt(runtime.bare.median, 3)} ms`,
      `${fmt(runtime.runtime.median, 3)} ms`,
      `${fmt(runtime.ratio, 2)}x`,
      `added < ${RUNTIME_TARGET_ADDED_MS} ms`,
      `${fmt(runtime.addedMedianMs, 3)} ms`,
      verdict(runtime.pass),
    ]);
  }
  if (purge) {
    for (const ours of purge.ours) {
      rows.push([
        `purge throughput, batch ${ours.batchSize}${ours.batchSize === CLEANUP_DEFAULT_BATCH_SIZE ? ' (default)' : ''}`,
        `${fmtInt(purge.limit.rowsPerSecond)} rows/s`,
        `${fmtInt(ours.rowsPerSecond)} rows/s`,
        fmt(ours.ratio, 2),
        `ratio >= ${PURGE_TARGET_RATIO}`,
        fmt(ours.ratio, 2),
        verdict(ours.ratio >= PURGE_TARGET_RATIO),
      ]);
    }
    for (const ours of purge.ours) {
      rows.push([
        `slowest batch statement, batch ${ours.batchSize}`,
        `${fmt(purge.limit.slowestStatementMs, 0)} ms`,
        `${fmt(ours.slowestStatementMs, 0)} ms`,
        '',
        `< ${PURGE_TARGET_SLOWEST_MS} ms`,
        `${fmt(ours.slowestStatementMs, 0)} ms`,
        verdict(ours.slowestStatementMs < PURGE_TARGET_SLOWEST_MS),
      ]);
    }
  }
  return table(['benchmark', 'baseline', 'ours', 'ratio', 'target', 'measured', 'verdict'], rows);
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (typeof args === 'string') {
    const ok = args === USAGE;
    (ok ? process.stdout : process.stderr).write(args + '\n');
    return ok ? 0 : 2;
  }
  const settings = settingsFor(args.quick);
  const started = performance.now();
  log(`enx-jobs bench (${args.quick ? 'quick' : 'full'}): ${args.benches.join(', ')}`);
  log(`node ${process.version}, ${process.platform}/${process.arch}; medians over interleaved runs\n`);

  const pgLog: string[] = [];
  let pg: PostgresServer | undefined;
  let stopping: Promise<void> | undefined;
  const stopPg = () => (stopping ??= pg ? pg.stop().catch(() => undefined) : Promise.resolve());

  const watchdog = setTimeout(() => {
    process.stderr.write(`bench: still running after ${WATCHDOG_MS / 60_000} min; giving up\n`);
    void stopPg().finally(() => process.exit(1));
  }, WATCHDOG_MS);
  watchdog.unref();
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`bench: ${signal}; stopping Postgres\n`);
    void stopPg().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    log('starting embedded PostgreSQL (throwaway, fsync off) ...');
    pg = await startEmbeddedPostgres({
      persistent: false,
      fast: true,
      onLog: (line) => {
        pgLog.push(line);
        if (pgLog.length > 50) pgLog.shift();
      },
    });
    await pg.createDatabase(TEMPLATE);
    const pool = new Pool({ connectionString: pg.url(TEMPLATE), max: 1 });
    try {
      await migrateLocal(pool);
    } finally {
      await pool.end();
    }

    let runtimeResult: RuntimeOverheadResult | undefined;
    let purgeResult: CleanupPurgeResult | undefined;
    let coldStartResult: ColdStartResult | undefined;

    if (args.benches.includes('runtime')) {
      log('\n(a) runtime overhead per invocation');
      runtimeResult = await runRuntimeOverhead({ pg, template: TEMPLATE, log, ...settings.runtime });
      log('');
      log(formatRuntimeOverhead(runtimeResult));
    }
    if (args.benches.includes('appsync')) {
      log('\n(c) appsync-worker feed sync');
      const apps = args.quick ? 2_000 : 10_000;
      const appsync = await runAppsyncBench({ pg, template: TEMPLATE, log, apps, realms: 100 });
      log('');
      log(formatAppsyncBench(appsync));
    }
    if (args.benches.includes('stats')) {
      log('\n(d) stats-puller-worker over many realms');
      const stats = await runStatsPullerBench({
        pg,
        template: TEMPLATE,
        log,
        realms: args.quick ? 200 : 1_000,
        latencyMs: 50,
        workers: [5, 20],
      });
      log('');
      log(formatStatsPullerBench(stats));
    }
    if (args.benches.includes('fairness')) {
      log('\n(e) cleanup-worker step fairness under a backlog in step 1');
      const fairness = await runCleanupFairness({
        pg,
        template: TEMPLATE,
        log,
        backlogRows: args.quick ? 200_000 : 2_000_000,
      });
      log('');
      log(formatCleanupFairness(fairness));
    }
    if (args.benches.includes('coldstart')) {
      log('\n(f) cold start per function, from its own archive');
      log('  building the archives (npm run build) ...');
      await buildFunctions();
      coldStartResult = await runColdStart({
        pg,
        template: TEMPLATE,
        log,
        starts: 20,
        networkDelayMs: args.networkDelayMs,
      });
      log('');
      log(formatColdStart(coldStartResult));
    }
    if (args.benches.includes('duplicates')) {
      log('\n(g) duplicate deliveries under load');
      const duplicates = await runDuplicateLoad({
        pg,
        template: TEMPLATE,
        log,
        ratePerSecond: 50,
        seconds: args.quick ? 5 : 10,
      });
      log('');
      log(formatDuplicateLoad(duplicates));
    }
    if (args.benches.includes('purge')) {
      log('\n(b) cleanup purge throughput (VERIFICATION_CODE step)');
      purgeResult = await runCleanupPurge({
        pg,
        template: TEMPLATE,
        log,
        batchSizes: [...new Set([5_000, 10_000, 20_000, CLEANUP_DEFAULT_BATCH_SIZE])].sort((a, b) => a - b),
        ...settings.purge,
      });
      log('');
      log(formatCleanupPurge(purgeResult));
    }

    log('\nsummary');
    log(summaryTable(runtimeResult, purgeResult, coldStartResult));
    log(
      `\ntotal ${fmt((performance.now() - started) / 1000, 1)} s; targets are reported, never enforced (exit 0)`,
    );
    return 0;
  } catch (error) {
    process.stderr.write(`bench failed: ${(error as Error)?.stack ?? String(error)}\n`);
    if (pgLog.length > 0)
      process.stderr.write(`last PostgreSQL log lines:\n${pgLog.slice(-10).join('\n')}\n`);
    return 1;
  } finally {
    await stopPg();
    clearTimeout(watchdog);
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`bench failed: ${String(error)}\n`);
    process.exit(1);
  },
);
