/**
 * The key manager on Cloud KMS. Keys are ECDSA P-256 signing keys (EC_SIGN_P256_SHA256), created
 * without an initial version so every version is one the caller asked for and records. Checksums
 * travel both ways as Google recommends for AsymmetricSign and GetPublicKey: the digest's CRC32C
 * goes with the request, and the answer must say it verified it, name the version asked for, and
 * carry a matching CRC32C of what it returns.
 */
import type { KeyManagementServiceClient } from '@google-cloud/kms';
import type { KeyManager, KeyVersionState } from '../ports/key-manager';
import { KeyNotFoundError } from '../ports/key-manager';
import { crc32c, int64Value } from './crc32c';
import { GrpcCode, callGoogle, googleError, grpcCode } from './google-errors';
import type { GaxCallOptions, GoogleCall } from './google-errors';

export interface GoogleKmsOptions {
  /** HSM (the default, as ENX) or SOFTWARE; see KMS_PROTECTION_LEVEL. */
  readonly protectionLevel: 'HSM' | 'SOFTWARE';
  /** How long createKeyVersion waits for KMS to finish generating the key. */
  readonly generationTimeoutMs?: number;
  /** First pause between generation polls; doubles up to 2 s. */
  readonly generationPollMs?: number;
  /** Versions per ListCryptoKeyVersions page. */
  readonly pageSize?: number;
  /**
   * gax options for every call. Production leaves them out: the client library's defaults retry
   * UNAVAILABLE and DEADLINE_EXCEEDED with backoff. Tests bound the retries.
   */
  readonly callOptions?: GaxCallOptions;
}

const ALGORITHM = 'EC_SIGN_P256_SHA256';
const SERVICE = 'Cloud KMS';
const KEY_SETTING = 'the setting naming the key (TOKEN_SIGNING_KEY, CERTIFICATE_SIGNING_KEY or DB_KEYRING)';

const call = (action: string, resource: string, role: string, setting = KEY_SETTING): GoogleCall => ({
  service: SERVICE,
  action,
  resource,
  role,
  setting,
});

/**
 * The interface tells live versions from going and gone ones; KMS has more states. Disabled,
 * pending and import states still hold (or will hold) key material, so they count as live: a job
 * cleaning up unrecorded versions must destroy them too.
 */
function narrowState(state: unknown): KeyVersionState {
  switch (state) {
    case 'DESTROYED':
    case 'GENERATION_FAILED':
    case 'IMPORT_FAILED':
      return 'DESTROYED';
    case 'DESTROY_SCHEDULED':
    case 'PENDING_EXTERNAL_DESTRUCTION':
    case 'EXTERNAL_DESTRUCTION_FAILED':
      return 'DESTROY_SCHEDULED';
    default:
      return 'ENABLED';
  }
}

const toDate = (timestamp: { seconds?: unknown; nanos?: unknown } | null | undefined) =>
  new Date(Number(String(timestamp?.seconds ?? 0)) * 1000 + Number(timestamp?.nanos ?? 0) / 1e6);

