/**
 * Batched deletes and updates (functions/db/batches.ts) on a real PostgreSQL: every matching row
 * and nothing else, in more than one statement, by id and by ctid; an abort stops between batches
 * with earlier batches committed; a row changed concurrently is re-checked before it is touched.
 */
import { deleteInBatches, updateInBatches } from '../../functions/db/batches';
import type { BatchTarget } from '../../functions/db/batches';
import { createTestDatabase } from '../support/database';
import type { TestDatabase } from '../support/database';
import { countRows, resetCleanupTables } from '../support/seed-cleanup';

const OLD = new Date('2000-01-01T00:00:00Z');
const RECENT = new Date('2026-11-23T12:00:00Z');
const THRESHOLD = new Date('2026-01-01T00:00:00Z');

let database: TestDatabase;
const db = () => database.pool;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => database.drop());
beforeEach(async () => resetCleanupTables(db()));

/** 300 audit entries; every third one recent, so matching ids are interleaved with others. */
async function seedAuditEntries(): Promise<void> {
  await db().query(
    `INSERT INTO audit_entries (realm_id, actor_id, actor_display, action, target_id, target_display, created_at)
     SELECT 0, 'a', 'a', 'act', 't', 't', CASE WHEN g % 3 = 0 THEN $2::timestamptz ELSE $1::timestamptz END
       FROM generate_series(1, 300) g`,
    [OLD, RECENT],
  );
}

/** 300 user_stats rows (no id column); every third one recent. */
async function seedUserStats(): Promise<void> {
  await db().query(
    `INSERT INTO user_stats (date, realm_id, user_id, codes_issued)
     SELECT CASE WHEN g % 3 = 0 THEN DATE '2026-11-23' ELSE DATE '2000-01-01' END, 1, g, 1
       FROM generate_series(1, 300) g`,
  );
}

const TARGETS: Record<'id' | 'ctid', { seed: () => Promise<void>; target: BatchTarget }> = {
  id: {
    seed: seedAuditEntries,
    target: { table: 'audit_entries', where: 'created_at < $1', params: [THRESHOLD] },
  },
  ctid: {
    seed: seedUserStats,
    target: { table: 'user_stats', where: 'date < $1::date', params: ['2026-01-01'], key: 'ctid' },
  },
};

describe.each(['id', 'ctid'] as const)('deleteInBatches keyed by %s', (key) => {
  const { seed, target } = TARGETS[key];

  it('deletes every matching row and nothing else, in several statements', async () => {
    await seed();
    const batches: number[] = [];
    const deleted = await deleteInBatches(db(), target, {
      batchSize: 7,
      onBatch: (rows) => batches.push(rows),
    });
    expect(deleted).toBe(200);
    expect(await countRows(db(), target.table)).toBe(100);
    expect(await countRows(db(), target.table, target.where.replace('$1', `'2026-01-01'`))).toBe(0);
    // 200 rows at 7 a statement: 28 full batches, then the 4 left over.
    expect(batches.length).toBe(29);
    expect(batches.every((rows) => rows <= 7)).toBe(true);
    expect(batches.reduce((sum, rows) => sum + rows, 0)).toBe(200);
  });

  it('ends with one empty statement when the rows fill the last batch exactly', async () => {
    await seed();
    const batches: number[] = [];
    expect(
      await deleteInBatches(db(), target, { batchSize: 40, onBatch: (rows) => batches.push(rows) }),
    ).toBe(200);
    expect(batches).toEqual([40, 40, 40, 40, 40, 0]);
  });

  it('stops between batches when aborted, keeping what earlier batches deleted', async () => {
    await seed();
    const controller = new AbortController();
    const batches: number[] = [];
    const run = deleteInBatches(db(), target, {
      batchSize: 7,
      signal: controller.signal,
      onBatch: (rows) => {
        batches.push(rows);
        if (batches.length === 2) controller.abort(new Error('timed out (test)'));
      },
    });
    await expect(run).rejects.toThrow('timed out (test)');
    expect(batches).toEqual([7, 7]);
    expect(await countRows(db(), target.table)).toBe(300 - 14);
  });

  it('does nothing when already aborted', async () => {
    await seed();
    const controller = new AbortController();
    controller.abort(new Error('aborted before start'));
    await expect(deleteInBatches(db(), target, { batchSize: 7, signal: controller.signal })).rejects.toThrow(
      'aborted before start',
    );
    expect(await countRows(db(), target.table)).toBe(300);
  });
});

