/**
 * cleanup-worker's steps share the run's time: a backlog in an early step (here 200,000 expired
 * verification codes, walked one page per statement) cannot hold off the later steps. The run is
 * given a job signal that aborts after 4 s, standing in for the function timeout: before the steps
 * shared CLEANUP_TIME_BUDGET, step 2 used all of it and the later steps never ran.
 */
import { ManualClock } from '../support/manual-clock';
import { runCleanup } from '../../functions/jobs/cleanup-worker/run';
import { createTestDatabase } from '../support/database';
import type { TestDatabase } from '../support/database';
import {
  cleanupContext,
  countRows,
  insertRow,
  resetCleanupTables,
  testCleanupConfig,
} from '../support/seed-cleanup';

jest.setTimeout(120_000);

const NOW = new Date('2026-11-23T12:34:56Z');
const LONG_AGO = new Date('2000-01-01T00:00:00Z');
const BACKLOG_ROWS = 200_000;

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => database?.drop());

async function seedBacklog(): Promise<void> {
  const db = database.pool;
  await resetCleanupTables(db);
  await db.query(
    `INSERT INTO verification_codes (realm_id, code, long_code, expires_at, long_expires_at)
     SELECT 1, '', '', $1, $1 FROM generate_series(1, $2)`,
    [LONG_AGO, BACKLOG_ROWS],
  );
  await db.query('ANALYZE verification_codes');
  // A later step's rows: claimed user reports past their retention (CLAIMED_USER_REPORTS, near the end).
  for (const name of ['a', 'b', 'c']) {
    await insertRow(db, 'user_reports', {
      phone_hash: name,
      nonce: 'n',
      code_claimed: true,
      created_at: LONG_AGO,
    });
  }
}

it('runs every step on every tick despite a backlog in step 2, and the backlog drains over ticks', async () => {
  await seedBacklog();
  // One row per statement: the backlog takes thousands of statements, well past a 1 s budget.
  const config = testCleanupConfig({ CLEANUP_TIME_BUDGET: '1s', CLEANUP_BATCH_SIZE: '1' });
  const timeout = AbortSignal.timeout(4_000);
  const { context, logs } = cleanupContext(database.pool, new ManualClock(NOW), { signal: timeout });

  const result = (await runCleanup(context, config)) as {
    purged: Record<string, number>;
    backlogSteps: string[];
  };

  expect(timeout.aborted).toBe(false);
  expect(result.purged.CLAIMED_USER_REPORTS).toBe(3);
  expect(await countRows(database.pool, 'user_reports')).toBe(0);
  expect(Object.keys(result.purged)).toHaveLength(20);
  expect(result.backlogSteps).toContain('VERIFICATION_CODE');
  const left = await countRows(database.pool, 'verification_codes');
  expect(left).toBeGreaterThan(0);
  expect(left).toBeLessThan(BACKLOG_ROWS);
  expect(
    logs.lines.map((line) => JSON.parse(line)).filter((line) => line.event === 'cleanup_backlog'),
  ).toEqual([expect.objectContaining({ severity: 'WARNING', steps: result.backlogSteps })]);

  // The next ticks go on where the backlog is; with a generous budget it is gone.
  const { context: next } = cleanupContext(database.pool, new ManualClock(NOW));
  const drained = (await runCleanup(next, testCleanupConfig({ CLEANUP_TIME_BUDGET: '50s' }))) as {
    backlogSteps: string[];
  };
  expect(drained.backlogSteps).toEqual([]);
  expect(await countRows(database.pool, 'verification_codes')).toBe(0);
});
