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

/** Heap pages of a table, as the page walk sees them. */
async function pagesOf(table: string): Promise<number> {
  const { rows } = await db().query(
    `SELECT (pg_relation_size($1::regclass) / current_setting('block_size')::int)::int AS pages`,
    [table],
  );
  return rows[0].pages;
}

describe.each(['id', 'ctid'] as const)(
  'deleteInBatches by key ranges (PostgreSQL before 14), keyed by %s',
  (key) => {
    const { seed, target } = TARGETS[key];
    const options = { strategy: 'keys' } as const;

    // The id walk takes fixed ranges of batchSize ids (so with every third row recent, a range of 7
    // ids holds 4 or 5 matching rows); the ctid walk takes batchSize matching rows at a time.
    const shape = {
      id: { statementsAt7: Math.ceil(300 / 7), firstTwoAt7: [5, 5], at40: [27, 27, 26, 27, 27, 26, 27, 13] },
      ctid: { statementsAt7: Math.ceil(200 / 7), firstTwoAt7: [7, 7], at40: [40, 40, 40, 40, 40, 0] },
    }[key];

    it('deletes every matching row and nothing else, in several statements', async () => {
      await seed();
      const batches: number[] = [];
      const deleted = await deleteInBatches(db(), target, {
        ...options,
        batchSize: 7,
        onBatch: (rows) => batches.push(rows),
      });
      expect(deleted).toBe(200);
      expect(await countRows(db(), target.table)).toBe(100);
      expect(await countRows(db(), target.table, target.where.replace('$1', `'2026-01-01'`))).toBe(0);
      expect(batches.length).toBe(shape.statementsAt7);
      expect(batches.every((rows) => rows <= 7)).toBe(true);
      expect(batches.reduce((sum, rows) => sum + rows, 0)).toBe(200);
    });

    it('never changes more than batchSize rows in one statement', async () => {
      await seed();
      const batches: number[] = [];
      expect(
        await deleteInBatches(db(), target, {
          ...options,
          batchSize: 40,
          onBatch: (rows) => batches.push(rows),
        }),
      ).toBe(200);
      expect(batches).toEqual(shape.at40);
    });

    it('stops between batches when aborted, keeping what earlier batches deleted', async () => {
      await seed();
      const controller = new AbortController();
      const batches: number[] = [];
      const run = deleteInBatches(db(), target, {
        ...options,
        batchSize: 7,
        signal: controller.signal,
        onBatch: (rows) => {
          batches.push(rows);
          if (batches.length === 2) controller.abort(new Error('timed out (test)'));
        },
      });
      await expect(run).rejects.toThrow('timed out (test)');
      expect(batches).toEqual(shape.firstTwoAt7);
      expect(await countRows(db(), target.table)).toBe(300 - shape.firstTwoAt7[0] - shape.firstTwoAt7[1]);
    });
  },
);