describe('updateInBatches', () => {
  beforeEach(async () => {
    await db().query(
      `INSERT INTO verification_codes (realm_id, code, long_code, expires_at, long_expires_at)
       SELECT 1, 'c' || g, 'l' || g, CASE WHEN g % 4 = 0 THEN $2::timestamptz ELSE $1::timestamptz END, $1
         FROM generate_series(1, 100) g`,
      [OLD, RECENT],
    );
  });
  const target: BatchTarget = {
    table: 'verification_codes',
    where: "expires_at < $1 AND long_expires_at < $1 AND (code != '' OR long_code != '')",
    params: [THRESHOLD],
  };

  it('updates every matching row once, in several statements', async () => {
    const batches: number[] = [];
    const updated = await updateInBatches(db(), target, "code = '', long_code = ''", {
      batchSize: 7,
      onBatch: (rows) => batches.push(rows),
    });
    expect(updated).toBe(75);
    expect(batches.length).toBe(11);
    expect(await countRows(db(), 'verification_codes', "code = '' AND long_code = ''")).toBe(75);
    expect(await countRows(db(), 'verification_codes', "code != ''")).toBe(25);
    // A second pass finds nothing left.
    expect(await updateInBatches(db(), target, "code = '', long_code = ''", { batchSize: 7 })).toBe(0);
  });

  it('refuses to walk by ctid, where an updated row that still matched would be chosen forever', async () => {
    await expect(
      updateInBatches(db(), { ...target, key: 'ctid' }, "code = ''", { batchSize: 7 }),
    ).rejects.toThrow(/id key/);
    expect(await countRows(db(), 'verification_codes', "code = ''")).toBe(0);
  });
});

describe('batch arguments', () => {
  it('numbers the placeholders after the caller’s parameters', async () => {
    await seedAuditEntries();
    await db().query(`UPDATE audit_entries SET actor_id = 'keep' WHERE id <= 10`);
    const deleted = await deleteInBatches(
      db(),
      { table: 'audit_entries', where: 'created_at < $1 AND actor_id = $2', params: [THRESHOLD, 'a'] },
      { batchSize: 7 },
    );
    // Ids 1..10 hold 7 old rows (3, 6, 9 are recent) now kept by actor_id.
    expect(deleted).toBe(200 - 7);
  });

  it.each([0, -1, 1.5])('refuses a batch size of %s', async (batchSize) => {
    await expect(deleteInBatches(db(), TARGETS.id.target, { batchSize })).rejects.toThrow(/batch size/);
  });
});

describe('a row changed while its batch waits for the row lock', () => {
  /** Resolves once some statement of this database waits on a lock. */
  async function someoneWaitsOnALock(): Promise<void> {
    for (let polls = 0; polls < 1000; polls += 1) {
      const { rows } = await db().query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      );
      if (rows[0].n > 0) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error('no statement ever waited on the row lock');
  }

  it.each(['id', 'ctid'] as const)(
    'is re-checked and kept when it no longer matches (keyed by %s)',
    async (key) => {
      await db().query(
        `INSERT INTO authorized_apps (id, name, deleted_at) VALUES (1, 'restored', $1), (2, 'purged', $1)`,
        [OLD],
      );
      const admin = await db().connect();
      try {
        // An admin restores API key 1 and has not committed when cleanup chooses its batch.
        await admin.query('BEGIN');
        await admin.query('UPDATE authorized_apps SET deleted_at = NULL WHERE id = 1');
        const run = deleteInBatches(
          db(),
          {
            table: 'authorized_apps',
            where: 'deleted_at IS NOT NULL AND deleted_at < $1',
            params: [THRESHOLD],
            key,
          },
          { batchSize: 10 },
        );
        await someoneWaitsOnALock();
        await admin.query('COMMIT');
        expect(await run).toBe(1);
      } finally {
        admin.release();
      }
      const { rows } = await db().query('SELECT id, deleted_at FROM authorized_apps ORDER BY id');
      expect(rows).toEqual([{ id: 1, deleted_at: null }]);
    },
  );
});
