/**
 * The runtime's side of the Cloud SQL connector (adapters/cloud-sql-tunnel.ts): where its socket
 * lives, and the shape of the opener the entry hands the runtime. The runtime names the folder
 * without loading the connector; only an entry that wires the opener loads it.
 */
import os from 'node:os';
import path from 'node:path';

export type CloudSqlIpType = 'PUBLIC' | 'PRIVATE' | 'PSC';

/** The file name pg looks for in the host folder (PostgreSQL's socket naming, port 5432). */
export const POSTGRES_SOCKET_FILE = '.s.PGSQL.5432';

export function socketDirectoryFor(instanceConnectionName: string): string {
  return path.join(os.tmpdir(), 'enx-cloudsql', instanceConnectionName.replace(/[^A-Za-z0-9.-]/g, '_'));
}

export interface CloudSqlTunnelSettings {
  /** project:region:instance */
  readonly instanceConnectionName: string;
  readonly ipType: CloudSqlIpType;
  /** http://127.0.0.1:<port> of a loopback SQL Admin stand-in; empty means Google's. */
  readonly sqlAdminEndpoint?: string;
}

export interface CloudSqlTunnel {
  /** The folder pg is given as host; the socket is `<folder>/.s.PGSQL.5432`. */
  readonly socketDirectory: string;
  close(): void;
}

export type CloudSqlTunnelOpener = (settings: CloudSqlTunnelSettings) => Promise<CloudSqlTunnel>;
