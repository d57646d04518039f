/**
 * modeler-worker (enx-jobs.md §6) against a real PostgreSQL and a real redis-server on loopback:
 * limits fitted on complete days only (today's partial row never counts), saved with a targeted
 * UPDATE and an audit entry, pushed as the server's bucket; an admin's concurrent edit survives;
 * the anomaly columns and the anomaly report (never the E2E realm); a realm with broken statistics
 * fails alone with nothing of it written; an unreachable Redis costs one timeout and leaves the
 * saved limits consistent; the NOOP limiter; and the whole job through HTTP with the runtime's
 * own adapter.
 */
import { createHmac } from 'node:crypto';
import { modelerWorker } from '../../functions/catalog';
import { onlyAdapters } from '../support/only-adapters';
import type { RateLimiter } from '../../functions/ports';
import { rateLimiterConfig } from '../../functions/adapters/rate-limiter';
import { noopRateLimiter } from '../../functions/ports/rate-limiter';
import { LocalGauges } from '../../functions/ports/gauges';
import { METRICS } from '../../functions/alerts/metrics';
import { RedisRateLimiter } from '../../functions/adapters/redis-rate-limiter';
import { ManualClock } from '../support/manual-clock';
import type { Env } from '../../functions/core/config';
import { DAY_MS } from '../../functions/core/duration';
import { StepsFailedError } from '../../functions/core/errors';
import type { JobContext, JobResult } from '../../functions/core/job-spec';
import { createLogger, SecretRegistry } from '../../functions/core/logger';
import { memoryWriter } from '../support/memory-writer';
import { modelerConfig } from '../../functions/jobs/modeler-worker/config';
import { runModeler } from '../../functions/jobs/modeler-worker/run';
import { freePort } from '../../local/embedded-postgres';
import { createTestDatabase } from '../support/database';
import type { TestDatabase } from '../support/database';
import { createHarness, ledgerAttempts } from '../support/harness';
import { startTestRedis } from '../support/redis';
import type { TestRedis } from '../support/redis';
import { insertRow } from '../support/seed-cleanup';

const HMAC_KEY = Buffer.from('modeler test hmac key');
const HMAC_ENV = { RATE_LIMIT_HMAC_KEY: HMAC_KEY.toString('base64') };
/** 14:00 UTC: today's row (2026-03-21) is a partial day. */
const NOW = '2026-03-21T14:00:00Z';
const DAY_NS = String(DAY_MS * 1_000_000);

let db: TestDatabase;
let redis: TestRedis;
let limiter: RedisRateLimiter;

beforeAll(async () => {
  db = await createTestDatabase();
  redis = await startTestRedis();
  limiter = new RedisRateLimiter(
    rateLimiterConfig.parse({ RATE_LIMIT_TYPE: 'REDIS', ...HMAC_ENV, ...redis.env }),
  );
});

afterAll(async () => {
  await limiter?.close();
  await redis?.stop();
  await db?.drop();
});

beforeEach(async () => {
  await db.pool.query(
    'TRUNCATE realms, realm_stats, audit_entries, enx_jobs_attempts RESTART IDENTITY CASCADE',
  );
  await redis.client.flushall();
});

function quotaKey(realmId: number): string {
  return `realm:quota:${createHmac('sha1', HMAC_KEY).update(String(realmId)).digest('hex')}`;
}

function dayBefore(ago: number): string {
  return new Date(Date.parse(NOW) - ago * DAY_MS).toISOString().slice(0, 10);
}

async function realm(id: number, columns: Record<string, unknown> = {}): Promise<void> {
  await insertRow(db.pool, 'realms', {
    id,
    name: `Realm ${id}`,
    region_code: `R${id}`,
    abuse_prevention_enabled: true,
    abuse_prevention_limit: 10,
    ...columns,
  });
}

/** One realm_stats row per entry: [days ago, issued, claimed]. */
async function stats(realmId: number, rows: readonly (readonly [number, number, number])[]): Promise<void> {
  for (const [ago, issued, claimed] of rows) {
    await insertRow(db.pool, 'realm_stats', {
      realm_id: realmId,
      date: dayBefore(ago),
      codes_issued: issued,
      codes_claimed: claimed,
    });
  }
}

