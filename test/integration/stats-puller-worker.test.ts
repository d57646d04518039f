/**
 * stats-puller-worker (enx-jobs.md §8) against a real PostgreSQL and the loopback key-server
 * stand-in: tokens signed by the system key and by a realm's own key (both through the local KMS,
 * both checked by the stand-in with jose), the upsert's column mapping, idempotence, a failing
 * realm reported while the others land, bounded concurrency, and an aborted run that stops
 * starting realms but waits for the ones in flight.
 */
import { LocalKeyManager } from '../../functions/adapters/local-key-manager';
import { systemClock } from '../../functions/core/clock';
import type { Db } from '../../functions/core/db';
import { StepsFailedError } from '../../functions/core/errors';
import type { Env } from '../../functions/core/config';
import { statsPullerConfig } from '../../functions/jobs/stats-puller-worker/config';
import type { StatsPullerConfig } from '../../functions/jobs/stats-puller-worker/config';
import { runStatsPuller } from '../../functions/jobs/stats-puller-worker/run';
import { localKeyLookup, startKeyServerStats } from '../../local/key-server-stats';
import type { KeyServerStats, Misbehaviour } from '../../local/key-server-stats';
import { createTestDatabase } from '../support/database';
import type { TestDatabase } from '../support/database';
import { createHarness, ledgerAttempts } from '../support/harness';
import { cleanupContext, insertRow } from '../support/seed-cleanup';

const SYSTEM_KEY = 'projects/enx-test-project/locations/local/keyRings/certs/cryptoKeys/system';
const REALM_KEY_RING = 'projects/enx-test-project/locations/local/keyRings/realm-keys';

let db: TestDatabase;
let keys: LocalKeyManager;
let systemVersion: string;
let standIn: KeyServerStats;

beforeAll(async () => {
  db = await createTestDatabase();
  keys = new LocalKeyManager(db.pool, systemClock);
  systemVersion = await keys.createKeyVersion(SYSTEM_KEY);
  standIn = await startKeyServerStats({
    keys: localKeyLookup(db.pool, keys, { kid: 'v1', keyVersion: systemVersion }),
  });
});

afterAll(async () => {
  await standIn?.close();
  await db?.drop();
});

beforeEach(async () => {
  await db.pool.query(
    'TRUNCATE realms, signing_keys, key_server_stats, key_server_stats_days RESTART IDENTITY CASCADE',
  );
  standIn.misbehave('all', undefined);
  for (let realm = 0; realm < 50; realm += 1) standIn.misbehave(realm, undefined);
  standIn.resetCounters();
});

function config(env: Env = {}): StatsPullerConfig {
  return statsPullerConfig.parse({
    KEY_SERVER_URL: `${standIn.url}/v1/stats`,
    CERTIFICATE_SIGNING_KEY: systemVersion,
    STATS_PULLER_DOWNLOAD_TIMEOUT: '1s',
    ...env,
  });
}

/** A realm on the system key; its URL override lets the stand-in tell it apart. */
async function systemKeyRealm(id: number): Promise<void> {
  await insertRow(db.pool, 'realms', { id, name: `Realm ${id}`, region_code: `R${id}` });
  await insertRow(db.pool, 'key_server_stats', {
    realm_id: id,
    key_server_url_override: standIn.realmUrl(id),
  });
}

/** A realm signing with its own active certificate key (and an older, inactive one). */
async function realmKeyRealm(id: number): Promise<void> {
  await insertRow(db.pool, 'realms', {
    id,
    name: `Realm ${id}`,
    region_code: `R${id}`,
    use_realm_certificate_key: true,
    certificate_issuer: `realm-${id}-issuer`,
  });
  const key = await keys.createSigningKey(REALM_KEY_RING, `realm-${id}`);
  await insertRow(db.pool, 'signing_keys', {
    realm_id: id,
    key_id: await keys.createKeyVersion(key),
    active: false,
  });
  await insertRow(db.pool, 'signing_keys', {
    realm_id: id,
    key_id: await keys.createKeyVersion(key),
    active: true,
  });
  await insertRow(db.pool, 'key_server_stats', { realm_id: id });
}

interface StoredDay {
  day: string;
  publish_requests: string[];
  total_teks_published: string;
  revision_requests: string;
  tek_age_distribution: string[];
  onset_to_upload_distribution: string[];
  request_missing_onset_date: string;
}

