/**
 * A loopback stand-in for the network side of a Cloud SQL instance, as the Cloud SQL connectors
 * reach it, in front of a real PostgreSQL. Derived from Google's documentation (read 2026-12-06):
 *
 * - Connectors: https://cloud.google.com/sql/docs/postgres/connect-connectors. The instance's
 *   server-side proxy listens on port 3307 and speaks TLS 1.3; it only accepts a client that
 *   presents a certificate the instance's CA signed, obtained from the SQL Admin API's
 *   generateEphemeralCert for the client's own public key, valid for one hour.
 * - connect.get (connectSettings) and connect.generateEphemeralCert, SQL Admin API v1beta4:
 *   https://cloud.google.com/sql/docs/postgres/admin-api/rest/v1beta4/connect. The server CA
 *   certificate, the instance's IP addresses (PRIMARY for public, PRIVATE) and its region.
 * - The server certificate of an instance without a DNS name carries `<project>:<instance>` as its
 *   common name (Cloud SQL's legacy per-instance CA); that is what this stand-in presents.
 *
 * So it refuses what the real one refuses: no client certificate, a certificate its CA did not
 * sign, TLS below 1.3. Certificates come from the system's openssl, as in the SMTP tests.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import type { Server as TlsServer } from 'node:tls';

/** The port Cloud SQL's server-side proxy listens on; the connectors always dial it. */
export const CLOUD_SQL_PROXY_PORT = 3307;

export interface FakeCloudSqlInstanceOptions {
  /** project:region:instance */
  readonly connectionName: string;
  /** Where the real PostgreSQL behind the instance listens. */
  readonly postgres: { readonly host: string; readonly port: number };
}

export interface FakeCloudSqlInstance {
  readonly connectionName: string;
  readonly project: string;
  readonly region: string;
  readonly instance: string;
  /** The loopback address standing for the instance's public IP. */
  readonly ipAddress: string;
  /** PEM of the CA that signs the server's and the clients' certificates. */
  readonly caCertificate: string;
  /** Signs a client's PEM public key for an hour, as generateEphemeralCert does. */
  signEphemeralCertificate(publicKeyPem: string): string;
  /** How many TLS clients were refused (no or foreign certificate). */
  readonly refusedClients: () => number;
  close(): Promise<void>;
}

function openssl(args: readonly string[], cwd: string): void {
  const result = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(
      `openssl ${args[0]} failed (is openssl installed?): ${result.stderr || result.error?.message}`,
    );
  }
}

function makeAuthority(folder: string, commonName: string): void {
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '2',
      '-subj',
      '/CN=Google Cloud SQL Server CA/O=enx-jobs fake',
    ],
    folder,
  );
  openssl(
    [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'server.key',
      '-out',
      'server.csr',
      '-subj',
      `/CN=${commonName}`,
    ],
    folder,
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'server.crt',
      '-days',
      '2',
    ],
    folder,
  );
}

/** 127.0.0.2-127.0.0.254, so that parallel test runs each get a port 3307 of their own. */
function loopbackAlias(): string {
  return `127.0.0.${2 + Math.floor(Math.random() * 253)}`;
}

function listen(server: TlsServer, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(CLOUD_SQL_PROXY_PORT, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

export async function startFakeCloudSqlInstance(
  options: FakeCloudSqlInstanceOptions,
): Promise<FakeCloudSqlInstance> {
  const parts = options.connectionName.split(':');
  const instance = parts.pop() ?? '';
  const region = parts.pop() ?? '';
  const project = parts.join(':');
  const folder = mkdtempSync(path.join(os.tmpdir(), 'enx-fake-cloudsql-'));
  makeAuthority(folder, `${project}:${instance}`);
  const read = (file: string) => readFileSync(path.join(folder, file), 'utf8');
  let refused = 0;

  const server = createTlsServer(
    {
      key: read('server.key'),
      cert: read('server.crt'),
      ca: read('ca.crt'),
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.3',
    },
    (client) => {
      const upstream = connectTcp(options.postgres.port, options.postgres.host);
      client.pipe(upstream).pipe(client);
      const end = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', end);
      upstream.on('error', end);
    },
  );
  server.on('tlsClientError', () => (refused += 1));

  let ipAddress = '';
  for (let tries = 0; ; tries += 1) {
    ipAddress = loopbackAlias();
    try {
      await listen(server, ipAddress);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || tries > 10) throw error;
    }
  }

  let serial = 0;
  return {
    connectionName: options.connectionName,
    project,
    region,
    instance,
    ipAddress,
    caCertificate: read('ca.crt'),
    signEphemeralCertificate(publicKeyPem) {
      serial += 1;
      const keyFile = `client-${serial}.pub`;
      writeFileSync(path.join(folder, keyFile), publicKeyPem);
      const certFile = `client-${serial}.crt`;
      // -days takes whole days; the real certificate lives an hour, which the connector refreshes.
      openssl(
        [
          'x509',
          '-new',
          '-force_pubkey',
          keyFile,
          '-subj',
          '/CN=enx-jobs ephemeral',
          '-CA',
          'ca.crt',
          '-CAkey',
          'ca.key',
          '-days',
          '1',
          '-out',
          certFile,
        ],
        folder,
      );
      return read(certFile);
    },
    refusedClients: () => refused,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          rmSync(folder, { recursive: true, force: true });
          resolve();
        });
      }),
  };
}
