/**
 * The local secret store: Secret Manager's secrets and versions kept in the local database (tables
 * enx_jobs_local_secret*), with its naming (`<parent>/<secretId>/versions/<n>`, numbers never
 * reused) and states, so the rotation job runs the same code path in local mode and tests as in
 * production. Unlike Secret Manager it keeps payloads in the database, which is why it is refused
 * on Cloud Run.
 */
import type { Clock } from '../core/clock';
import type { Db } from '../core/db';
import type { SecretStore, SecretVersionState } from '../ports/secret-store';
import { SecretNotFoundError } from '../ports/secret-store';
import { checkSecretName, checkSecretPayload, parseSecretVersionName, secretName } from './secret-names';

export class LocalSecretStore implements SecretStore {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  async addSecretVersion(parent: string, secretId: string, payload: Buffer): Promise<string> {
    const secret = secretName(parent, secretId);
    checkSecretPayload(secret, payload);
    const now = this.clock.now();
    await this.db.query(
      'INSERT INTO enx_jobs_local_secrets (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING',
      [secret, now],
    );
    // One statement: the row lock taken by the UPDATE orders concurrent adders, so two versions
    // never get the same number.
    const { rows } = await this.db.query<{ name: string }>(
      `WITH next AS (
         UPDATE enx_jobs_local_secrets SET next_version = next_version + 1
          WHERE name = $1 RETURNING next_version - 1 AS version
       )
       INSERT INTO enx_jobs_local_secret_versions (name, secret_name, state, payload, created_at)
       SELECT $1 || '/versions/' || next.version, $1, 'ENABLED', $2, $3 FROM next
       RETURNING name`,
      [secret, payload, now],
    );
    return rows[0].name;
  }

  async accessSecretVersion(versionName: string): Promise<Buffer> {
    parseSecretVersionName(versionName);
    const { rows } = await this.db.query<{ state: SecretVersionState; payload: Buffer }>(
      'SELECT state, payload FROM enx_jobs_local_secret_versions WHERE name = $1',
      [versionName],
    );
    if (rows.length === 0) throw new SecretNotFoundError(`secret version ${versionName} does not exist`);
    if (rows[0].state !== 'ENABLED') {
      throw new SecretNotFoundError(
        `secret version ${versionName} is ${rows[0].state} and cannot be accessed`,
      );
    }
    return rows[0].payload;
  }

  async destroySecretVersion(versionName: string): Promise<'destroyed' | 'already-destroyed'> {
    parseSecretVersionName(versionName);
    const { rows } = await this.db.query<{ previous: SecretVersionState }>(
      `UPDATE enx_jobs_local_secret_versions v
          SET state = 'DESTROYED', payload = '\\x', destroyed_at = COALESCE(v.destroyed_at, $2)
         FROM (SELECT name, state AS previous FROM enx_jobs_local_secret_versions WHERE name = $1 FOR UPDATE) old
        WHERE v.name = old.name
        RETURNING old.previous`,
      [versionName, this.clock.now()],
    );
    // A missing version counts as destroyed: the interface promises a retry is always safe.
    if (rows.length === 0 || rows[0].previous === 'DESTROYED') return 'already-destroyed';
    return 'destroyed';
  }

  /** Newest first, as Secret Manager lists them; a secret that does not exist yet has no versions. */
  async listSecretVersions(
    secret: string,
  ): Promise<{ name: string; state: SecretVersionState; createdAt: Date }[]> {
    checkSecretName(secret);
    const { rows } = await this.db.query<{ name: string; state: SecretVersionState; created_at: Date }>(
      `SELECT name, state, created_at FROM enx_jobs_local_secret_versions
        WHERE secret_name = $1
        ORDER BY split_part(name, '/versions/', 2)::integer DESC`,
      [secret],
    );
    return rows.map((row) => ({ name: row.name, state: row.state, createdAt: row.created_at }));
  }
}