/** `count` complete days ending yesterday, all with `issued` codes of which `claimed` were claimed. */
function flat(count: number, issued: number, claimed = issued): [number, number, number][] {
  return Array.from({ length: count }, (_, index) => [index + 1, issued, claimed]);
}

async function realmColumns(id: number) {
  const { rows } = await db.pool.query(
    `SELECT abuse_prevention_limit AS "limit", agency_image, abuse_prevention_limit_factor::text AS factor,
            last_codes_claimed_ratio::text AS last, codes_claimed_ratio_mean::text AS mean,
            codes_claimed_ratio_stddev::text AS stddev
       FROM realms WHERE id = $1`,
    [id],
  );
  return rows[0];
}

async function audits() {
  const { rows } = await db.pool.query(
    'SELECT realm_id, actor_id, actor_display, action, target_id, target_display, diff FROM audit_entries ORDER BY id',
  );
  return rows;
}

function run(
  options: { env?: Env; rateLimiter?: RateLimiter; clock?: ManualClock; gauges?: LocalGauges } = {},
): {
  promise: Promise<JobResult>;
  logs: ReturnType<typeof memoryWriter>;
} {
  const logs = memoryWriter();
  const clock = options.clock ?? new ManualClock(NOW);
  const now = clock.now();
  const context: JobContext = {
    db: db.pool,
    clock,
    logger: createLogger({ write: logs.write, minSeverity: 'DEBUG' }),
    spec: modelerWorker,
    abortSignal: new AbortController().signal,
    secrets: new SecretRegistry(),
    tick: { id: now.toISOString(), scheduledAt: now, manual: false },
    attempt: 1,
    adapters: onlyAdapters({
      rateLimiter: options.rateLimiter ?? limiter,
      ...(options.gauges ? { gauges: options.gauges } : {}),
    }),
  };
  const config = modelerConfig.parse({ RATE_LIMIT_TYPE: 'REDIS', ...HMAC_ENV, ...options.env });
  return { promise: runModeler(context, config), logs };
}

async function failure(promise: Promise<unknown>): Promise<StepsFailedError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(StepsFailedError);
  return error as StepsFailedError;
}

