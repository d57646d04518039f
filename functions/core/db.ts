/**
 * One Postgres pool per function instance, created lazily so a warm instance reuses its
 * connections. Error handlers are always attached: an idle client whose server goes away emits
 * 'error', and an unhandled 'error' event would crash the process mid-job.
 */
import { Pool } from 'pg';
import type { PoolClient, PoolConfig } from 'pg';
import type { Logger } from './logger';

export type Db = Pool;
export type DbClient = PoolClient;

export interface DbSettings {
  /** A postgres:// URL; when set, wins over the discrete settings. */
  readonly url?: string;
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password?: string;
  readonly sslMode: 'disable' | 'require' | 'verify-ca' | 'verify-full';
  readonly maxConnections: number;
  readonly connectTimeoutMs: number;
  /** Shows up in pg_stat_activity, so a DBA can tell which job holds a connection. */
  readonly applicationName: string;
}

export function createPool(settings: DbSettings, logger: Logger): Db {
  const config: PoolConfig = settings.url
    ? { connectionString: settings.url }
    : {
        host: settings.host,
        port: settings.port,
        database: settings.database,
        user: settings.user,
        password: settings.password,
        ssl: settings.sslMode === 'disable' ? false : { rejectUnauthorized: settings.sslMode !== 'require' },
      };
  const pool = new Pool({
    ...config,
    max: settings.maxConnections,
    connectionTimeoutMillis: settings.connectTimeoutMs,
    idleTimeoutMillis: 60_000,
    application_name: settings.applicationName,
  });
  pool.on('error', (error) => logger.warn('idle database connection failed', { event: 'db_error', error }));
  pool.on('connect', (client) => {
    client.on('error', (error) => logger.warn('database connection failed', { event: 'db_error', error }));
  });
  return pool;
}

/** Runs `work` in a transaction; commits when it resolves, rolls back when it throws. */
export async function withTransaction<T>(db: Db, work: (client: DbClient) => Promise<T>): Promise<T> {
  const client = await db.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
