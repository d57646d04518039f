/**
 * Signing keys live in a key manager (Cloud KMS in production), never in the database: the database
 * only records key *version names*. Jobs see this narrow interface; the Google implementation and
 * the local one (ECDSA P-256 keys kept in the local database) both implement it.
 */
export type KeyVersionState = 'ENABLED' | 'DESTROY_SCHEDULED' | 'DESTROYED';

export interface KeyManager {
  /** Creates (or finds) a signing key named `keyId` under a key ring; returns the key's resource name. */
  createSigningKey(keyRing: string, keyId: string): Promise<string>;
  /** Adds a version to a key; returns the version's full resource name. */
  createKeyVersion(keyName: string): Promise<string>;
  /** The version's public key, PEM (SPKI). */
  getPublicKeyPem(versionName: string): Promise<string>;
  /** An ECDSA P-256 signature over the SHA-256 digest, DER-encoded as Cloud KMS returns it. */
  signDigest(versionName: string, sha256Digest: Buffer): Promise<Buffer>;
  /**
   * Destroys a version. Idempotent: destroying a version that is already destroyed (or scheduled
   * for destruction) is not an error, so a retry after a partial failure is always safe.
   */
  destroyKeyVersion(versionName: string): Promise<'destroyed' | 'already-destroyed'>;
  /** Versions of a key, for finding versions the database never recorded. */
  listKeyVersions(keyName: string): Promise<{ name: string; state: KeyVersionState; createdAt: Date }[]>;
}

export class KeyNotFoundError extends Error {
  override readonly name = 'KeyNotFoundError';
}

/** A key manager that cannot be used here; every call fails with the reason, naming what to change. */
export function unavailableKeyManager(reason: string): KeyManager {
  const fail = async (): Promise<never> => {
    throw new Error(reason);
  };
  return {
    createSigningKey: fail,
    createKeyVersion: fail,
    getPublicKeyPem: fail,
    signDigest: fail,
    destroyKeyVersion: fail,
    listKeyVersions: fail,
  };
}
