/**
 * The Cloud KMS key manager, through the real @google-cloud/kms client, against the loopback KMS
 * (real gRPC, real P-256 keys): the exact requests it sends, the checksums both ways, the
 * idempotent cases, paging, and the faults an operator must be able to act on.
 */
import { createHash, createVerify } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { crc32c } from '../../functions/adapters/crc32c';
import { GoogleApiError } from '../../functions/adapters/google-errors';
import { GoogleKmsKeyManager } from '../../functions/adapters/google-kms-key-manager';
import { KeyNotFoundError } from '../../functions/ports/key-manager';
import { startFakeKms } from '../support/fake-google/kms-service';
import type { FakeKms } from '../support/fake-google/kms-service';

const RING = 'projects/enx-test-project/locations/global/keyRings/realm-keys';
let fake: FakeKms;
let client: KeyManagementServiceClient;
let kms: GoogleKmsKeyManager;
const sleeps: number[] = [];

beforeAll(async () => {
  fake = await startFakeKms({ keyRings: [RING], pendingReads: 2, pageSize: 2 });
  client = new KeyManagementServiceClient(fake.clientOptions());
  kms = new GoogleKmsKeyManager(
    client,
    { protectionLevel: 'HSM', generationPollMs: 10, pageSize: 2 },
    async (ms) => {
      sleeps.push(ms);
    },
  );
});
afterAll(async () => {
  await client.close();
  await fake.close();
});
beforeEach(() => {
  fake.calls.length = 0;
  sleeps.length = 0;
});

const lastCall = (method: string) => fake.calls.filter((c) => c.method === method).pop()?.request;

describe('keys and versions', () => {
  it('creates an HSM P-256 signing key with no initial version, and accepts one that already exists', async () => {
    expect(await kms.createSigningKey(RING, 'realm-1')).toBe(`${RING}/cryptoKeys/realm-1`);
    expect(lastCall('createCryptoKey')).toEqual({
      parent: RING,
      cryptoKeyId: 'realm-1',
      cryptoKey: {
        purpose: 'ASYMMETRIC_SIGN',
        versionTemplate: { algorithm: 'EC_SIGN_P256_SHA256', protectionLevel: 'HSM' },
      },
      skipInitialVersionCreation: true,
    });
    expect(fake.versions.size).toBe(0);
    expect(await kms.createSigningKey(RING, 'realm-1')).toBe(`${RING}/cryptoKeys/realm-1`);
    expect(fake.calls.map((c) => c.method)).toEqual(['createCryptoKey', 'createCryptoKey', 'getCryptoKey']);
  });

  it('refuses an existing key of another kind under the same name', async () => {
    await client.createCryptoKey({
      parent: RING,
      cryptoKeyId: 'symmetric',
      cryptoKey: { purpose: 'ENCRYPT_DECRYPT' },
    });
    await expect(kms.createSigningKey(RING, 'symmetric')).rejects.toThrow(
      /symmetric already exists but is a ENCRYPT_DECRYPT key .* not an ASYMMETRIC_SIGN EC_SIGN_P256_SHA256 key/,
    );
  });

  it('waits out PENDING_GENERATION, with growing pauses, before answering a new version', async () => {
    const key = await kms.createSigningKey(RING, 'realm-2');
    const version = await kms.createKeyVersion(key);
    expect(version).toBe(`${key}/cryptoKeyVersions/1`);
    expect(lastCall('createCryptoKeyVersion')).toEqual({ parent: key, cryptoKeyVersion: {} });
    expect(fake.versions.get(version)?.state).toBe('ENABLED');
    expect(sleeps).toEqual([10, 20]);
    expect(await kms.createKeyVersion(key)).toBe(`${key}/cryptoKeyVersions/2`);
  });

  it('gives up on a version that stays pending, naming it and what to check', async () => {
    const slow = new GoogleKmsKeyManager(
      client,
      { protectionLevel: 'HSM', generationTimeoutMs: 30, generationPollMs: 10 },
      async () => undefined,
    );
    const key = await kms.createSigningKey(RING, 'slow');
    fake.setPendingReads(1e9);
    await expect(slow.createKeyVersion(key)).rejects.toThrow(
      new RegExp(`${key}/cryptoKeyVersions/\\d+ was still PENDING_GENERATION after 30 ms; .*check its state`),
    );
    fake.setPendingReads(2);
  });
});

describe('public keys and signatures', () => {
  let version: string;
  beforeAll(async () => {
    version = await kms.createKeyVersion(await kms.createSigningKey(RING, 'signer'));
  });

  it('hands out the PEM, and signatures over a digest verify with it as ES256 over the message', async () => {
    const pem = await kms.getPublicKeyPem(version);
    expect(pem).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    const message = Buffer.from('header.payload');
    const digest = createHash('sha256').update(message).digest();
    const signature = await kms.signDigest(version, digest);
    expect(lastCall('asymmetricSign')).toEqual({
      name: version,
      digest: { digest: 'sha256', sha256: digest },
      digestCrc32c: { value: String(crc32c(digest)) },
    });
    expect(createVerify('sha256').update(message).verify(pem, signature)).toBe(true);
  });

  it.each([
    ['signature-crc32c', /signature from .* was corrupted in transit \(CRC32C mismatch\)/],
    ['signature-name', /answered a signature by .*0 when asked to sign with/],
    ['digest-unverified', /did not confirm the digest .* arrived intact/],
  ] as const)('refuses an answer with %s', async (corruption, message) => {
    fake.corruptNext(corruption);
    await expect(kms.signDigest(version, Buffer.alloc(32, 1))).rejects.toThrow(message);
  });

  it('refuses a public key whose CRC32C does not match', async () => {
    fake.corruptNext('pem-crc32c');
    await expect(kms.getPublicKeyPem(version)).rejects.toThrow(/public key of .* was corrupted in transit/);
  });

  it('refuses a digest that is not SHA-256 sized before calling KMS', async () => {
    await expect(kms.signDigest(version, Buffer.from('short'))).rejects.toThrow(
      'a SHA-256 digest is 32 bytes, got 5',
    );
    expect(lastCall('asymmetricSign')).toBeUndefined();
  });
});

