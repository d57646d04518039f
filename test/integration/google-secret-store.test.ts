/**
 * The Secret Manager secret store, through the real @google-cloud/secret-manager client, against
 * the loopback Secret Manager (real gRPC): the shared SecretStore contract, the exact requests, the
 * checksums, paging and the faults an operator must be able to act on.
 */
import * as grpc from '@grpc/grpc-js';
import { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { crc32c } from '../../functions/adapters/crc32c';
import { GoogleSecretStore } from '../../functions/adapters/google-secret-store';
import { startFakeSecretManager } from '../support/fake-google/secret-manager-service';
import type { FakeSecretManager } from '../support/fake-google/secret-manager-service';
import { CONTRACT_PARENT, secretStoreContract } from '../support/secret-store-contract';

let fake: FakeSecretManager;
let client: SecretManagerServiceClient;
let store: GoogleSecretStore;
let counter = 0;
const unique = () => `secret-${++counter}`;

beforeAll(async () => {
  fake = await startFakeSecretManager();
  client = new SecretManagerServiceClient(fake.clientOptions());
  store = new GoogleSecretStore(client, { pageSize: 2 });
});
afterAll(async () => {
  await client.close();
  await fake.close();
});
beforeEach(() => {
  fake.calls.length = 0;
});

describe('SecretStore contract', () => secretStoreContract(() => store, unique));

describe('requests', () => {
  it('creates a missing secret with automatic replication, then adds the version with its CRC32C', async () => {
    const payload = Buffer.from('cookie key bytes');
    const name = await store.addSecretVersion(CONTRACT_PARENT, 'cookie-keys', payload);
    expect(name).toBe(`${CONTRACT_PARENT}/cookie-keys/versions/1`);
    expect(fake.calls).toEqual([
      {
        method: 'addSecretVersion',
        request: {
          parent: `${CONTRACT_PARENT}/cookie-keys`,
          payload: { data: payload, dataCrc32c: String(crc32c(payload)), _dataCrc32c: 'dataCrc32c' },
        },
      },
      {
        method: 'createSecret',
        request: {
          parent: 'projects/enx-test-project',
          secretId: 'cookie-keys',
          secret: { replication: { automatic: {}, replication: 'automatic' } },
        },
      },
      {
        method: 'addSecretVersion',
        request: {
          parent: `${CONTRACT_PARENT}/cookie-keys`,
          payload: { data: payload, dataCrc32c: String(crc32c(payload)), _dataCrc32c: 'dataCrc32c' },
        },
      },
    ]);
    fake.calls.length = 0;
    await store.addSecretVersion(CONTRACT_PARENT, 'cookie-keys', payload);
    expect(fake.calls.map((c) => c.method)).toEqual(['addSecretVersion']);
  });

  it('accepts a secret created concurrently between its NOT_FOUND and its create', async () => {
    fake.failNext(1, grpc.status.NOT_FOUND, 'Secret not found', 'addSecretVersion');
    await client.createSecret({
      parent: 'projects/enx-test-project',
      secretId: 'raced',
      secret: { replication: { automatic: {} } },
    });
    expect(await store.addSecretVersion(CONTRACT_PARENT, 'raced', Buffer.from('x'))).toBe(
      `${CONTRACT_PARENT}/raced/versions/1`,
    );
  });

  it('lists across pages (two per page here)', async () => {
    const names = [];
    for (let i = 0; i < 5; i += 1)
      names.push(await store.addSecretVersion(CONTRACT_PARENT, 'paged', Buffer.from(`v${i}`)));
    fake.calls.length = 0;
    const listed = await store.listSecretVersions(`${CONTRACT_PARENT}/paged`);
    expect(listed.map((v) => v.name)).toEqual([...names].reverse());
    expect(fake.calls.map((c) => c.request.pageToken ?? '')).toEqual(['', '2', '4']);
  });

  it('refuses a payload whose checksum does not match', async () => {
    const name = await store.addSecretVersion(CONTRACT_PARENT, 'corrupt', Buffer.from('x'));
    fake.corruptNextAccess();
    await expect(store.accessSecretVersion(name)).rejects.toThrow(
      /payload of .*corrupt\/versions\/1 was corrupted in transit/,
    );
  });
});

describe('faults', () => {
  it.each([
    [
      grpc.status.PERMISSION_DENIED,
      /Secret Manager refused to read .*: the service account lacks roles\/secretmanager.secretAccessor on projects\/enx-test-project\/secrets\/s\/versions\/1/,
    ],
    [
      grpc.status.RESOURCE_EXHAUSTED,
      /Secret Manager quota exhausted while trying to read .*raise the Secret Manager quota/,
    ],
  ] as const)('access failing with gRPC %s names the version and what to check', async (code, message) => {
    // Bounded retries: the library retries RESOURCE_EXHAUSTED on reads by itself.
    const bounded = new GoogleSecretStore(client, { callOptions: { maxRetries: 1 } });
    fake.failNext(1, code, 'no', 'accessSecretVersion');
    await expect(bounded.accessSecretVersion(`${CONTRACT_PARENT}/s/versions/1`)).rejects.toThrow(message);
  });

  it('a missing project (NOT_FOUND on create) names SECRETS_PARENT', async () => {
    fake.failNext(1, grpc.status.NOT_FOUND, 'Project not found', 'createSecret');
    await expect(store.addSecretVersion(CONTRACT_PARENT, 'orphan', Buffer.from('x'))).rejects.toThrow(
      /secrets\/orphan does not exist: check SECRETS_PARENT/,
    );
  });

  it('a permission error on create names the admin role', async () => {
    fake.failNext(1, grpc.status.PERMISSION_DENIED, 'denied', 'createSecret');
    await expect(store.addSecretVersion(CONTRACT_PARENT, 'locked', Buffer.from('x'))).rejects.toThrow(
      /lacks secretmanager.secrets.create \(the enxJobsSecretRotator role\) on projects\/enx-test-project\/secrets\/locked/,
    );
  });

  it('a persistent UNAVAILABLE on destroy is a transient error', async () => {
    const bounded = new GoogleSecretStore(client, { callOptions: { maxRetries: 1 } });
    fake.failNext(1, grpc.status.UNAVAILABLE, 'down', 'destroySecretVersion');
    await expect(bounded.destroySecretVersion(`${CONTRACT_PARENT}/s/versions/1`)).rejects.toMatchObject({
      kind: 'transient',
      transient: true,
    });
  });
});
