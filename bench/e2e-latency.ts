/**
 * Per-step latency of the e2e probes against the loopback upstreams (issue 7): a throwaway
 * embedded PostgreSQL, migrated, the upstreams on it, and each probe's real run function called
 * `--runs` times in a row (default 30; the first run of each, which pays for connections and JIT,
 * is reported apart). Prints min / median / p95 / max per step. Run: npx tsx bench/e2e-latency.ts
 */
import { Pool } from 'pg';
import { e2eDefault } from '../functions/catalog';
import { onlyAdapters } from '../test/support/only-adapters';
import { LocalGauges } from '../functions/ports/gauges';
import { LocalKeyManager } from '../functions/adapters/local-key-manager';
import { LocalSecretStore } from '../functions/adapters/local-secret-store';
import { systemClock } from '../functions/core/clock';
import type { JobContext, JobResult } from '../functions/core/job-spec';
import { createLogger, SecretRegistry } from '../functions/core/logger';
import { migrateLocal } from '../local/migrate';
import { e2eFlowConfig, e2eRedirectConfig } from '../functions/jobs/e2e/config';
import { runE2eDefault, runE2eRedirect, runE2eRevise } from '../functions/jobs/e2e/run';
import { startEmbeddedPostgres } from '../local/embedded-postgres';
import { prepareLocalE2eRealm } from '../local/upstreams/local';
import { startUpstreams } from '../local/upstreams/start';
import { fmt, summarize, table } from './stats';

const SYSTEM_KEY = 'projects/bench/locations/local/keyRings/certs/cryptoKeys/system';
const REALM_KEYS = 'projects/bench/locations/local/keyRings/realm-keys';

async function main(): Promise<void> {
  const runsArg = process.argv.indexOf('--runs');
  const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 30;
  const pg = await startEmbeddedPostgres({ persistent: false, fast: true });
  const pool = new Pool({ connectionString: pg.url('postgres'), max: 10 });
  try {
    await migrateLocal(pool);
    const keys = new LocalKeyManager(pool, systemClock);
    const system = await keys.createKeyVersion(SYSTEM_KEY);
    // The e2e realm on its own certificate key, as in local mode.
    await prepareLocalE2eRealm(
      { db: pool, keyManager: keys, certificateSigningKey: system, realmKeyRing: REALM_KEYS },
      new Date(),
    );
    const secretStore = new LocalSecretStore(pool, systemClock);
    const upstreams = await startUpstreams({
      db: pool,
      keyManager: keys,
      secretStore,
      secretsParent: 'projects/bench/secrets',
      systemKey: { keyVersion: system, kid: 'v1', issuer: 'bench', audience: 'bench' },
      healthAuthorityId: 'com.example.bench',
    });
    try {
      const env = upstreams.env();
      const context: JobContext = {
        db: pool,
        clock: systemClock,
        logger: createLogger({ write: () => undefined }),
        spec: e2eDefault,
        abortSignal: new AbortController().signal,
        secrets: new SecretRegistry(),
        tick: { id: 'bench', scheduledAt: new Date(), manual: true },
        attempt: 1,
        adapters: onlyAdapters({ keyManager: keys, gauges: new LocalGauges(), secretStore }),
      };
      const probes: [string, () => Promise<JobResult>][] = [
        ['e2e-default', () => runE2eDefault(context, e2eFlowConfig.parse(env))],
        ['e2e-revise', () => runE2eRevise(context, e2eFlowConfig.parse(env))],
        ['e2e-redirect', () => runE2eRedirect(context, e2eRedirectConfig.parse(env))],
      ];
      for (const [id, run] of probes) {
        const samples: Record<string, number>[] = [];
        const first = (await run()) as { stepsMs: Record<string, number>; totalMs: number };
        for (let i = 0; i < runs; i += 1) {
          const result = (await run()) as { stepsMs: Record<string, number>; totalMs: number };
          samples.push({ ...result.stepsMs, total: result.totalMs });
        }
        const steps = Object.keys(samples[0]);
        process.stdout.write(`\n${id}: ${runs} runs (ms; first run apart)\n`);
        process.stdout.write(
          table(
            ['step', 'first', 'min', 'median', 'p95', 'max'],
            steps.map((step) => {
              const s = summarize(samples.map((sample) => sample[step]));
              const firstValue = step === 'total' ? first.totalMs : first.stepsMs[step];
              return [
                step,
                fmt(firstValue, 1),
                fmt(s.min, 1),
                fmt(s.median, 1),
                fmt(s.p95, 1),
                fmt(s.max, 1),
              ];
            }),
          ) + '\n',
        );
      }
    } finally {
      await upstreams.close();
    }
  } finally {
    await pool.end();
    await pg.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exitCode = 1;
});