async function storedDays(realmId: number, pool: Db = db.pool): Promise<StoredDay[]> {
  const { rows } = await pool.query<StoredDay>(
    `SELECT to_char(day AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS day, publish_requests::text[],
            total_teks_published::text, revision_requests::text, tek_age_distribution::text[],
            onset_to_upload_distribution::text[], request_missing_onset_date::text
       FROM key_server_stats_days WHERE realm_id = $1 ORDER BY day`,
    [realmId],
  );
  return rows;
}

/** What the stand-in's document for a realm must be stored as. */
function expectedDays(realmId: number): StoredDay[] {
  const text = (values: number[]) => values.map(String);
  return standIn.documentFor(realmId).days.map((day) => ({
    day: day.day.replace('.000Z', 'Z'),
    publish_requests: text([
      day.publish_requests.unknown,
      day.publish_requests.ios,
      day.publish_requests.android,
    ]),
    total_teks_published: String(day.total_teks_published),
    revision_requests: String(day.requests_with_revisions),
    tek_age_distribution: text(day.tek_age_distribution),
    onset_to_upload_distribution: text(day.onset_to_upload_distribution),
    request_missing_onset_date: String(day.requests_missing_onset_date),
  }));
}

function run(options: { signal?: AbortSignal; db?: Db; env?: Env } = {}) {
  const { context, logs } = cleanupContext(options.db ?? db.pool, systemClock, {
    keyManager: keys,
    signal: options.signal,
  });
  return { promise: runStatsPuller(context, config(options.env)), logs };
}

async function failure(promise: Promise<unknown>): Promise<StepsFailedError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(StepsFailedError);
  return error as StepsFailedError;
}