describe('modeler-worker: abuse-prevention limits', () => {
  it('fits complete days only, saves the limit with an audit entry and pushes the quota', async () => {
    await realm(1, { abuse_prevention_limit_factor: '1.15' });
    // A steady 200 a day, and today's partial 3 (the original would have fitted it).
    await stats(1, [...flat(14, 200), [0, 3, 0]]);
    const result = await run().promise;
    expect(result).toMatchObject({
      rateLimiter: 'redis',
      realms: 1,
      abusePrevention: { realmsEnabled: 1, modelled: 1, limitsChanged: 1, tooLittleData: 0, quotasSet: 1 },
      limitChanges: [{ realm: 1, from: 10, to: 200, effective: 230 }],
    });
    expect(await realmColumns(1)).toMatchObject({ limit: 200, factor: '1.15000' });
    expect(await audits()).toEqual([
      {
        realm_id: 1,
        actor_id: 'system:1',
        actor_display: 'System',
        action: 'updated abuse prevention limit',
        target_id: 'realms:1',
        target_display: 'Realm 1',
        diff: JSON.stringify({ abuse_prevention_limit: { from: 10, to: 200 } }),
      },
    ]);
    expect(await redis.client.hgetall(quotaKey(1))).toEqual({ k: '230', m: '230', i: DAY_NS });
    expect(await redis.client.ttl(quotaKey(1))).toBe(604_800);
  });

  it('skips a realm with 13 complete days (today does not make 14) and models one with 14', async () => {
    await realm(1);
    await realm(2);
    await stats(1, [...flat(13, 80), [0, 80, 80]]);
    await stats(2, flat(14, 80));
    const { promise, logs } = run();
    expect(await promise).toMatchObject({
      abusePrevention: { realmsEnabled: 2, modelled: 1, tooLittleData: 1, limitsChanged: 1 },
      limitChanges: [{ realm: 2, from: 10, to: 80, effective: 80 }],
    });
    expect((await realmColumns(1)).limit).toBe(10);
    expect(await redis.client.exists(quotaKey(1))).toBe(0);
    expect(logs.entries()).toContainEqual(
      expect.objectContaining({ event: 'abuse_model_skipped', realmId: 1, completeDays: 13 }),
    );
  });

  it('leaves realms without abuse prevention, and deleted realms, alone', async () => {
    await realm(1, { abuse_prevention_enabled: false, abuse_prevention_limit: 55 });
    await realm(2, { deleted_at: new Date(NOW) });
    await stats(1, flat(20, 500));
    await stats(2, flat(20, 500));
    expect(await run().promise).toMatchObject({
      realms: 1,
      abusePrevention: { realmsEnabled: 0, modelled: 0, limitsChanged: 0 },
    });
    expect((await realmColumns(1)).limit).toBe(55);
    expect((await realmColumns(2)).limit).toBe(10);
    expect(await redis.client.dbsize()).toBe(0);
  });

  it('is idempotent: a second run changes nothing, audits nothing and does not refill the bucket', async () => {
    await realm(1);
    await stats(1, flat(14, 120));
    await run().promise;
    // The server has been taking codes from the bucket since.
    await redis.client.hset(quotaKey(1), 'k', '17');
    const again = await run().promise;
    expect(again).toMatchObject({
      abusePrevention: { modelled: 1, limitsChanged: 0, quotasSet: 0, quotasKept: 1 },
      limitChanges: [],
    });
    expect(await audits()).toHaveLength(1);
    expect(await redis.client.hget(quotaKey(1), 'k')).toBe('17');
  });

  it("does not lose an admin's concurrent edit, and uses the factor the admin just saved", async () => {
    await realm(1);
    await stats(1, flat(14, 100));
    const admin = await db.pool.connect();
    try {
      await admin.query('BEGIN');
      await admin.query(
        "UPDATE realms SET agency_image = 'https://example.org/logo.png', abuse_prevention_limit_factor = 2 WHERE id = 1",
      );
      const { promise } = run();
      // The modeler waits on the realm's row lock while the admin's transaction is open.
      await new Promise((resolve) => setTimeout(resolve, 200));
      await admin.query('COMMIT');
      expect(await promise).toMatchObject({
        limitChanges: [{ realm: 1, from: 10, to: 100, effective: 200 }],
      });
    } finally {
      admin.release();
    }
    expect(await realmColumns(1)).toMatchObject({
      limit: 100,
      agency_image: 'https://example.org/logo.png',
      factor: '2.00000',
    });
    expect(await redis.client.hget(quotaKey(1), 'm')).toBe('200');
  });

  it('fails a realm with broken statistics by name, writes nothing of it, and models the others', async () => {
    await realm(1);
    await realm(2);
    await stats(1, [...flat(13, 90), [14, -4, 0]]);
    await stats(2, flat(14, 90));
    const error = await failure(run().promise);
    expect(error.failures).toEqual([
      {
        step: 'abuse-prevention realm 1 (Realm 1)',
        error: `realm_stats for ${dayBefore(14)} has codes_issued = -4, which cannot be a count; correct or delete that row`,
      },
      {
        step: 'anomaly realm 1 (Realm 1)',
        error: `realm_stats for ${dayBefore(14)} has codes_issued = -4, which cannot be a count; correct or delete that row`,
      },
    ]);
    expect(error.partial).toMatchObject({ abusePrevention: { modelled: 1 }, limitChanges: [{ realm: 2 }] });
    expect(await realmColumns(1)).toMatchObject({ limit: 10, last: '0.00000000', mean: '0.00000000' });
    expect(await audits()).toEqual([expect.objectContaining({ realm_id: 2 })]);
    expect(await redis.client.exists(quotaKey(1))).toBe(0);
  });

  it('fails a realm with a broken factor before saving its limit', async () => {
    await realm(1, { abuse_prevention_limit_factor: '-1' });
    await stats(1, flat(14, 90));
    const error = await failure(run().promise);
    expect(error.failures[0].error).toMatch(
      /abuse_prevention_limit_factor is -1.00000, not a non-negative number/,
    );
    expect((await realmColumns(1)).limit).toBe(10);
    expect(await audits()).toEqual([]);
  });

  it('with Redis unreachable: limits saved and consistent, one timeout for all realms, each realm named', async () => {
    for (const id of [1, 2, 3]) {
      await realm(id);
      await stats(id, flat(14, 40 * id));
    }
    const down = new RedisRateLimiter(
      rateLimiterConfig.parse({
        RATE_LIMIT_TYPE: 'REDIS',
        ...HMAC_ENV,
        RATE_LIMIT_REDIS_PORT: String(await freePort()),
        RATE_LIMIT_REDIS_TIMEOUT: '1s',
      }),
    );
    try {
      const started = Date.now();
      const error = await failure(run({ rateLimiter: down }).promise);
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(error.failures.map((item) => item.step)).toEqual([
        'abuse-prevention realm 1 (Realm 1)',
        'abuse-prevention realm 2 (Realm 2)',
        'abuse-prevention realm 3 (Realm 3)',
      ]);
      expect(error.failures[0].error).toMatch(
        /^limit 40 saved, but its quota of 40 was not pushed to the rate limiter: the rate limiter's Redis at 127\.0\.0\.1:\d+ is unavailable/,
      );
      expect(error.failures[2].error).toMatch(
        /^limit 120 saved, .*quota not pushed: the rate limiter's Redis/,
      );
      expect(error.partial).toMatchObject({ anomaly: { tooLittleData: 3 } });
    } finally {
      await down.close();
    }
    expect([
      (await realmColumns(1)).limit,
      (await realmColumns(2)).limit,
      (await realmColumns(3)).limit,
    ]).toEqual([40, 80, 120]);
    expect(await audits()).toHaveLength(3);
    // The retry pushes the quotas, though the limits no longer change.
    expect(await run().promise).toMatchObject({ abusePrevention: { limitsChanged: 0, quotasSet: 3 } });
    expect(await redis.client.hget(quotaKey(3), 'm')).toBe('120');
  });

  it('with the no-op limiter: limits saved, nothing pushed, and the run says so', async () => {
    await realm(1);
    await stats(1, flat(14, 60));
    const { promise, logs } = run({ rateLimiter: noopRateLimiter, env: { RATE_LIMIT_TYPE: 'NOOP' } });
    expect(await promise).toMatchObject({
      rateLimiter: 'noop',
      abusePrevention: { modelled: 1, limitsChanged: 1, quotasSet: 0, quotasKept: 0 },
    });
    expect((await realmColumns(1)).limit).toBe(60);
    expect(logs.entries()).toContainEqual(expect.objectContaining({ event: 'rate_limiter_noop' }));
    expect(await redis.client.dbsize()).toBe(0);
  });
});

