/**
 * The upstreams as the local fleet runs them: started on the fleet's database, key manager and
 * local secret store (which holds the api_key_* secrets the probes and the stand-ins share), and the e2e realm prepared the way a production realm with its own certificate
 * key looks: use_realm_certificate_key and auto_rotate_certificate_key on, and a first active key
 * if it has none. realm-key-rotation-worker then rotates it like any realm, so a broken rotation
 * turns the local probes red.
 */
import type { KeyManager } from '../../functions/ports';
import { LocalSecretStore } from '../../functions/adapters/local-secret-store';
import type { Env } from '../../functions/core/config';
import type { Db } from '../../functions/core/db';
import { ensureE2eRealm } from '../../functions/jobs/e2e/bootstrap';
import { LOCAL_PROJECT } from '../local-env';
import { startUpstreams } from './start';
import type { Upstreams } from './start';

export const LOCAL_HEALTH_AUTHORITY = 'com.example.enx-local';
const E2E_ISSUER = 'enx-local-e2e-realm';
const E2E_AUDIENCE = 'exposure-notifications-server';

export interface LocalUpstreamsOptions {
  readonly db: Db;
  readonly keyManager: KeyManager;
  /** The system certificate key version (what realms without their own key sign with). */
  readonly certificateSigningKey: string;
  readonly realmKeyRing: string;
  /** The operator's environment, for the system key's kid and issuer when they set them. */
  readonly env?: Env;
}

/** Gives the e2e realm its own certificate key, unless it has one (or rotation already made one). */
export async function prepareLocalE2eRealm(options: LocalUpstreamsOptions, now: Date): Promise<number> {
  const realm = await ensureE2eRealm(options.db, now);
  await options.db.query(
    `UPDATE realms SET use_realm_certificate_key = true, auto_rotate_certificate_key = true,
            certificate_issuer = COALESCE(NULLIF(certificate_issuer, ''), $2),
            certificate_audience = COALESCE(NULLIF(certificate_audience, ''), $3)
      WHERE id = $1`,
    [realm.id, E2E_ISSUER, E2E_AUDIENCE],
  );
  const { rows } = await options.db.query(
    'SELECT 1 FROM signing_keys WHERE realm_id = $1 AND active AND deleted_at IS NULL',
    [realm.id],
  );
  if (rows.length === 0) {
    const key = await options.keyManager.createSigningKey(options.realmKeyRing, `realm-${realm.id}`);
    const version = await options.keyManager.createKeyVersion(key);
    await options.db.query(
      `INSERT INTO signing_keys (realm_id, key_id, active, created_at, updated_at) VALUES ($1, $2, true, $3, $3)`,
      [realm.id, version, now],
    );
  }
  return realm.id;
}

export async function startLocalUpstreams(options: LocalUpstreamsOptions): Promise<Upstreams> {
  await prepareLocalE2eRealm(options, new Date());
  return startUpstreams({
    db: options.db,
    keyManager: options.keyManager,
    secretStore: new LocalSecretStore(options.db, { now: () => new Date() }),
    secretsParent: `projects/${LOCAL_PROJECT}/secrets`,
    systemKey: {
      keyVersion: options.certificateSigningKey,
      kid: options.env?.CERTIFICATE_SIGNING_KEY_ID ?? 'v1',
      issuer: options.env?.CERTIFICATE_ISSUER ?? 'diagnosis-verification-example',
      audience: E2E_AUDIENCE,
    },
    healthAuthorityId: LOCAL_HEALTH_AUTHORITY,
  });
}
