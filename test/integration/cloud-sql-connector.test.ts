/**
 * The deployed database path, offline: a function whose settings name a Cloud SQL instance reaches
 * its database through Google's Cloud SQL Node.js Connector (functions/adapters/cloud-sql-tunnel.ts),
 * which asks a loopback SQL Admin API for the instance's CA, address and an ephemeral client
 * certificate, then dials the instance's TLS 1.3 front (port 3307) in front of the test Postgres.
 * The request goes through the local Cloud Run edge, as in production.
 */
import { connect as connectTls } from 'node:tls';
import { startTokenIssuer } from '../../local/token-issuer';
import type { TokenIssuer } from '../../local/token-issuer';
import { startFakeCloudSqlInstance } from '../support/fake-google/cloud-sql-instance';
import type { FakeCloudSqlInstance } from '../support/fake-google/cloud-sql-instance';
import { startFakeSqlAdmin } from '../support/fake-google/sql-admin-service';
import type { FakeSqlAdmin } from '../support/fake-google/sql-admin-service';
import type { Env } from '../../functions/core/config';
import { createTestDatabase } from '../support/database';
import type { TestDatabase } from '../support/database';
import { startFunctionProcess } from '../support/function-process';
import type { FunctionProcess } from '../support/function-process';

const CONNECTION_NAME = 'enx-test-project:europe-west1:enx-db';
const INVOKER = 'connector-probe-inv@enx-test-project.iam.gserviceaccount.com';

describe('the Cloud SQL connector path', () => {
  let db: TestDatabase;
  let instance: FakeCloudSqlInstance;
  let sqlAdmin: FakeSqlAdmin;
  let issuer: TokenIssuer;
  const served: FunctionProcess[] = [];

  beforeAll(async () => {
    db = await createTestDatabase(2);
    const url = new URL(db.url);
    instance = await startFakeCloudSqlInstance({
      connectionName: CONNECTION_NAME,
      postgres: { host: url.hostname, port: Number(url.port) },
    });
    sqlAdmin = await startFakeSqlAdmin({ connectable: [instance] });
    issuer = await startTokenIssuer();
  });
  afterAll(async () => {
    for (const fn of served) await fn.stop();
    await issuer.close();
    await sqlAdmin.close();
    await instance.close();
    await db.drop();
  });

  /** A function served as npm start serves it, in its own Node process, with the deployed database settings. */
  async function serve(jobId: string, databaseEnv: Env) {
    const url = new URL(db.url);
    const fn = await startFunctionProcess(
      jobId,
      {
        DB_NAME: url.pathname.slice(1),
        DB_USER: decodeURIComponent(url.username),
        DB_PASSWORD: decodeURIComponent(url.password),
        DB_MIGRATE: 'off',
        SQLADMIN_API_ENDPOINT: sqlAdmin.url,
        AUTH_EDGE: 'cloud-run',
        OIDC_ISSUER: issuer.issuer,
        OIDC_JWKS_URL: issuer.jwksUrl,
        OIDC_INVOKER_EMAILS: INVOKER,
        SIGNALS_SINK: 'none',
        ...databaseEnv,
      },
      { issuer: issuer.issuer, jwksUrl: issuer.jwksUrl, invokers: [INVOKER] },
    );
    served.push(fn);
    const call = async () => {
      const token = await issuer.mint({ audience: fn.url, email: INVOKER });
      const res = await fetch(fn.url, { headers: { authorization: `Bearer ${token}` } });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const failure = () =>
      fn.lines
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { event?: string; message?: string })
        .find((entry) => entry.event === 'failed');
    return { call, failure, lines: fn.lines };
  }

  it('runs a job against the database behind the instance, over mTLS', async () => {
    const { call, lines } = await serve('connector-ok', {
      CLOUD_SQL_INSTANCE: CONNECTION_NAME,
      CLOUD_SQL_IP_TYPE: 'PUBLIC',
    });
    const res = await call();
    if (res.status !== 200) throw new Error(`${JSON.stringify(res.body)}\n${lines.join('\n')}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ok: true, result: { database: db.name } });
    expect(sqlAdmin.requests.map((r) => `${r.method} ${r.path}`)).toEqual(
      expect.arrayContaining([
        'GET /sql/v1beta4/projects/enx-test-project/instances/enx-db/connectSettings',
        'POST /sql/v1beta4/projects/enx-test-project/instances/enx-db:generateEphemeralCert',
      ]),
    );
    // The ledger row went the same way.
    const { rows } = await db.pool.query("SELECT state FROM enx_jobs_attempts WHERE job_id = 'connector-ok'");
    expect(rows).toEqual([{ state: 'succeeded' }]);
  });

  it('fails the attempt naming the settings when the instance does not exist', async () => {
    const { call, failure } = await serve('connector-missing', {
      CLOUD_SQL_INSTANCE: 'enx-test-project:europe-west1:no-such-db',
    });
    const res = await call();
    expect(res.status).toBeGreaterThanOrEqual(500);
    expect(failure()?.message).toMatch(
      /could not open the Cloud SQL connector to enx-test-project:europe-west1:no-such-db/,
    );
    expect(failure()?.message).toMatch(/CLOUD_SQL_INSTANCE/);
  });

  it('fails naming the address type when the instance has no address of that type', async () => {
    const { call, failure } = await serve('connector-private', {
      CLOUD_SQL_INSTANCE: CONNECTION_NAME,
      CLOUD_SQL_IP_TYPE: 'PRIVATE',
    });
    expect((await call()).status).toBeGreaterThanOrEqual(500);
    expect(failure()?.message).toMatch(/over its PRIVATE IP/);
  });

  it('has an instance front that refuses a client without a certificate it signed', async () => {
    const before = instance.refusedClients();
    const outcome = await new Promise<string>((resolve) => {
      const socket = connectTls({
        host: instance.ipAddress,
        port: 3307,
        ca: instance.caCertificate,
        checkServerIdentity: () => undefined,
      });
      socket.on('secureConnect', () => socket.write('x'));
      socket.on('data', () => resolve('answered'));
      socket.on('error', (error) => resolve(`refused: ${error.message}`));
      socket.on('close', () => resolve('closed'));
    });
    expect(outcome).not.toBe('answered');
    expect(instance.refusedClients()).toBe(before + 1);
  });
});