describe('modeler-worker: code-claim-ratio anomalies', () => {
  /** 14 history days alternating 0.7 and 0.9 claimed (mean 0.8, stddev 0.1), and yesterday's ratio. */
  function claims(yesterdayClaimed: number): [number, number, number][] {
    return [
      [1, 100, yesterdayClaimed],
      ...Array.from({ length: 14 }, (_, index): [number, number, number] => [
        index + 2,
        100,
        index % 2 ? 90 : 70,
      ]),
    ];
  }

  it('saves last, mean and population stddev, and reports an anomalous realm but never the E2E realm', async () => {
    await realm(1, { abuse_prevention_enabled: false });
    await realm(2, { abuse_prevention_enabled: false, is_e2e: true });
    await realm(3, { abuse_prevention_enabled: false });
    await stats(1, claims(40));
    await stats(2, claims(40));
    await stats(3, claims(75));
    const gauges = new LocalGauges();
    const { promise, logs } = run({ gauges });
    expect(await promise).toMatchObject({
      anomaly: { modelled: 3, tooLittleData: 0, updated: 3, anomalousRealms: [1] },
    });
    // The anomaly count is also the run's metric, for the dashboard.
    expect(gauges.get(METRICS.modelerAnomalies.type, 'modeler-worker')).toBe(1);
    expect(await realmColumns(1)).toMatchObject({
      last: '0.40000000',
      mean: '0.80000000',
      stddev: '0.10000000',
    });
    expect(await realmColumns(2)).toMatchObject({ last: '0.40000000', mean: '0.80000000' });
    expect(await realmColumns(3)).toMatchObject({ last: '0.75000000' });
    const reported = logs.entries().filter((entry) => entry.event === 'codes_claimed_ratio_anomaly');
    expect(reported).toEqual([
      expect.objectContaining({ severity: 'WARNING', realmId: 1, last: 0.4, allowedStdevs: 2 }),
    ]);
  });

  it('rewrites the columns only when they change at their precision', async () => {
    await realm(1, { abuse_prevention_enabled: false });
    await stats(1, claims(40));
    await run().promise;
    const { rows: before } = await db.pool.query('SELECT updated_at FROM realms WHERE id = 1');
    const later = new ManualClock(Date.parse(NOW) + 4 * 3600_000);
    expect(await run({ clock: later }).promise).toMatchObject({ anomaly: { modelled: 1, updated: 0 } });
    const { rows: after } = await db.pool.query('SELECT updated_at FROM realms WHERE id = 1');
    expect(after[0].updated_at).toEqual(before[0].updated_at);
  });

  it('skips a realm with fewer than 14 issuing days and keeps its stored model', async () => {
    await realm(1, {
      abuse_prevention_enabled: false,
      last_codes_claimed_ratio: 0.5,
      codes_claimed_ratio_mean: 0.6,
      codes_claimed_ratio_stddev: 0.05,
    });
    await stats(1, [...claims(40).slice(0, 14)]);
    expect(await run().promise).toMatchObject({ anomaly: { modelled: 0, tooLittleData: 1 } });
    expect(await realmColumns(1)).toMatchObject({
      last: '0.50000000',
      mean: '0.60000000',
      stddev: '0.05000000',
    });
  });
});