describe('destroying and listing', () => {
  it('destroys once, then answers already-destroyed; a missing version is KeyNotFoundError', async () => {
    const key = await kms.createSigningKey(RING, 'doomed');
    const version = await kms.createKeyVersion(key);
    expect(await kms.destroyKeyVersion(version)).toBe('destroyed');
    expect(lastCall('destroyCryptoKeyVersion')).toEqual({ name: version });
    expect(fake.versions.get(version)?.state).toBe('DESTROY_SCHEDULED');
    expect(await kms.destroyKeyVersion(version)).toBe('already-destroyed');
    await expect(kms.destroyKeyVersion(`${key}/cryptoKeyVersions/9`)).rejects.toThrow(KeyNotFoundError);
    await expect(kms.signDigest(version, Buffer.alloc(32))).rejects.toThrow(
      /not enabled, current state is: DESTROY_SCHEDULED/,
    );
  });

  it('lists every version across pages, with narrowed states and creation times', async () => {
    const key = await kms.createSigningKey(RING, 'many');
    const names = [];
    for (let i = 0; i < 5; i += 1) names.push(await kms.createKeyVersion(key));
    await kms.destroyKeyVersion(names[1]);
    fake.calls.length = 0;
    const listed = await kms.listKeyVersions(key);
    expect(listed.map((v) => [v.name, v.state])).toEqual(
      names.map((name, i) => [name, i === 1 ? 'DESTROY_SCHEDULED' : 'ENABLED']),
    );
    expect(listed[0].createdAt.getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect(fake.calls.map((c) => [c.request.pageSize, c.request.pageToken ?? ''])).toEqual([
      [2, ''],
      [2, '2'],
      [2, '4'],
    ]);
  });
});

describe('faults', () => {
  it.each([
    [
      grpc.status.PERMISSION_DENIED,
      'permission-denied',
      /Cloud KMS refused to sign with .*: the service account lacks roles\/cloudkms.signer on projects\//,
    ],
    [
      grpc.status.NOT_FOUND,
      'not-found',
      /cryptoKeyVersions\/1 does not exist: check the setting naming the key/,
    ],
    [
      grpc.status.RESOURCE_EXHAUSTED,
      'quota',
      /Cloud KMS quota exhausted while trying to sign with .*raise the Cloud KMS quota/,
    ],
  ] as const)('gRPC %s becomes a %s error naming the version', async (code, kind, message) => {
    const version = `${RING}/cryptoKeys/signer/cryptoKeyVersions/1`;
    fake.failNext(1, code, 'the fake says no', 'asymmetricSign');
    const failure = kms.signDigest(version, Buffer.alloc(32));
    await expect(failure).rejects.toThrow(message);
    await expect(failure).rejects.toMatchObject({ kind, name: 'GoogleApiError' });
    await expect(failure).rejects.toThrow('(Cloud KMS said: the fake says no)');
  });

  it('a missing key ring names DB_KEYRING', async () => {
    await expect(kms.createSigningKey(`${RING}-missing`, 'x')).rejects.toThrow(
      /keyRings\/realm-keys-missing\/cryptoKeys\/x does not exist: check DB_KEYRING \(the key ring must exist\)/,
    );
  });

  it('UNAVAILABLE is transient: the client retries it, and if it persists the error says so', async () => {
    const version = `${RING}/cryptoKeys/signer/cryptoKeyVersions/1`;
    fake.failNext(1, grpc.status.UNAVAILABLE, 'try later', 'getPublicKey');
    await expect(kms.getPublicKeyPem(version)).resolves.toMatch(/BEGIN PUBLIC KEY/);
    const bounded = new GoogleKmsKeyManager(client, {
      protectionLevel: 'HSM',
      callOptions: { maxRetries: 1 },
    });
    fake.failNext(1, grpc.status.UNAVAILABLE, 'try later', 'getPublicKey');
    const error = await bounded.getPublicKeyPem(version).catch((e: unknown) => e);
    expect(fake.calls.filter((c) => c.method === 'getPublicKey')).toHaveLength(3);
    expect(error).toBeInstanceOf(GoogleApiError);
    expect((error as GoogleApiError).transient).toBe(true);
    expect((error as Error).message).toMatch(
      /Cloud KMS could not read the public key of .*signer\/cryptoKeyVersions\/1 right now \(a transient failure; the next attempt retries\)/,
    );
  });
});
