/**
 * API keys made the way the verification server makes them, so the server accepts the probes' keys
 * (pkg/database/authorized_app.go GenerateAPIKey, GenerateAPIKeyHMAC; pkg/database/realm.go
 * CreateAuthorizedApp):
 *
 *   key    = base64url-no-padding(64 random bytes)
 *   full   = key "." realmID "." base64url-no-padding(HMAC-SHA512(signing secret, key "." realmID))
 *   stored = base64url-no-padding(HMAC-SHA512(database secret, key))   → authorized_apps.api_key
 *   preview = the first 6 characters of key                            → authorized_apps.api_key_preview
 *
 * Both secrets are the first consumable `api_key_signature_hmac` / `api_key_database_hmac` secret
 * (functions/db/enx-secrets.ts), which is the one ENX writes with.
 */
import { randomBytes } from 'node:crypto';
import type { SecretStore } from '../../ports/secret-store';
import type { Db } from '../../core/db';
import { consumableSecrets, ENX_SECRET_TYPE, enxHmac } from '../../db/enx-secrets';

/** pkg/database/authorized_app.go apiKeyBytes. */
const API_KEY_BYTES = 64;

export interface MintedApiKey {
  /** What a client sends in X-API-Key. */
  readonly full: string;
  /** authorized_apps.api_key. */
  readonly stored: string;
  /** authorized_apps.api_key_preview. */
  readonly preview: string;
}

/** The two keys ENX signs and stores API keys with, read once per run. */
export interface ApiKeySecrets {
  readonly signature: Buffer;
  readonly database: Buffer;
}

export async function readApiKeySecrets(db: Db, store: SecretStore): Promise<ApiKeySecrets> {
  const [signature] = await consumableSecrets(db, store, ENX_SECRET_TYPE.apiKeySignatureHmac);
  const [database] = await consumableSecrets(db, store, ENX_SECRET_TYPE.apiKeyDatabaseHmac);
  return { signature, database };
}

export function mintApiKey(secrets: ApiKeySecrets, realmId: number): MintedApiKey {
  const key = randomBytes(API_KEY_BYTES).toString('base64url');
  const signed = `${key}.${realmId}`;
  return {
    full: `${signed}.${enxHmac(secrets.signature, signed)}`,
    stored: enxHmac(secrets.database, key),
    preview: key.slice(0, 6),
  };
}