describe('stats-puller-worker', () => {
  it('pulls realms on the system key and on their own key, storing publish_requests as [unknown, ios, android]', async () => {
    await systemKeyRealm(1);
    await realmKeyRealm(2);
    const result = await run().promise;
    expect(result).toEqual({ realms: 2, realmsPulled: 2, realmsFailed: 0, daysUpserted: 10 });
    expect(await storedDays(1)).toEqual(expectedDays(1));
    expect(await storedDays(2)).toEqual(expectedDays(2));
    // The stand-in told the realms apart: by URL for the system key, by kid (r2v2) for realm 2.
    expect(Object.fromEntries(standIn.counters.byRealm)).toEqual({ 1: 1, 2: 1 });
    const sample = standIn.documentFor(1).days[0];
    expect((await storedDays(1))[0].publish_requests).toEqual(
      [sample.publish_requests.unknown, sample.publish_requests.ios, sample.publish_requests.android].map(
        String,
      ),
    );
  });

  it('is idempotent: a second run rewrites the same rows and adds none', async () => {
    await systemKeyRealm(1);
    await realmKeyRealm(2);
    await run().promise;
    const before = [await storedDays(1), await storedDays(2)];
    await expect(run().promise).resolves.toMatchObject({ realmsPulled: 2, daysUpserted: 10 });
    expect([await storedDays(1), await storedDays(2)]).toEqual(before);
    const { rows } = await db.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM key_server_stats_days',
    );
    expect(rows[0].n).toBe(10);
  });

  it('updates a stored day with what the key server now says', async () => {
    await systemKeyRealm(1);
    const day = standIn.documentFor(1).days[0].day;
    await insertRow(db.pool, 'key_server_stats_days', {
      realm_id: 1,
      day,
      publish_requests: [9, 9, 9],
      total_teks_published: 1,
    });
    await run().promise;
    expect(await storedDays(1)).toEqual(expectedDays(1));
  });

  it.each<[string, Misbehaviour, RegExp]>([
    ['slow past the timeout', { kind: 'slow', delayMs: 3000 }, /took longer than 1000 ms .*after 4 attempts/],
    ['failing', { kind: 'fail' }, /HTTP 500.*after 4 attempts/],
    ['answering garbage', { kind: 'garbage' }, /not JSON.*after 4 attempts/],
    ['answering the wrong shape', { kind: 'wrong-shape' }, /days\[0\]\.publish_requests is not an object/],
    ['refusing the token', { kind: 'unauthorised' }, /HTTP 401/],
  ])(
    'reports a realm whose key server is %s, lands the others and keeps its stored days',
    async (_what, behaviour, message) => {
      for (const id of [1, 2, 3]) await systemKeyRealm(id);
      await realmKeyRealm(4);
      await insertRow(db.pool, 'key_server_stats_days', {
        realm_id: 3,
        day: '2026-01-01T00:00:00Z',
        publish_requests: [1, 2, 3],
        total_teks_published: 42,
      });
      const before = await storedDays(3);
      standIn.misbehave(3, behaviour);

      const { promise, logs } = run();
      const error = await failure(promise);
      expect(error.failures).toEqual([{ step: 'realm 3', error: expect.stringMatching(message) }]);
      expect(error.message).toContain('realm 3');
      expect(error.partial).toEqual({
        realms: 4,
        realmsPulled: 3,
        realmsFailed: 1,
        daysUpserted: 15,
        failedRealms: ['realm 3'],
      });
      for (const id of [1, 2, 4]) expect(await storedDays(id)).toEqual(expectedDays(id));
      expect(await storedDays(3)).toEqual(before);
      expect(logs.lines.some((line) => line.includes('failed to pull stats for realm 3'))).toBe(true);
    },
  );

  it('names every failed realm, and reports a realm_id 0 row as a configuration error', async () => {
    await systemKeyRealm(1);
    await systemKeyRealm(2);
    await insertRow(db.pool, 'key_server_stats', { realm_id: 0, key_server_url_override: standIn.url });
    // Uses its own key but has none active.
    await insertRow(db.pool, 'realms', {
      id: 5,
      name: 'Keyless',
      region_code: 'KL',
      use_realm_certificate_key: true,
      certificate_issuer: 'keyless',
    });
    await insertRow(db.pool, 'key_server_stats', { realm_id: 5 });
    // A stats row whose realm is gone.
    await insertRow(db.pool, 'key_server_stats', { realm_id: 7 });
    standIn.misbehave(2, { kind: 'fail' });

    const error = await failure(run().promise);
    expect(error.failures).toEqual([
      { step: 'realm 0', error: expect.stringMatching(/^configuration error: .*realm_id 0/) },
      { step: 'realm 2', error: expect.stringMatching(/HTTP 500/) },
      { step: 'realm 5', error: 'realm 5 uses its own certificate key but has no active signing key' },
      { step: 'realm 7', error: expect.stringMatching(/^realm 7 does not exist/) },
    ]);
    expect(error.partial).toMatchObject({ realmsPulled: 1, realmsFailed: 4 });
    expect(await storedDays(1)).toEqual(expectedDays(1));
    expect(standIn.counters.byRealm.get(0)).toBeUndefined();
  });

  it('writes a realm in one transaction: a day the database refuses leaves none of its days', async () => {
    await systemKeyRealm(1);
    await systemKeyRealm(2);
    const totals = standIn.documentFor(2).days.map((day) => day.total_teks_published);
    const limit = Math.max(...totals);
    // Refuses only realm 2's largest day; every other row of the run passes.
    await db.pool.query(
      `ALTER TABLE key_server_stats_days ADD CONSTRAINT test_refuse_one_day
         CHECK (realm_id <> 2 OR total_teks_published < ${limit}) NOT VALID`,
    );
    try {
      const error = await failure(run().promise);
      expect(error.failures).toEqual([
        { step: 'realm 2', error: expect.stringMatching(/test_refuse_one_day/) },
      ]);
      expect(await storedDays(2)).toEqual([]);
      expect(await storedDays(1)).toEqual(expectedDays(1));
    } finally {
      await db.pool.query('ALTER TABLE key_server_stats_days DROP CONSTRAINT test_refuse_one_day');
    }
  });

  it.each([1, 3, 5])('never has more than STATS_PULLER_MAX_WORKERS=%i realms in flight', async (workers) => {
    for (let id = 1; id <= 12; id += 1) await systemKeyRealm(id);
    standIn.misbehave('all', { kind: 'slow', delayMs: 60 });
    const result = await run({ env: { STATS_PULLER_MAX_WORKERS: String(workers) } }).promise;
    expect(result).toMatchObject({ realmsPulled: 12, daysUpserted: 60 });
    expect(standIn.counters.requests).toBe(12);
    expect(standIn.counters.maxInFlight).toBe(workers);
  });

  it('on abort starts no further realm, and settles only once the realms in flight have finished', async () => {
    for (let id = 1; id <= 6; id += 1) await systemKeyRealm(id);
    // Realm 1 answers at once, then waits at the database while its worker fetches realm 3;
    // realm 2's and realm 3's requests hang until cut.
    for (let id = 2; id <= 6; id += 1) standIn.misbehave(id, { kind: 'slow', delayMs: 10_000 });
    let openGate: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    let waiting = 0;
    const gated = new Proxy(db.pool, {
      get(target, property) {
        // The write of realm 1's days waits at the gate; every other query passes.
        if (property === 'query') {
          return async (...args: Parameters<Db['query']>) => {
            if (String(args[0]).includes('INSERT INTO key_server_stats_days')) {
              waiting += 1;
              await gate;
            }
            return (target.query as (...query: unknown[]) => Promise<unknown>)(...args);
          };
        }
        const value: unknown = Reflect.get(target, property);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const controller = new AbortController();
    const { promise } = run({ db: gated, signal: controller.signal, env: { STATS_PULLER_MAX_WORKERS: '2' } });
    let settled = false;
    const outcome = promise.then(
      () => undefined,
      (error: unknown) => error,
    );
    void outcome.then(() => (settled = true));

    // Bounded, so a regression fails this test instead of spinning past the end of the file.
    for (let polls = 0; waiting === 0 || standIn.counters.inFlight < 2; polls += 1) {
      if (polls > 500) throw new Error('realm 1 never reached the database or realms 2 and 3 never started');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    controller.abort(new Error('the attempt timed out'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    // The requests of realms 2 and 3 were cut and the workers stopped; realm 1's write still holds
    // the run open.
    expect(settled).toBe(false);
    expect(standIn.counters.requests).toBe(3);
    openGate();

    expect(await outcome).toEqual(new Error('the attempt timed out'));
    expect(await storedDays(1)).toEqual(expectedDays(1));
    for (let id = 2; id <= 6; id += 1) expect(await storedDays(id)).toEqual([]);
    expect(Object.fromEntries(standIn.counters.byRealm)).toEqual({ 1: 1, 2: 1, 3: 1 });
  });
});

describe('stats-puller-worker over HTTP', () => {
  it('answers 200 with the summary and records it in the ledger', async () => {
    await systemKeyRealm(1);
    await realmKeyRealm(2);
    const harness = await createHarness({
      database: db,
      env: { KEY_MANAGER: 'local', KEY_SERVER_URL: standIn.url, CERTIFICATE_SIGNING_KEY: systemVersion },
    });
    try {
      const res = await harness.invoke('stats-puller-worker', { scheduleTime: lastDueTick(1) });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        ok: true,
        status: 'succeeded',
        result: { realms: 2, realmsPulled: 2, realmsFailed: 0, daysUpserted: 10 },
      });
      expect(await storedDays(2)).toEqual(expectedDays(2));
      const attempts = await ledgerAttempts(harness.db, 'stats-puller-worker');
      expect(attempts.map((attempt) => attempt.state)).toEqual(['succeeded']);
    } finally {
      await harness.close();
    }
  });

  it('answers 500 naming the failed realm', async () => {
    await systemKeyRealm(1);
    await systemKeyRealm(2);
    standIn.misbehave(2, { kind: 'garbage' });
    const harness = await createHarness({
      database: db,
      env: { KEY_MANAGER: 'local', KEY_SERVER_URL: standIn.url, CERTIFICATE_SIGNING_KEY: systemVersion },
    });
    try {
      const res = await harness.invoke('stats-puller-worker', { scheduleTime: lastDueTick() });
      expect(res.status).toBe(500);
      expect(res.body.errors).toEqual([expect.stringMatching(/^realm 2: the response is not JSON/)]);
      expect(res.body.result).toMatchObject({ realmsPulled: 1, realmsFailed: 1, failedRealms: ['realm 2'] });
      expect(await storedDays(1)).toEqual(expectedDays(1));
    } finally {
      await harness.close();
    }
  });
});

/**
 * A tick of the job (every 15 minutes) that has come, `back` ticks before the latest: the runtime
 * refuses any other time, and each test needs a tick of its own.
 */
function lastDueTick(back = 0): string {
  const period = 15 * 60_000;
  return new Date((Math.floor(Date.now() / period) - back) * period).toISOString();
}