describe('modeler-worker through HTTP', () => {
  it("runs with the runtime's Redis limiter from RATE_LIMIT_* settings, records the summary, and closes", async () => {
    await realm(1);
    await stats(1, flat(14, 300));
    const modelerConnections = async () =>
      (String(await redis.client.client('LIST')).match(/name=enx-jobs-modeler/g) ?? []).length;
    const before = await modelerConnections();
    const harness = await createHarness({
      database: db,
      env: { RATE_LIMIT_TYPE: 'REDIS', ...HMAC_ENV, ...redis.env },
      clock: new ManualClock(NOW),
    });
    try {
      const response = await harness.invoke('modeler-worker', { scheduleTime: '2026-03-21T12:00:00Z' });
      expect(response.status).toBe(200);
      expect(response.body.result).toMatchObject({
        rateLimiter: 'redis',
        limitChanges: [{ realm: 1, from: 10, to: 300, effective: 300 }],
      });
      const [attempt] = await ledgerAttempts(db, 'modeler-worker');
      expect(attempt).toMatchObject({ state: 'succeeded', result: { abusePrevention: { quotasSet: 1 } } });
      expect(await redis.client.hgetall(quotaKey(1))).toEqual({ k: '300', m: '300', i: DAY_NS });
      // Neither the HMAC key nor the Redis password reaches a log line.
      const text = harness.logs.lines.join('\n');
      expect(text).not.toContain(HMAC_ENV.RATE_LIMIT_HMAC_KEY);
      expect(text).not.toContain(redis.server.password);
      expect(await modelerConnections()).toBe(before + 1);
    } finally {
      await harness.close();
    }
    // Runtime.close() ended the connection its limiter opened.
    expect(await modelerConnections()).toBe(before);
  });
});
