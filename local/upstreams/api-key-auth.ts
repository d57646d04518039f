/**
 * The verification server's API-key check, re-derived from ENX's source (not from the probes'
 * code, which it must catch out when they get it wrong; so it shares no helper with them):
 *
 * - pkg/controller/middleware/apikey.go RequireAPIKey: the X-API-Key header (trimmed); a missing
 *   key, a key that finds no app, an app of a type the route does not allow, and an app whose realm
 *   is gone all answer 401 Unauthorized. last_used_at is touched when older than 15 minutes.
 * - pkg/database/authorized_app.go FindAuthorizedAppByAPIKey: a key with a "." is a v2 key
 *   `key.realmID.signature`; its signature (VerifyAPIKeySignature) must be the HMAC-SHA512 of
 *   `key.realmID` under one of the api_key_signature_hmac secrets, and the app is looked up by
 *   HMAC-SHA512(api_key_database_hmac secret, key) among any of those secrets AND the realm in the
 *   key. A key without a "." is a v1 key, looked up by its HMAC alone. Soft-deleted apps
 *   (deleted_at set) are invisible (gorm's default scope).
 * - pkg/database/secret.go ListSecretsForType + scopes.go InConsumableSecretOrder: the usable
 *   secrets are the rows not marked for deletion; values come from the secret store
 *   (pkg/database/secretresolver.go).
 * - pkg/controller/controller.go Unauthorized + pkg/api/api.go ErrorReturn: a client that accepts
 *   or sends JSON gets {"error":"unauthorized","errorCode":"","error_code":""}; any other gets the
 *   plain-text status line.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { SecretStore } from '../../functions/ports/secret-store';
import type { Db } from '../../functions/core/db';
import type { Reply } from './http';

export interface ApiKeyVerifier {
  readonly db: Db;
  readonly secretStore: SecretStore;
}

export interface Caller {
  readonly appId: number;
  readonly realmId: number;
}

/** ENX's APIKeyType (pkg/database/authorized_app.go). */
export const ENX_API_KEY_TYPE = { device: 0, admin: 1, stats: 2 } as const;

const LAST_USED_TTL_MS = 15 * 60_000;

const hmac512 = (key: Buffer, data: string) => createHmac('sha512', key).update(data).digest();

export async function secretsOf(verifier: ApiKeyVerifier, type: string): Promise<Buffer[]> {
  const { rows } = await verifier.db.query<{ reference: string }>(
    'SELECT reference FROM secrets WHERE type = $1 AND deleted_at IS NULL ORDER BY active DESC, created_at DESC',
    [type],
  );
  return Promise.all(rows.map((row) => verifier.secretStore.accessSecretVersion(row.reference)));
}

/** `key.realm.signature` → the key and realm when the signature verifies under any signing secret. */
async function verifySignature(
  verifier: ApiKeyVerifier,
  full: string,
): Promise<{ key: string; realmId: number } | undefined> {
  const parts = full.split('.');
  if (parts.length !== 3 || parts[0] === '' || parts[1] === '') return undefined;
  const [key, realm, signature] = parts;
  // base64util.DecodeString accepts padded and unpadded, standard and URL alphabets.
  const got = Buffer.from(signature, 'base64');
  let found = false;
  for (const secret of await secretsOf(verifier, 'api_key_signature_hmac')) {
    const expected = hmac512(secret, `${key}.${realm}`);
    if (got.length === expected.length && timingSafeEqual(got, expected)) found = true;
  }
  if (!found || !/^\d+$/.test(realm)) return undefined;
  return { key, realmId: Number(realm) };
}

async function findApp(verifier: ApiKeyVerifier, full: string) {
  let key = full;
  let realmId: number | undefined;
  if (full.includes('.')) {
    const verified = await verifySignature(verifier, full);
    if (!verified) return undefined;
    ({ key, realmId } = verified);
  }
  const digests = (await secretsOf(verifier, 'api_key_database_hmac')).map((secret) =>
    hmac512(secret, key).toString('base64url'),
  );
  const { rows } = await verifier.db.query<{
    id: number;
    realm_id: number;
    api_key_type: number;
    last_used_at: Date | null;
  }>(
    `SELECT id, realm_id, api_key_type, last_used_at FROM authorized_apps
      WHERE api_key = ANY($1::text[]) AND deleted_at IS NULL AND ($2::bigint IS NULL OR realm_id = $2)
      ORDER BY id LIMIT 1`,
    [digests, realmId ?? null],
  );
  return rows[0];
}

export function unauthorized(headers: IncomingMessage['headers']): Reply {
  const accepts = `${headers.accept ?? ''},${headers['content-type'] ?? ''}`
    .split(',')
    .map((part) => part.trim());
  if (accepts.some((part) => part.startsWith('application/json'))) {
    return { status: 401, body: { error: 'unauthorized', errorCode: '', error_code: '' } };
  }
  return { status: 401, text: 'Unauthorized\n' };
}

/** RequireAPIKey for a route that allows `allowed` key types. */
export async function requireApiKey(
  verifier: ApiKeyVerifier,
  headers: IncomingMessage['headers'],
  allowed: readonly number[],
  now: Date,
): Promise<Caller | Reply> {
  const raw = headers['x-api-key'];
  const full = (typeof raw === 'string' ? raw : '').trim();
  if (full === '') return unauthorized(headers);
  const app = await findApp(verifier, full);
  if (!app || !allowed.includes(app.api_key_type)) return unauthorized(headers);
  const realm = await verifier.db.query('SELECT 1 FROM realms WHERE id = $1 AND deleted_at IS NULL', [
    app.realm_id,
  ]);
  if (realm.rows.length === 0) return unauthorized(headers);
  if (!app.last_used_at || now.getTime() - app.last_used_at.getTime() > LAST_USED_TTL_MS) {
    await verifier.db.query('UPDATE authorized_apps SET last_used_at = $2 WHERE id = $1', [app.id, now]);
  }
  return { appId: app.id, realmId: app.realm_id };
}
