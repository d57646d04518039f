/**
 * Benchmark (c): appsync-worker syncing a large feed (issue 5 §7): a feed of N Android apps spread
 * over R realms, each entry with translations, served over HTTP on 127.0.0.1 and synced by the real
 * runAppsync into a fresh clone of the migrated database. Two runs: the first adds every app and
 * translation, the second (same feed) must change nothing. For each: wall time, SQL statements
 * issued (every query any pooled client sends, BEGIN/COMMIT included) and the process's resident
 * memory after the run (the feed is held whole in memory, as JSON text and parsed).
 */
import { onlyAdapters } from '../test/support/only-adapters';
import { appsyncWorker } from '../functions/catalog';
import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Pool } from 'pg';
import type { PoolClient } from 'pg';
import { ManualClock } from '../test/support/manual-clock';
import type { JobContext, JobResult } from '../functions/core/job-spec';
import { createLogger, SecretRegistry } from '../functions/core/logger';
import { LocalGauges } from '../functions/ports/gauges';
import { LocalKeyManager } from '../functions/adapters/local-key-manager';
import { appsyncConfig } from '../functions/jobs/appsync-worker/config';
import { runAppsync } from '../functions/jobs/appsync-worker/run';
import type { PostgresServer } from '../local/embedded-postgres';
import { fmt, fmtInt, table } from './stats';

export interface AppsyncBenchOptions {
  readonly pg: PostgresServer;
  /** A migrated database to clone. */
  readonly template: string;
  readonly log: (line: string) => void;
  readonly apps: number;
  readonly realms: number;
}

export interface AppsyncRun {
  readonly label: string;
  readonly ms: number;
  readonly statements: number;
  readonly rssMb: number;
  readonly result: JobResult;
}

export interface AppsyncBenchResult {
  readonly apps: number;
  readonly realms: number;
  readonly feedBytes: number;
  readonly runs: readonly AppsyncRun[];
}

const NOW = new Date('2026-11-23T12:00:00Z');

function fingerprint(index: number): string {
  const hex = index.toString(16).padStart(64, '0').toUpperCase();
  return hex.match(/../g)?.join(':') ?? '';
}

function buildFeed(apps: number, realms: number): string {
  const entries = Array.from({ length: apps }, (_, index) => {
    const region = `BN-${(index % realms).toString().padStart(4, '0')}`;
    return {
      region,
      is_enx: true,
      android_target: {
        namespace: 'android_app',
        app_name: `Bench App ${index}`,
        package_name: `org.example.bench.app${index}`,
        sha256_cert_fingerprints: fingerprint(index),
      },
      agency_color: '#1A73E8',
      agency_image: `https://bench.example/${region}.png`,
      default_locale: 'en',
      web_report_learn_more_url: `https://bench.example/${region}/learn-more`,
      localizations: ['agency-name', 'enx-onboarding-title'].map((msgid) => ({
        msgid,
        translations: ['en', 'es', 'pt-BR', 'pt-PT'].map((lang) => ({
          lang,
          message: `${msgid} ${lang} ${region}`,
        })),
      })),
      headless: false,
    };
  });
  return JSON.stringify({ apps: entries });
}

export async function runAppsyncBench(options: AppsyncBenchOptions): Promise<AppsyncBenchResult> {
  const database = 'bench_appsync';
  await options.pg.createDatabase(database, options.template);
  let statements = 0;
  const pool = new Pool({ connectionString: options.pg.url(database), max: 4 });
  pool.on('connect', (client: PoolClient) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      statements += 1;
      return query(...args);
    };
  });
  const body = buildFeed(options.apps, options.realms);
  const server = createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end(body),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/apps.json`;
  try {
    for (let realm = 0; realm < options.realms; realm += 1) {
      await pool.query(
        'INSERT INTO realms (name, region_code, created_at, updated_at) VALUES ($1, $2, $3, $3)',
        [`Bench realm ${realm}`, `BN-${realm.toString().padStart(4, '0')}`, NOW],
      );
    }
    const clock = new ManualClock(NOW);
    // A 10,000-app feed is larger than the 4 MB default limit (about 1 KB an entry).
    const config = appsyncConfig.parse({
      APP_SYNC_URL: url,
      APP_SYNC_SIZE_LIMIT: String(Buffer.byteLength(body) + 1),
    });
    const context: JobContext = {
      db: pool,
      clock,
      logger: createLogger({ write: () => undefined, minSeverity: 'WARNING' }),
      spec: appsyncWorker,
      abortSignal: new AbortController().signal,
      secrets: new SecretRegistry(),
      tick: { id: NOW.toISOString(), scheduledAt: NOW, manual: true },
      attempt: 1,
      adapters: onlyAdapters({ keyManager: new LocalKeyManager(pool, clock), gauges: new LocalGauges() }),
    };
    const runs: AppsyncRun[] = [];
    for (const label of ['first sync (adds everything)', 'second sync (no change)']) {
      options.log(`  ${label} ...`);
      statements = 0;
      const started = performance.now();
      const result = await runAppsync(context, config);
      const ms = performance.now() - started;
      runs.push({
        label,
        ms,
        statements,
        rssMb: process.memoryUsage().rss / 1e6,
        result,
      });
    }
    return { apps: options.apps, realms: options.realms, feedBytes: Buffer.byteLength(body), runs };
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await pool.end();
  }
}

export function formatAppsyncBench(result: AppsyncBenchResult): string {
  const rows = result.runs.map((run) => {
    const summary = run.result as { appsAdded?: number; translations?: { added: number } };
    return [
      run.label,
      `${fmt(run.ms / 1000, 2)} s`,
      fmtInt(run.statements),
      fmt(run.statements / result.apps, 2),
      fmtInt(summary.appsAdded ?? 0),
      fmtInt(summary.translations?.added ?? 0),
      `${fmt(run.rssMb, 0)} MB`,
    ];
  });
  return [
    `${fmtInt(result.apps)} apps over ${fmtInt(result.realms)} realms, feed ${fmt(result.feedBytes / 1e6, 2)} MB`,
    table(
      ['run', 'wall time', 'statements', 'per app', 'apps added', 'translations added', 'rss after'],
      rows,
    ),
  ].join('\n');
}
