/**
 * Where the Cloud SQL connector's socket lives (cloud-sql-tunnel.ts). Kept apart from the tunnel so
 * the runtime can name the folder without loading the connector.
 */
import os from 'node:os';
import path from 'node:path';

export type CloudSqlIpType = 'PUBLIC' | 'PRIVATE' | 'PSC';

/** The file name pg looks for in the host folder (PostgreSQL's socket naming, port 5432). */
export const POSTGRES_SOCKET_FILE = '.s.PGSQL.5432';

export function socketDirectoryFor(instanceConnectionName: string): string {
  return path.join(os.tmpdir(), 'enx-cloudsql', instanceConnectionName.replace(/[^A-Za-z0-9.-]/g, '_'));
}
