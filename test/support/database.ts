/**
 * A database of the test file's own, cloned from the migrated template, dropped at the end.
 */
import { randomBytes } from 'node:crypto';
import { Client, Pool } from 'pg';

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  readonly pool: Pool;
  drop(): Promise<void>;
}

async function admin<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: process.env.ENX_TEST_PG_ADMIN_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** empty: a database with nothing in it (template0) instead of a clone of the migrated template. */
export async function createTestDatabase(
  poolSize = 10,
  options: { empty?: boolean } = {},
): Promise<TestDatabase> {
  const adminUrl = process.env.ENX_TEST_PG_ADMIN_URL;
  const template = process.env.ENX_TEST_PG_TEMPLATE;
  if (!adminUrl || !template)
    throw new Error('test Postgres is not running: run the tests through jest (npm test)');
  const name = `enx_test_${randomBytes(5).toString('hex')}`;
  const source = options.empty ? 'template0' : template;
  await admin((client) => client.query(`CREATE DATABASE ${name} TEMPLATE ${source}`));
  const url = adminUrl.replace(/\/postgres$/, `/${name}`);
  const pool = new Pool({ connectionString: url, max: poolSize });
  pool.on('error', () => undefined);
  return {
    name,
    url,
    pool,
    async drop() {
      await pool.end();
      await admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}
