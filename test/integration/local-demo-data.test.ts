/**
 * The local fleet's demo data: seeded once per database and once per clock hour, with rows placed
 * so that cleanup-worker has work on its first run and on every five-minute run after it.
 */
import { cleanupWorker } from '../../functions/catalog';
import { ManualClock } from '../support/manual-clock';
import { MINUTE_MS } from '../../functions/core/duration';
import { agesAround, batchName, seedDemoData } from '../../local/demo-data';
import { createHarness, TEST_TOKEN_SIGNING_KEY } from '../support/harness';
import type { Harness } from '../support/harness';

const START = new Date('2026-03-10T12:30:00Z');
const thresholds = cleanupWorker.config.parse({ TOKEN_SIGNING_KEY: TEST_TOKEN_SIGNING_KEY });

/** Steps whose thresholds are instants (not whole days): a row crosses one every five minutes. */
const CONTINUOUS_STEPS = [
  'API_KEYS',
  'VERIFICATION_CODE',
  'VERIFICATION_CODE_RECYCLE',
  'VERIFICATION_TOKEN',
  'MOBILE_APP',
  'AUDIT_ENTRY',
  'USER',
  'TOKEN_SIGNING_KEY',
  'VERIFICATION_SIGNING_KEY',
  'UNCLAIMED_USER_REPORTS',
  'CLAIMED_USER_REPORTS',
];

describe('agesAround and batchName', () => {
  it('places rows past a threshold, crossing it every five minutes for an hour, and one kept', () => {
    const ages = agesAround(60 * MINUTE_MS).map((ms) => ms / MINUTE_MS);
    expect(ages.filter((age) => age > 60)).toEqual([60 + 24 * 60, 120, 61]);
    expect(ages.filter((age) => age <= 60)).toEqual([58, 53, 48, 43, 38, 33, 28, 23, 18, 13, 8, 3]);
    // The day-short row would be younger than zero here, so it is left out.
    expect(agesAround(10 * 24 * 60 * MINUTE_MS)).toHaveLength(16);
  });

  it('names batches by UTC hour', () => {
    expect(batchName(START)).toBe('hour-2026-03-10T12');
  });
});

describe('seedDemoData', () => {
  let harness: Harness;
  const clock = new ManualClock(START);
  const purged = async (tick: string) => {
    const res = await harness.invoke('cleanup-worker', { scheduleTime: tick });
    expect(res.status).toBe(200);
    return res.body.result.purged as Record<string, number>;
  };

  beforeAll(async () => {
    harness = await createHarness({ clock });
  });
  afterAll(async () => harness.close());

  it('seeds the base and the hour batch once, however often it is called', async () => {
    const first = await seedDemoData(harness.db.pool, { now: START, thresholds });
    expect(first).toMatchObject({ base: true, batch: 'hour-2026-03-10T12' });
    expect(first.rows).toBeGreaterThan(200);
    const counts = await harness.db.pool.query(
      'SELECT (SELECT count(*) FROM realms) AS realms, (SELECT count(*) FROM verification_codes) AS codes',
    );
    const again = await seedDemoData(harness.db.pool, {
      now: new Date(START.getTime() + 20 * MINUTE_MS),
      thresholds,
    });
    expect(again).toEqual({ base: false, rows: 0 });
    const after = await harness.db.pool.query(
      'SELECT (SELECT count(*) FROM realms) AS realms, (SELECT count(*) FROM verification_codes) AS codes',
    );
    expect(after.rows).toEqual(counts.rows);
    const active = await harness.db.pool.query(
      'SELECT count(*)::int AS n FROM token_signing_keys WHERE is_active',
    );
    expect(active.rows[0].n).toBe(1);
  });

  it('gives cleanup work on every step at once, and on every time-threshold step five minutes later', async () => {
    const firstRun = await purged('2026-03-10T12:30:00Z');
    for (const [step, count] of Object.entries(firstRun)) expect([step, count > 0]).toEqual([step, true]);

    clock.advance(5 * MINUTE_MS);
    const nextRun = await purged('2026-03-10T12:35:00Z');
    for (const step of CONTINUOUS_STEPS) expect([step, nextRun[step]]).toEqual([step, 1]);
  });

  it('tops up with fresh expired rows in a later hour', async () => {
    const later = new Date(START.getTime() + 90 * MINUTE_MS);
    clock.set(later);
    const topUp = await seedDemoData(harness.db.pool, { now: later, thresholds });
    expect(topUp).toMatchObject({ base: false, batch: 'hour-2026-03-10T14' });
    const run = await purged('2026-03-10T14:00:00Z');
    for (const step of CONTINUOUS_STEPS) expect([step, run[step] >= 3]).toEqual([step, true]);
  });
});
