/**
 * Secret values live in a secret store (Secret Manager in production), never in the database: the
 * database's `secrets` rows only hold version *names* (`secrets.reference`). Jobs see this narrow
 * interface; the Google implementation (@google-cloud/secret-manager) and the local one both
 * implement it with Secret Manager's naming: `<parent>/<secretId>/versions/<n>`.
 */
export type SecretVersionState = 'ENABLED' | 'DISABLED' | 'DESTROYED';

export interface SecretStore {
  /**
   * Adds a version holding `payload` to the secret `<parent>/<secretId>` (SECRETS_PARENT is
   * `projects/<project>/secrets`), creating the secret first if it does not exist. Returns the
   * version's full resource name.
   */
  addSecretVersion(parent: string, secretId: string, payload: Buffer): Promise<string>;
  /** The payload of a version; fails with SecretNotFoundError when it does not exist or is destroyed. */
  accessSecretVersion(versionName: string): Promise<Buffer>;
  /**
   * Destroys a version. Idempotent: destroying a destroyed (or missing) version is not an error,
   * so a retry after a partial failure is always safe.
   */
  destroySecretVersion(versionName: string): Promise<'destroyed' | 'already-destroyed'>;
  /** The versions of a secret, for finding versions the database never recorded. */
  listSecretVersions(
    secretName: string,
  ): Promise<{ name: string; state: SecretVersionState; createdAt: Date }[]>;
}

export class SecretNotFoundError extends Error {
  override readonly name = 'SecretNotFoundError';
}

/** A secret store that cannot be used here; every call fails with the reason, naming what to change. */
export function unavailableSecretStore(reason: string): SecretStore {
  const fail = async (): Promise<never> => {
    throw new Error(reason);
  };
  return {
    addSecretVersion: fail,
    accessSecretVersion: fail,
    destroySecretVersion: fail,
    listSecretVersions: fail,
  };
}
