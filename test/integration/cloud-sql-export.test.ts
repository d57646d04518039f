/**
 * The Cloud SQL export against the loopback Cloud SQL Admin API (real HTTP on 127.0.0.1): the exact
 * request, polling until DONE, and every way an export goes wrong, each named with the operation,
 * the instance and the bucket.
 */
import { CloudSqlExport, parseCloudSqlInstance } from '../../functions/adapters/cloud-sql-export';
import type { CloudSqlExportOptions } from '../../functions/adapters/cloud-sql-export';
import { startFakeSqlAdmin } from '../support/fake-google/sql-admin-service';
import type { FakeSqlAdmin } from '../support/fake-google/sql-admin-service';

const INSTANCE_URL =
  'https://sqladmin.googleapis.com/sql/v1beta4/projects/enx-test-project/instances/en-verification';
let fake: FakeSqlAdmin;

const exporter = (overrides: Partial<CloudSqlExportOptions> = {}) =>
  new CloudSqlExport({
    instance: parseCloudSqlInstance(INSTANCE_URL),
    bucket: 'enx-test-project-backups',
    databaseName: 'en-verification',
    endpoint: fake.url,
    authorize: async () => ({ authorization: 'Bearer test-token' }),
    pollInitialMs: 5,
    pollMaxMs: 20,
    ...overrides,
  });

beforeAll(async () => {
  fake = await startFakeSqlAdmin({
    instances: ['projects/enx-test-project/instances/en-verification'],
    buckets: ['enx-test-project-backups'],
  });
});
afterAll(async () => fake.close());
beforeEach(() => {
  fake.requests.length = 0;
});

describe('an export that finishes', () => {
  it('posts the export context, polls the operation until DONE, and answers where the dump landed', async () => {
    const result = await exporter().exportDatabase({
      objectName: 'database/en-verification/2026-11-23T12-00-00Z.sql',
    });
    expect(result).toEqual({
      uri: 'gs://enx-test-project-backups/database/en-verification/2026-11-23T12-00-00Z.sql',
      operation: 'fake-export-1',
    });
    expect(fake.requests).toEqual([
      {
        method: 'POST',
        path: '/v1/projects/enx-test-project/instances/en-verification/export',
        authorization: 'Bearer test-token',
        body: {
          exportContext: {
            kind: 'sql#exportContext',
            fileType: 'SQL',
            uri: 'gs://enx-test-project-backups/database/en-verification/2026-11-23T12-00-00Z.sql',
            databases: ['en-verification'],
            offload: false,
          },
        },
      },
      ...[1, 2].map(() => ({
        method: 'GET',
        path: '/v1/projects/enx-test-project/operations/fake-export-1',
        authorization: 'Bearer test-token',
        body: undefined,
      })),
    ]);
  });

  it('keeps polling a long-running operation', async () => {
    fake.nextExport({ kind: 'succeed', runningPolls: 6 });
    await exporter().exportDatabase({ objectName: 'long.sql' });
    expect(fake.requests.filter((r) => r.method === 'GET')).toHaveLength(7);
  });
});

