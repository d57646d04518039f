import './env';
import { performance } from 'node:perf_hooks';
import { Pool } from 'pg';
import { migrate } from '../functions/db/migrate';
import { startEmbeddedPostgres } from '../local/embedded-postgres';

const tail = `SELECT (SELECT count(*)::int FROM changed) AS changed, (SELECT count(*)::int FROM batch) AS scanned, (SELECT max(id)::text FROM batch) AS last`;
const batchCte = `batch AS (SELECT id FROM verification_codes WHERE (expires_at < $1 AND long_expires_at < $1) AND id > $2::bigint ORDER BY id LIMIT $3)`;
const forms: Record<string, string> = {
  A_current: `WITH ${batchCte}, changed AS (DELETE FROM verification_codes WHERE id IN (SELECT id FROM batch) RETURNING 1) ${tail}`,
  B_any_array: `WITH ${batchCte}, changed AS (DELETE FROM verification_codes WHERE id = ANY(ARRAY(SELECT id FROM batch)) RETURNING 1) ${tail}`,
  C_range: `WITH ${batchCte}, changed AS (DELETE FROM verification_codes WHERE id > $2::bigint AND id <= (SELECT max(id) FROM batch) AND (expires_at < $1 AND long_expires_at < $1) RETURNING 1) ${tail}`,
  D_ctid: `WITH batch AS (SELECT id, ctid FROM verification_codes WHERE (expires_at < $1 AND long_expires_at < $1) AND id > $2::bigint ORDER BY id LIMIT $3),
     changed AS (DELETE FROM verification_codes WHERE ctid = ANY(ARRAY(SELECT ctid FROM batch)) AND (expires_at < $1 AND long_expires_at < $1) RETURNING 1) ${tail}`,
  F_idrange: `WITH bound AS (SELECT (SELECT id FROM verification_codes WHERE id > $2::bigint ORDER BY id OFFSET $3::int - 1 LIMIT 1) AS hi),
     changed AS (DELETE FROM verification_codes WHERE id > $2::bigint AND id <= COALESCE((SELECT hi FROM bound), 9223372036854775807) AND (expires_at < $1 AND long_expires_at < $1) RETURNING 1)
     SELECT (SELECT count(*)::int FROM changed) AS changed, CASE WHEN (SELECT hi FROM bound) IS NULL THEN 0 ELSE $3::int END AS scanned, (SELECT hi::text FROM bound) AS last`,
  E_bound: `WITH bound AS (SELECT max(id) AS hi, count(*)::int AS n FROM (SELECT id FROM verification_codes WHERE (expires_at < $1 AND long_expires_at < $1) AND id > $2::bigint ORDER BY id LIMIT $3) b),
     changed AS (DELETE FROM verification_codes WHERE id > $2::bigint AND id <= (SELECT hi FROM bound) AND (expires_at < $1 AND long_expires_at < $1) RETURNING 1)
     SELECT (SELECT count(*)::int FROM changed) AS changed, (SELECT n FROM bound) AS scanned, (SELECT hi::text FROM bound) AS last`,
};

async function main() {
  const rows = Number(process.argv[2] ?? 1000000);
  const pg = await startEmbeddedPostgres({ persistent: false, fast: true });
  try {
    await pg.createDatabase('seed');
    let pool = new Pool({ connectionString: pg.url('seed'), max: 2 });
    pool.on('error', () => undefined);
    await migrate(pool);
    await pool.query(`INSERT INTO verification_codes (created_at, updated_at, realm_id, code, long_code, uuid, claimed, test_type, test_date, expires_at, long_expires_at, issuing_user_id)
      SELECT t, t, 1 + (g % 20), lpad(((g::bigint * 7919) % 100000000)::text, 8, '0'), substr(md5(g::text), 1, 16), gen_random_uuid(), g % 3 = 0,
        (ARRAY['confirmed', 'likely', 'negative'])[1 + g % 3], t - interval '2 days', t + interval '15 minutes', t + interval '24 hours', 1 + (g % 50)
      FROM generate_series(1, $1::int) g, LATERAL (SELECT timestamptz '2023-11-01' + g * interval '2 second' AS t) x`, [rows]);
    await pool.query('VACUUM (FREEZE, ANALYZE) verification_codes');
    await pool.end();
    const cutoff = new Date('2024-01-01');
    let n = 0;
    const explain = process.argv[3] === 'explain';
    for (const size of [5000, 10000, 20000]) {
      for (const [name, sql] of Object.entries(forms).filter(([k]) => (process.env.ONLY ?? k).split(',').includes(k))) {
        if (explain && size !== 10000) continue;
        n += 1;
        await pg.createDatabase('t' + n, 'seed');
        pool = new Pool({ connectionString: pg.url('t' + n), max: 1 });
        pool.on('error', () => undefined);
        await pool.query('VACUUM ANALYZE verification_codes');
        if (explain) {
          const r = await pool.query('EXPLAIN (ANALYZE, BUFFERS) ' + sql, [cutoff, '0', size]);
          console.log(`--- ${name} @${size}\n` + r.rows.map((x) => x['QUERY PLAN']).join('\n'));
          if (name === 'A_current') {
            const l = await pool.query('EXPLAIN (ANALYZE, BUFFERS) DELETE FROM verification_codes WHERE expires_at < $1 AND long_expires_at < $1', [cutoff]);
            console.log(`--- limit\n` + l.rows.map((x) => x['QUERY PLAN']).join('\n'));
          }
          await pool.end();
          continue;
        }
        let last = '-9223372036854775808';
        let total = 0;
        const per: number[] = [];
        const started = performance.now();
        for (let i = 0; i < 10000; i++) {
          const s = performance.now();
          const { rows: r } = await pool.query(sql, [cutoff, last, size]);
          per.push(performance.now() - s);
          total += r[0].changed;
          if (r[0].scanned < size || r[0].last === null) break;
          last = r[0].last;
        }
        const ms = performance.now() - started;
        per.sort((a, b) => a - b);
        console.log(`${name} batch ${size}: ${(ms / 1000).toFixed(2)} s, ${Math.round(total / (ms / 1000))} rows/s, ${per.length} stmts, median ${per[per.length >> 1].toFixed(1)} ms, max ${per[per.length - 1].toFixed(0)} ms, deleted ${total}`);
        await pool.end();
      }
      if (!explain) {
        n += 1;
        await pg.createDatabase('t' + n, 'seed');
        pool = new Pool({ connectionString: pg.url('t' + n), max: 1 });
        pool.on('error', () => undefined);
        await pool.query('VACUUM ANALYZE verification_codes');
        const s = performance.now();
        const r = await pool.query('DELETE FROM verification_codes WHERE expires_at < $1 AND long_expires_at < $1', [cutoff]);
        const ms = performance.now() - s;
        console.log(`limit: ${(ms / 1000).toFixed(2)} s, ${Math.round((r.rowCount ?? 0) / (ms / 1000))} rows/s`);
        await pool.end();
      }
    }
  } finally {
    await pg.stop();
  }
}
void main();