describe.each(['id', 'ctid'] as const)(
  'deleteInBatches by page ranges (PostgreSQL 14+), table keyed by %s',
  (key) => {
    const { seed, target } = TARGETS[key];

    it('is the strategy chosen on this server', async () => {
      await seed();
      const batches: number[] = [];
      await deleteInBatches(db(), target, { batchSize: 1, onBatch: (rows) => batches.push(rows) });
      // One statement per page when a batch is smaller than a page's worth of rows.
      expect(batches.length).toBe(await pagesOf(target.table));
    });

    it('deletes every matching row and nothing else, one page range at a time', async () => {
      await seed();
      const pages = await pagesOf(target.table);
      expect(pages).toBeGreaterThanOrEqual(2);
      const batches: number[] = [];
      const deleted = await deleteInBatches(db(), target, {
        strategy: 'pages',
        batchSize: 1,
        onBatch: (rows) => batches.push(rows),
      });
      expect(deleted).toBe(200);
      expect(await countRows(db(), target.table)).toBe(100);
      expect(await countRows(db(), target.table, target.where.replace('$1', `'2026-01-01'`))).toBe(0);
      expect(batches).toHaveLength(pages);
      expect(batches.reduce((sum, rows) => sum + rows, 0)).toBe(200);
    });

    it('covers several pages per statement when batches are large', async () => {
      await seed();
      await db().query(`ANALYZE ${target.table}`);
      const batches: number[] = [];
      expect(
        await deleteInBatches(db(), target, {
          strategy: 'pages',
          batchSize: 100_000,
          onBatch: (rows) => batches.push(rows),
        }),
      ).toBe(200);
      expect(batches).toEqual([200]);
    });

    it('stops between batches when aborted, keeping what earlier batches deleted', async () => {
      await seed();
      const controller = new AbortController();
      const batches: number[] = [];
      const run = deleteInBatches(db(), target, {
        strategy: 'pages',
        batchSize: 1,
        signal: controller.signal,
        onBatch: (rows) => {
          batches.push(rows);
          if (batches.length === 1) controller.abort(new Error('timed out (test)'));
        },
      });
      await expect(run).rejects.toThrow('timed out (test)');
      expect(batches).toHaveLength(1);
      expect(batches[0]).toBeGreaterThan(0);
      expect(await countRows(db(), target.table)).toBe(300 - batches[0]);
    });

    it('does nothing when already aborted', async () => {
      await seed();
      const controller = new AbortController();
      controller.abort(new Error('aborted before start'));
      await expect(
        deleteInBatches(db(), target, { batchSize: 7, signal: controller.signal }),
      ).rejects.toThrow('aborted before start');
      expect(await countRows(db(), target.table)).toBe(300);
    });
  },
);

describe('the id walk (PostgreSQL before 14)', () => {
  it('skips long gaps between ids with one probe instead of walking through them', async () => {
    await db().query(
      `INSERT INTO audit_entries (id, realm_id, actor_id, actor_display, action, target_id, target_display, created_at)
       SELECT g, 0, 'a', 'a', 'act', 't', 't', $1::timestamptz FROM generate_series(1, 10) g
       UNION ALL
       SELECT 1000000000 + g, 0, 'a', 'a', 'act', 't', 't', $1::timestamptz FROM generate_series(1, 10) g`,
      [OLD],
    );
    const batches: number[] = [];
    const target: BatchTarget = { table: 'audit_entries', where: 'created_at < $1', params: [THRESHOLD] };
    expect(
      await deleteInBatches(db(), target, {
        strategy: 'keys',
        batchSize: 7,
        onBatch: (rows) => batches.push(rows),
      }),
    ).toBe(20);
    expect(batches).toEqual([7, 3, 7, 3]);
  });

  it('does nothing on an empty table', async () => {
    const target: BatchTarget = { table: 'audit_entries', where: 'created_at < $1', params: [THRESHOLD] };
    expect(await deleteInBatches(db(), target, { strategy: 'keys', batchSize: 7 })).toBe(0);
    expect(await deleteInBatches(db(), target, { strategy: 'pages', batchSize: 7 })).toBe(0);
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

  it.each(['keys', 'pages'] as const)(
    'updates every matching row once, in several statements (%s)',
    async (strategy) => {
      const batches: number[] = [];
      const updated = await updateInBatches(db(), target, "code = '', long_code = ''", {
        strategy,
        batchSize: 7,
        onBatch: (rows) => batches.push(rows),
      });
      expect(updated).toBe(75);
      if (strategy === 'keys') {
        // 100 ids in ranges of 7.
        expect(batches.length).toBe(Math.ceil(100 / 7));
        expect(batches.every((rows) => rows <= 7)).toBe(true);
      } else {
        expect(batches.length).toBeGreaterThanOrEqual(1);
      }
      expect(await countRows(db(), 'verification_codes', "code = '' AND long_code = ''")).toBe(75);
      expect(await countRows(db(), 'verification_codes', "code != ''")).toBe(25);
      // A second pass finds nothing left.
      expect(
        await updateInBatches(db(), target, "code = '', long_code = ''", { strategy, batchSize: 7 }),
      ).toBe(0);
    },
  );

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