export class GoogleKmsKeyManager implements KeyManager {
  constructor(
    private readonly client: KeyManagementServiceClient,
    private readonly options: GoogleKmsOptions,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  async createSigningKey(keyRing: string, keyId: string): Promise<string> {
    const name = `${keyRing}/cryptoKeys/${keyId}`;
    const what = call(
      'create the signing key',
      name,
      'roles/cloudkms.admin',
      'DB_KEYRING (the key ring must exist)',
    );
    try {
      await this.client.createCryptoKey(
        {
          parent: keyRing,
          cryptoKeyId: keyId,
          cryptoKey: {
            purpose: 'ASYMMETRIC_SIGN',
            versionTemplate: { algorithm: ALGORITHM, protectionLevel: this.options.protectionLevel },
          },
          skipInitialVersionCreation: true,
        },
        this.options.callOptions,
      );
      return name;
    } catch (error) {
      if (grpcCode(error) !== GrpcCode.ALREADY_EXISTS) throw googleError(what, error);
    }
    // It exists (an earlier run, or a concurrent one): fine if it is the kind of key we would make.
    const [key] = await callGoogle(call('read the key', name, 'roles/cloudkms.viewer'), () =>
      this.client.getCryptoKey({ name }, this.options.callOptions),
    );
    const algorithm = key.versionTemplate?.algorithm;
    if (key.purpose !== 'ASYMMETRIC_SIGN' || algorithm !== ALGORITHM) {
      throw new Error(
        `${name} already exists but is a ${String(key.purpose)} key with ${String(algorithm)}, not an ASYMMETRIC_SIGN ` +
          `${ALGORITHM} key: choose another key id or key ring`,
      );
    }
    return name;
  }

  async createKeyVersion(keyName: string): Promise<string> {
    const [version] = await callGoogle(call('create a version of', keyName, 'roles/cloudkms.admin'), () =>
      this.client.createCryptoKeyVersion({ parent: keyName, cryptoKeyVersion: {} }, this.options.callOptions),
    );
    const name = String(version.name);
    await this.waitUntilGenerated(name, version.state);
    return name;
  }

  /**
   * KMS generates asymmetric keys asynchronously (PENDING_GENERATION, seconds for HSM keys); the
   * caller gets the name only when the version can sign and show its public key.
   */
  private async waitUntilGenerated(name: string, initialState: unknown): Promise<void> {
    const timeoutMs = this.options.generationTimeoutMs ?? 60_000;
    let pauseMs = this.options.generationPollMs ?? 250;
    let state = initialState;
    let waitedMs = 0;
    while (state === 'PENDING_GENERATION') {
      if (waitedMs >= timeoutMs) {
        throw new Error(
          `key version ${name} was still PENDING_GENERATION after ${timeoutMs} ms; it may finish later: ` +
            'check its state in Cloud KMS before creating another',
        );
      }
      await this.sleep(pauseMs);
      waitedMs += pauseMs;
      pauseMs = Math.min(pauseMs * 2, 2_000);
      const [current] = await callGoogle(call('read the key version', name, 'roles/cloudkms.viewer'), () =>
        this.client.getCryptoKeyVersion({ name }, this.options.callOptions),
      );
      state = current.state;
    }
    if (state !== 'ENABLED') {
      throw new Error(
        `key version ${name} ended up ${String(state)} instead of ENABLED: check the key in Cloud KMS`,
      );
    }
  }

  async getPublicKeyPem(versionName: string): Promise<string> {
    const [key] = await callGoogle(
      call('read the public key of', versionName, 'roles/cloudkms.publicKeyViewer'),
      () => this.client.getPublicKey({ name: versionName }, this.options.callOptions),
    );
    const pem = String(key.pem ?? '');
    if (key.name !== versionName) {
      throw new Error(
        `Cloud KMS answered the public key of ${String(key.name)} when asked for ${versionName}`,
      );
    }
    if (int64Value(key.pemCrc32c) !== crc32c(Buffer.from(pem, 'utf8'))) {
      throw new Error(`the public key of ${versionName} was corrupted in transit (CRC32C mismatch); retry`);
    }
    if (key.algorithm !== ALGORITHM) {
      throw new Error(
        `${versionName} is a ${String(key.algorithm)} key, not ${ALGORITHM}: it cannot sign ES256 tokens`,
      );
    }
    return pem;
  }

  async signDigest(versionName: string, sha256Digest: Buffer): Promise<Buffer> {
    if (sha256Digest.length !== 32)
      throw new Error(`a SHA-256 digest is 32 bytes, got ${sha256Digest.length}`);
    const [response] = await callGoogle(call('sign with', versionName, 'roles/cloudkms.signer'), () =>
      this.client.asymmetricSign({
        name: versionName,
        digest: { sha256: sha256Digest },
        digestCrc32c: { value: crc32c(sha256Digest) },
      }),
    );
    if (response.name !== versionName) {
      throw new Error(
        `Cloud KMS answered a signature by ${String(response.name)} when asked to sign with ${versionName}`,
      );
    }
    if (!response.verifiedDigestCrc32c) {
      throw new Error(`Cloud KMS did not confirm the digest sent to ${versionName} arrived intact; retry`);
    }
    const signature = Buffer.from(response.signature ?? []);
    if (int64Value(response.signatureCrc32c) !== crc32c(signature)) {
      throw new Error(`the signature from ${versionName} was corrupted in transit (CRC32C mismatch); retry`);
    }
    return signature;
  }

  async destroyKeyVersion(versionName: string): Promise<'destroyed' | 'already-destroyed'> {
    const what = call('destroy', versionName, 'roles/cloudkms.admin');
    try {
      await this.client.destroyCryptoKeyVersion({ name: versionName }, this.options.callOptions);
      return 'destroyed';
    } catch (error) {
      const code = grpcCode(error);
      if (code === GrpcCode.NOT_FOUND) {
        throw new KeyNotFoundError(`key version ${versionName} does not exist in Cloud KMS`);
      }
      if (code !== GrpcCode.FAILED_PRECONDITION) throw googleError(what, error);
    }
    // FAILED_PRECONDITION: not ENABLED or DISABLED. Done already, or something that needs a person.
    const [version] = await callGoogle(
      call('read the key version', versionName, 'roles/cloudkms.viewer'),
      () => this.client.getCryptoKeyVersion({ name: versionName }, this.options.callOptions),
    );
    if (narrowState(version.state) !== 'ENABLED') return 'already-destroyed';
    throw new Error(
      `Cloud KMS cannot destroy ${versionName} in state ${String(version.state)}: check it in Cloud KMS`,
    );
  }

  async listKeyVersions(
    keyName: string,
  ): Promise<{ name: string; state: KeyVersionState; createdAt: Date }[]> {
    const all: { name: string; state: KeyVersionState; createdAt: Date }[] = [];
    let pageToken = '';
    do {
      const [versions, , response] = await callGoogle(
        call('list the versions of', keyName, 'roles/cloudkms.viewer'),
        () =>
          this.client.listCryptoKeyVersions(
            { parent: keyName, pageSize: this.options.pageSize ?? 100, pageToken },
            { ...this.options.callOptions, autoPaginate: false },
          ),
      );
      for (const version of versions) {
        all.push({
          name: String(version.name),
          state: narrowState(version.state),
          createdAt: toDate(version.createTime),
        });
      }
      pageToken = response?.nextPageToken ?? '';
    } while (pageToken);
    return all;
  }
}
