/**
 * The secret store on Secret Manager. A secret is created on first use (automatic replication, as
 * ENX's Terraform made them), payloads carry their CRC32C both ways, and destroying is idempotent:
 * a version already destroyed, or gone, is done.
 */
import type { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { crc32c } from './crc32c';
import { GrpcCode, callGoogle, googleError, grpcCode } from './google-errors';
import type { GaxCallOptions, GoogleCall } from './google-errors';
import type { SecretStore, SecretVersionState } from '../ports/secret-store';
import { SecretNotFoundError } from '../ports/secret-store';
import { checkSecretName, checkSecretPayload, parseSecretVersionName, secretName } from './secret-names';

export interface GoogleSecretStoreOptions {
  /** Versions per ListSecretVersions page. */
  readonly pageSize?: number;
  /** gax options for every call; production leaves them unset (the library retries UNAVAILABLE). */
  readonly callOptions?: GaxCallOptions;
}

const call = (action: string, resource: string, role: string): GoogleCall => ({
  service: 'Secret Manager',
  action,
  resource,
  role,
  setting: 'SECRETS_PARENT (projects/<project>/secrets)',
});

const toDate = (timestamp: { seconds?: unknown; nanos?: unknown } | null | undefined) =>
  new Date(Number(String(timestamp?.seconds ?? 0)) * 1000 + Number(timestamp?.nanos ?? 0) / 1e6);

const narrowState = (state: unknown): SecretVersionState =>
  state === 'DESTROYED' ? 'DESTROYED' : state === 'DISABLED' ? 'DISABLED' : 'ENABLED';

export class GoogleSecretStore implements SecretStore {
  constructor(
    private readonly client: SecretManagerServiceClient,
    private readonly options: GoogleSecretStoreOptions = {},
  ) {}

  async addSecretVersion(parent: string, secretId: string, payload: Buffer): Promise<string> {
    const secret = secretName(parent, secretId);
    checkSecretPayload(secret, payload);
    try {
      return await this.add(secret, payload);
    } catch (error) {
      if (grpcCode(error) !== GrpcCode.NOT_FOUND) {
        throw googleError(
          call('add a version to', secret, 'secretmanager.versions.add (the enxJobsSecretRotator role)'),
          error,
        );
      }
    }
    await this.createSecret(parent, secretId, secret);
    return callGoogle(
      call('add a version to', secret, 'secretmanager.versions.add (the enxJobsSecretRotator role)'),
      () => this.add(secret, payload),
    );
  }

  private async add(secret: string, payload: Buffer): Promise<string> {
    const [version] = await this.client.addSecretVersion(
      { parent: secret, payload: { data: payload, dataCrc32c: crc32c(payload) } },
      this.options.callOptions,
    );
    return String(version.name);
  }

  /** First use of a secret id; a concurrent creator winning the race is fine. */
  private async createSecret(parent: string, secretId: string, secret: string): Promise<void> {
    try {
      await this.client.createSecret(
        {
          parent: parent.replace(/\/secrets$/, ''),
          secretId,
          secret: { replication: { automatic: {} } },
        },
        this.options.callOptions,
      );
    } catch (error) {
      if (grpcCode(error) !== GrpcCode.ALREADY_EXISTS) {
        throw googleError(
          call('create the secret', secret, 'secretmanager.secrets.create (the enxJobsSecretRotator role)'),
          error,
        );
      }
    }
  }

  async accessSecretVersion(versionName: string): Promise<Buffer> {
    parseSecretVersionName(versionName);
    let response;
    try {
      [response] = await this.client.accessSecretVersion({ name: versionName }, this.options.callOptions);
    } catch (error) {
      const code = grpcCode(error);
      if (code === GrpcCode.NOT_FOUND)
        throw new SecretNotFoundError(`secret version ${versionName} does not exist`);
      if (code === GrpcCode.FAILED_PRECONDITION) {
        throw new SecretNotFoundError(
          `secret version ${versionName} cannot be accessed (Secret Manager said: ${(error as { details?: string }).details ?? ''})`,
        );
      }
      throw googleError(call('read', versionName, 'roles/secretmanager.secretAccessor'), error);
    }
    const data = Buffer.from(response.payload?.data ?? []);
    const checksum = response.payload?.dataCrc32c;
    if (checksum === null || checksum === undefined || Number(String(checksum)) !== crc32c(data)) {
      throw new Error(`the payload of ${versionName} was corrupted in transit (CRC32C mismatch); retry`);
    }
    return data;
  }

  async destroySecretVersion(versionName: string): Promise<'destroyed' | 'already-destroyed'> {
    parseSecretVersionName(versionName);
    const what = call(
      'destroy',
      versionName,
      'secretmanager.versions.destroy (the enxJobsSecretRotator role)',
    );
    try {
      await this.client.destroySecretVersion({ name: versionName }, this.options.callOptions);
      return 'destroyed';
    } catch (error) {
      const code = grpcCode(error);
      if (code === GrpcCode.NOT_FOUND) return 'already-destroyed';
      if (code !== GrpcCode.FAILED_PRECONDITION) throw googleError(what, error);
    }
    const [version] = await callGoogle(
      call('read', versionName, 'secretmanager.versions.get (the enxJobsSecretRotator role)'),
      () => this.client.getSecretVersion({ name: versionName }, this.options.callOptions),
    );
    if (version.state === 'DESTROYED') return 'already-destroyed';
    throw new Error(
      `Secret Manager cannot destroy ${versionName} in state ${String(version.state)}: check it in Secret Manager`,
    );
  }

  /** Newest first, as Secret Manager lists them; a secret that does not exist yet has no versions. */
  async listSecretVersions(
    secret: string,
  ): Promise<{ name: string; state: SecretVersionState; createdAt: Date }[]> {
    checkSecretName(secret);
    const all: { name: string; state: SecretVersionState; createdAt: Date }[] = [];
    let pageToken = '';
    do {
      let page;
      try {
        page = await this.client.listSecretVersions(
          { parent: secret, pageSize: this.options.pageSize ?? 100, pageToken },
          { ...this.options.callOptions, autoPaginate: false },
        );
      } catch (error) {
        if (grpcCode(error) === GrpcCode.NOT_FOUND && all.length === 0) return [];
        throw googleError(
          call('list the versions of', secret, 'secretmanager.versions.list (the enxJobsSecretRotator role)'),
          error,
        );
      }
      const [versions, , response] = page;
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
