/**
 * The runtime's database settings as libpq environment variables, for the command-line tools
 * (pg_dump) that must reach the same database as the pool. The password travels only in the child's
 * PGPASSWORD, never in argv (visible to every user in `ps`) and never in a log line.
 */
import type { DbSettings } from '../core/db';

export interface PgConnection {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password?: string;
  readonly sslMode: string;
}

/** DATABASE_URL wins over the DB_* settings, as for the pool (functions/core/db.ts). */
export function pgConnection(
  settings: Pick<DbSettings, 'url' | 'host' | 'port' | 'database' | 'user' | 'password' | 'sslMode'>,
): PgConnection {
  if (!settings.url) {
    return {
      host: settings.host,
      port: settings.port,
      database: settings.database,
      user: settings.user,
      password: settings.password,
      sslMode: settings.sslMode,
    };
  }
  let url: URL;
  try {
    url = new URL(settings.url);
  } catch {
    // The URL holds the password: never repeat it in the message.
    throw new Error(
      'DATABASE_URL is not a valid URL: write it as postgres://user:password@host:port/database',
    );
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new Error(`DATABASE_URL must start with postgres:// (it starts with ${url.protocol}//)`);
  }
  return {
    host: decodeURIComponent(url.hostname.replace(/^\[(.*)\]$/, '$1')) || 'localhost',
    port: url.port ? Number(url.port) : 5432,
    database: decodeURIComponent(url.pathname.replace(/^\//, '')) || decodeURIComponent(url.username),
    user: decodeURIComponent(url.username),
    password: url.password ? decodeURIComponent(url.password) : undefined,
    // node-pg's default for a URL without sslmode is no TLS; libpq's would be "prefer".
    sslMode: url.searchParams.get('sslmode') ?? 'disable',
  };
}

/** The child environment: libpq variables only, plus PATH and a C locale so messages are English. */
export function libpqEnv(connection: PgConnection, applicationName: string): NodeJS.ProcessEnv {
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    LC_ALL: 'C',
    PGHOST: connection.host,
    PGPORT: String(connection.port),
    PGDATABASE: connection.database,
    PGUSER: connection.user,
    PGPASSWORD: connection.password,
    PGSSLMODE: connection.sslMode,
    PGAPPNAME: applicationName,
    PGCONNECT_TIMEOUT: '10',
  };
  // An empty variable is not the same as an unset one to libpq: leave out what is not set.
  return Object.fromEntries(Object.entries(env).filter(([, value]) => value));
}

export const describeConnection = (connection: PgConnection) =>
  `database "${connection.database}" on ${connection.host}:${connection.port}`;