describe('failures', () => {
  it('an operation that ends in errors fails naming the operation, instance, object and bucket', async () => {
    fake.nextExport({
      kind: 'fail',
      errors: [{ code: 'ERROR_RDBMS', message: 'disk quota exceeded on the instance' }],
    });
    await expect(exporter().exportDatabase({ objectName: 'x.sql' })).rejects.toThrow(
      /^Cloud SQL export operation fake-export-\d+ of projects\/enx-test-project\/instances\/en-verification to gs:\/\/enx-test-project-backups\/x\.sql failed: ERROR_RDBMS: disk quota exceeded on the instance\. Check that bucket enx-test-project-backups exists \(BACKUP_BUCKET\)/,
    );
  });

  it('a missing bucket surfaces as the operation error, pointing at BACKUP_BUCKET and the bucket role', async () => {
    await expect(
      exporter({ bucket: 'no-such-bucket' }).exportDatabase({ objectName: 'x.sql' }),
    ).rejects.toThrow(
      /GCS bucket no-such-bucket does not exist.*\(BACKUP_BUCKET\) and that the instance's own service account may write to it \(roles\/storage.objectAdmin on the bucket\)/,
    );
  });

  it('an operation still running when the signal aborts names itself and how to check on it', async () => {
    fake.nextExport({ kind: 'run-forever' });
    const controller = new AbortController();
    const exported = exporter().exportDatabase({ objectName: 'x.sql', signal: controller.signal });
    // Abort once the operation has been seen RUNNING a few times, however slow the machine is.
    const gets = () => fake.requests.filter((r) => r.method === 'GET').length;
    while (gets() < 3) await new Promise((resolve) => setTimeout(resolve, 5));
    controller.abort(new Error('deadline'));
    await expect(exported).rejects.toThrow(
      /stopped waiting for Cloud SQL export operation fake-export-\d+ of projects\/enx-test-project\/instances\/en-verification: it is still running .*gcloud sql operations describe fake-export-\d+ --project enx-test-project/,
    );
    expect([...fake.operations.values()].pop()?.status).toBe('RUNNING');
  });

  it.each([
    [
      403,
      /Cloud SQL Admin refused to export projects\/enx-test-project\/instances\/en-verification: the service account lacks the enxJobsCloudSqlExporter role/,
    ],
    [
      404,
      /projects\/enx-test-project\/instances\/en-verification does not exist: check BACKUP_DATABASE_INSTANCE_URL/,
    ],
    [429, /Cloud SQL Admin quota exhausted while trying to export/],
    [503, /could not export .* right now \(a transient failure; the next attempt retries\)/],
    [409, /could not export .* right now \(a transient failure/],
  ])('HTTP %s on the export becomes a clear error', async (status, message) => {
    fake.nextExport({ kind: 'refuse', status, message: 'the fake refuses' });
    const failure = exporter().exportDatabase({ objectName: 'x.sql' });
    await expect(failure).rejects.toThrow(message);
    await expect(failure).rejects.toThrow(`(Cloud SQL Admin said: HTTP ${status}: the fake refuses)`);
  });

  it('an instance that does not exist is a 404 naming BACKUP_DATABASE_INSTANCE_URL', async () => {
    const missing = exporter({ instance: { project: 'enx-test-project', instance: 'gone' } });
    await expect(missing.exportDatabase({ objectName: 'x.sql' })).rejects.toThrow(
      /instances\/gone does not exist: check BACKUP_DATABASE_INSTANCE_URL/,
    );
  });

  it('an API that cannot be reached is transient', async () => {
    const closed = exporter({ endpoint: 'http://127.0.0.1:9' });
    await expect(closed.exportDatabase({ objectName: 'x.sql' })).rejects.toMatchObject({ kind: 'transient' });
  });
});

describe('settings', () => {
  it.each([
    [
      'https://sqladmin.googleapis.com/sql/v1beta4/projects/p1/instances/db-1',
      { project: 'p1', instance: 'db-1' },
    ],
    ['https://sqladmin.googleapis.com/v1/projects/p1/instances/db-1', { project: 'p1', instance: 'db-1' }],
    ['projects/p1/instances/db-1', { project: 'p1', instance: 'db-1' }],
  ])('reads the instance from %s', (raw, expected) => expect(parseCloudSqlInstance(raw)).toEqual(expected));

  it('refuses other forms, showing the self-link form', () => {
    expect(() => parseCloudSqlInstance('p1:us-central1:db-1')).toThrow(
      /write its self link, https:\/\/sqladmin/,
    );
  });

  it('refuses a bucket written as a URL', () => {
    expect(() => exporter({ bucket: 'gs://b' })).toThrow(/BACKUP_BUCKET "gs:\/\/b" is not a bucket name/);
  });
});
