/**
 * Verification certificates as the verification server signs them: an ES256 JWT from the realm's
 * active signing_keys row when the realm uses its own certificate key (kid r<realm>v<row id>), from
 * the system certificate key otherwise. The choice of key reuses stats-puller-worker's rules
 * (realmSigningColumns, identityFor) and the signature its DER → JOSE conversion, so the probes
 * exercise the same key lifecycle realm-key-rotation-worker manages: a broken rotation (no active
 * key, an active row whose version was destroyed) fails the certificate step, as in production.
 *
 * Mirrors: pkg/controller/certapi/signers.go GetSignerForRealm (the system key with its configured
 * kid, issuer and audience unless the realm has use_realm_certificate_key; otherwise the realm's
 * current signing key with the realm's issuer and audience, and no fallback when it has none) and
 * pkg/database/signing_key.go GetKID ("r<realm id>v<row id>"). The certificate endpoint's refusals
 * are device-api.ts's (pkg/controller/certapi/certificate.go).
 */
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import type { KeyManager } from '../../functions/ports';
import type { Db } from '../../functions/core/db';
import { derToJose, identityFor, realmSigningColumns } from '../../functions/jobs/stats-puller-worker/signer';
import type { RealmSigningRow } from '../../functions/jobs/stats-puller-worker/signer';

export interface SystemCertificateKey {
  /** The KMS key version that signs for realms without their own key. */
  readonly keyVersion: string;
  readonly kid: string;
  readonly issuer: string;
  readonly audience: string;
}

export interface Signer {
  readonly keyVersion: string;
  readonly kid: string;
  readonly issuer: string;
  readonly audience: string;
  readonly durationSeconds: number;
}

interface SignerRow extends RealmSigningRow {
  readonly certificate_audience: string | null;
  readonly certificate_duration: string | null;
}

export async function signerForRealm(db: Db, realmId: number, system: SystemCertificateKey): Promise<Signer> {
  const columns = realmSigningColumns('$1::int');
  const { rows } = await db.query<SignerRow>(
    `SELECT $1::int AS realm_id, ${columns.select}, r.certificate_audience, r.certificate_duration
       FROM (SELECT 1) one ${columns.joins}`,
    [realmId],
  );
  const row = rows[0];
  const identity = identityFor(row, {
    certificateSigningKey: system.keyVersion,
    certificateSigningKeyId: system.kid,
    certificateIssuer: system.issuer,
  });
  const ownKey = row.use_realm_certificate_key === true;
  return {
    ...identity,
    audience: ownKey ? row.certificate_audience?.trim() || system.audience : system.audience,
    durationSeconds: Number(row.certificate_duration ?? 900) || 900,
  };
}

const base64url = (value: Buffer | string) => Buffer.from(value).toString('base64url');

/** Signs header.claims through the key manager (the private key never leaves it). */
export async function signJwt(
  keyManager: KeyManager,
  keyVersion: string,
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
): Promise<string> {
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  const der = await keyManager.signDigest(keyVersion, createHash('sha256').update(input).digest());
  return `${input}.${base64url(derToJose(der))}`;
}

/** The same JWT signed by a throwaway key under the real kid: what a "wrong signature" fault sends. */
export function signJwtWithWrongKey(
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  const signature = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${base64url(signature)}`;
}
