/**
 * The path from a function to a Cloud SQL instance: Google's Cloud SQL Node.js Connector
 * (@google-cloud/cloud-sql-connector). Gen2 functions get no /cloudsql socket of their own (the
 * Cloud Functions API has no Cloud SQL setting; provider issues #12578 and #20735, open on
 * 2026-12-06), so the connector opens one inside the instance: a Unix socket whose connections it
 * carries over mTLS to the instance's port 3307, with an ephemeral certificate from the SQL Admin
 * API, authorized by the function account's roles/cloudsql.client
 * (https://cloud.google.com/sql/docs/postgres/connect-connectors, read 2026-12-06).
 *
 * pg then connects to that socket as to a local server; TLS to the database is the tunnel's.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { AuthTypes, Connector, IpAddressTypes } from '@google-cloud/cloud-sql-connector';
import type { ConnectorOptions } from '@google-cloud/cloud-sql-connector/dist/cjs/connector';
import { PassThroughClient } from 'google-auth-library';
import { loopbackHttpEndpoint } from './loopback';
import { POSTGRES_SOCKET_FILE, socketDirectoryFor } from '../core/cloud-sql-socket';
import type { CloudSqlTunnel, CloudSqlTunnelSettings } from '../core/cloud-sql-socket';

export async function openCloudSqlTunnel(settings: CloudSqlTunnelSettings): Promise<CloudSqlTunnel> {
  const socketDirectory = socketDirectoryFor(settings.instanceConnectionName);
  mkdirSync(socketDirectory, { recursive: true });
  // A loopback stand-in gets no credentials, and the auth library never looks for any (which
  // would probe the metadata server); Google's endpoint gets the function account's.
  const connector = new Connector(
    settings.sqlAdminEndpoint
      ? {
          sqlAdminAPIEndpoint: loopbackHttpEndpoint(settings.sqlAdminEndpoint),
          // The connector ships its own google-auth-library; the client is the same shape.
          auth: new PassThroughClient() as unknown as ConnectorOptions['auth'],
        }
      : {},
  );
  try {
    await connector.startLocalProxy({
      instanceConnectionName: settings.instanceConnectionName,
      ipType: IpAddressTypes[settings.ipType],
      authType: AuthTypes.PASSWORD,
      listenOptions: { path: path.join(socketDirectory, POSTGRES_SOCKET_FILE) },
    });
  } catch (error) {
    connector.close();
    throw new Error(
      `could not open the Cloud SQL connector to ${settings.instanceConnectionName} over its ${settings.ipType} IP ` +
        `(CLOUD_SQL_INSTANCE, CLOUD_SQL_IP_TYPE): ${(error as Error).message}. Check the connection name, that the ` +
        'instance has an IP of that type (PRIVATE and PSC also need the VPC connector), and that the function account holds roles/cloudsql.client',
      { cause: error },
    );
  }
  return { socketDirectory, close: () => connector.close() };
}
