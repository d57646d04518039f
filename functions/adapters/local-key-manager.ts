/**
 * The local key manager: real ECDSA P-256 keys, kept in the local database (table
 * enx_jobs_local_kms_versions), with Cloud KMS's naming and lifecycle, so the jobs run the same code
 * path in local mode and tests as in production. Never used on Cloud Run.
 */
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import type { Db } from '../core/db';
import type { Clock } from '../core/clock';
import type { KeyManager, KeyVersionState } from '../ports/key-manager';
import { KeyNotFoundError } from '../ports/key-manager';
import { signP256Digest } from './p256-prehashed';

export class LocalKeyManager implements KeyManager {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  async createSigningKey(keyRing: string, keyId: string): Promise<string> {
    const name = `${keyRing}/cryptoKeys/${keyId}`;
    await this.db.query(
      `INSERT INTO enx_jobs_local_kms_keys (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`,
      [name, this.clock.now()],
    );
    return name;
  }

  async createKeyVersion(keyName: string): Promise<string> {
    await this.createSigningKey(...splitKeyName(keyName));
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const { rows } = await this.db.query<{ name: string }>(
      `WITH next AS (
         UPDATE enx_jobs_local_kms_keys SET next_version = next_version + 1
          WHERE name = $1 RETURNING next_version - 1 AS version
       )
       INSERT INTO enx_jobs_local_kms_versions (name, key_name, state, private_pem, public_pem, created_at)
       SELECT $1 || '/cryptoKeyVersions/' || next.version, $1, 'ENABLED', $2, $3, $4 FROM next
       RETURNING name`,
      [
        keyName,
        privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        publicKey.export({ type: 'spki', format: 'pem' }).toString(),
        this.clock.now(),
      ],
    );
    return rows[0].name;
  }

  async getPublicKeyPem(versionName: string): Promise<string> {
    const version = await this.version(versionName);
    return createPublicKey(version.public_pem).export({ type: 'spki', format: 'pem' }).toString();
  }

  async signDigest(versionName: string, sha256Digest: Buffer): Promise<Buffer> {
    const version = await this.version(versionName);
    if (version.state !== 'ENABLED') {
      throw new Error(`key version ${versionName} is ${version.state} and cannot sign`);
    }
    // The digest is already SHA-256; sign it as-is, as KMS's AsymmetricSign does (Node's
    // crypto.sign would hash it a second time).
    return signP256Digest(version.private_pem, sha256Digest);
  }

  async destroyKeyVersion(versionName: string): Promise<'destroyed' | 'already-destroyed'> {
    const { rows } = await this.db.query<{ previous: KeyVersionState }>(
      `UPDATE enx_jobs_local_kms_versions v
          SET state = 'DESTROYED', private_pem = '', destroyed_at = COALESCE(v.destroyed_at, $2)
         FROM (SELECT name, state AS previous FROM enx_jobs_local_kms_versions WHERE name = $1 FOR UPDATE) old
        WHERE v.name = old.name
        RETURNING old.previous`,
      [versionName, this.clock.now()],
    );
    if (rows.length === 0) throw new KeyNotFoundError(`key version ${versionName} does not exist`);
    return rows[0].previous === 'ENABLED' ? 'destroyed' : 'already-destroyed';
  }

  async listKeyVersions(
    keyName: string,
  ): Promise<{ name: string; state: KeyVersionState; createdAt: Date }[]> {
    const { rows } = await this.db.query<{ name: string; state: KeyVersionState; created_at: Date }>(
      'SELECT name, state, created_at FROM enx_jobs_local_kms_versions WHERE key_name = $1 ORDER BY created_at, name',
      [keyName],
    );
    return rows.map((row) => ({ name: row.name, state: row.state, createdAt: row.created_at }));
  }

  private async version(versionName: string) {
    const { rows } = await this.db.query<{ state: KeyVersionState; private_pem: string; public_pem: string }>(
      'SELECT state, private_pem, public_pem FROM enx_jobs_local_kms_versions WHERE name = $1',
      [versionName],
    );
    if (rows.length === 0) throw new KeyNotFoundError(`key version ${versionName} does not exist`);
    return rows[0];
  }
}

function splitKeyName(keyName: string): [string, string] {
  const match = /^(.+)\/cryptoKeys\/([^/]+)$/.exec(keyName);
  if (!match) throw new Error(`"${keyName}" is not a key name (…/keyRings/<ring>/cryptoKeys/<key>)`);
  return [match[1], match[2]];
}
