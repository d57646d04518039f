/**
 * The token the key server's stats API accepts: an ES256 JWT signed by the realm's certificate key
 * or the system one (enx-jobs.md §8, certapi.GetSignerForRealm). The private key never leaves the
 * key manager: the JWT's signing input is hashed here and KMS signs the digest, answering a DER
 * ECDSA signature that JOSE wants as the fixed-width r||s pair.
 */
import { createHash } from 'node:crypto';
import type { KeyManager } from '../../ports';
import type { StatsPullerConfig } from './config';

/** Which key signs a realm's token, and what the token says about it. */
export interface SignerIdentity {
  readonly keyVersion: string;
  readonly kid: string;
  readonly issuer: string;
}

/** A realm whose signer cannot be determined: a configuration problem an operator must fix. */
export class SignerConfigError extends Error {
  override readonly name = 'SignerConfigError';
}

export const TOKEN_LIFETIME_SECONDS = 5 * 60;

/** P-256 integers are 32 bytes. */
const P256_INTEGER_BYTES = 32;

/** Reads a DER length at `offset`; short form or long form up to 2 bytes (enough for any ECDSA). */
function readLength(der: Buffer, offset: number): { length: number; next: number } {
  if (offset >= der.length) throw new Error('DER signature is truncated');
  const first = der[offset];
  if (first < 0x80) return { length: first, next: offset + 1 };
  const bytes = first & 0x7f;
  if (bytes === 0 || bytes > 2 || offset + bytes >= der.length) {
    throw new Error('DER signature has an unsupported length encoding');
  }
  let length = 0;
  for (let index = 1; index <= bytes; index += 1) length = (length << 8) | der[offset + index];
  return { length, next: offset + 1 + bytes };
}

function readInteger(der: Buffer, offset: number, size: number): { value: Buffer; next: number } {
  if (der[offset] !== 0x02) throw new Error('DER signature: expected an INTEGER');
  const { length, next } = readLength(der, offset + 1);
  if (length === 0 || next + length > der.length) throw new Error('DER signature: INTEGER out of bounds');
  let value = der.subarray(next, next + length);
  // DER prefixes a 0x00 when the top bit is set (33 bytes) and drops leading zeros (fewer than 32
  // bytes); JOSE wants exactly `size` unsigned big-endian bytes.
  while (value.length > 1 && value[0] === 0) value = value.subarray(1);
  if (value.length > size) throw new Error(`DER signature: INTEGER longer than ${size} bytes`);
  const padded = Buffer.alloc(size);
  value.copy(padded, size - value.length);
  return { value: padded, next: next + length };
}

/** DER ECDSA-Sig-Value (SEQUENCE { r INTEGER, s INTEGER }) → JOSE r||s (RFC 7518 §3.4). */
export function derToJose(der: Buffer, size = P256_INTEGER_BYTES): Buffer {
  if (der.length < 8 || der[0] !== 0x30) throw new Error('DER signature: expected a SEQUENCE');
  const sequence = readLength(der, 1);
  if (sequence.next + sequence.length !== der.length) throw new Error('DER signature: wrong SEQUENCE length');
  const r = readInteger(der, sequence.next, size);
  const s = readInteger(der, r.next, size);
  if (s.next !== der.length) throw new Error('DER signature: trailing bytes');
  return Buffer.concat([r.value, s.value]);
}

function base64url(value: Buffer | string): string {
  return Buffer.from(value).toString('base64url');
}

/** A signed ES256 JWT for the stats API; iat is `now`, exp five minutes later. */
export async function signStatsToken(
  keyManager: KeyManager,
  identity: SignerIdentity,
  audience: string,
  now: Date,
): Promise<string> {
  const iat = Math.floor(now.getTime() / 1000);
  const header = { alg: 'ES256', kid: identity.kid, typ: 'JWT' };
  const claims = { aud: audience, iss: identity.issuer, iat, exp: iat + TOKEN_LIFETIME_SECONDS };
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  const digest = createHash('sha256').update(signingInput).digest();
  const der = await keyManager.signDigest(identity.keyVersion, digest);
  return `${signingInput}.${base64url(derToJose(der))}`;
}

/** What decides a realm's signer: its realm row (if any) and its newest active signing key. */
export interface RealmSigningRow {
  readonly realm_id: number;
  readonly realm_exists: boolean;
  readonly use_realm_certificate_key: boolean | null;
  readonly certificate_issuer: string | null;
  readonly signing_key_row_id: number | null;
  readonly signing_key_version: string | null;
}

/**
 * The columns of RealmSigningRow for the realm whose id is `realmIdSql`, to join onto a query.
 * Newest active key first: rotation activates the new row before deactivating the old one, so for
 * a moment two may be active and the newer is the one the key server was told about.
 */
export function realmSigningColumns(realmIdSql: string): { select: string; joins: string } {
  return {
    select: `r.id IS NOT NULL AS realm_exists, r.use_realm_certificate_key, r.certificate_issuer,
             k.id AS signing_key_row_id, k.key_id AS signing_key_version`,
    joins: `LEFT JOIN realms r ON r.id = ${realmIdSql} AND r.deleted_at IS NULL
            LEFT JOIN LATERAL (
              SELECT id, key_id FROM signing_keys
               WHERE realm_id = ${realmIdSql} AND active AND deleted_at IS NULL
               ORDER BY id DESC LIMIT 1
            ) k ON true`,
  };
}

type SystemSigner = Pick<
  StatsPullerConfig,
  'certificateSigningKey' | 'certificateSigningKeyId' | 'certificateIssuer'
>;

/**
 * The realm's signer: its own active certificate key when it uses one (kid r<realm>v<row id>, iss
 * the realm's certificate issuer), otherwise the system key.
 */
export function identityFor(row: RealmSigningRow, config: SystemSigner): SignerIdentity {
  const realmId = row.realm_id;
  if (!row.realm_exists) {
    throw new SignerConfigError(
      `realm ${realmId} does not exist (or is deleted) but has a key_server_stats row; delete the row or restore the realm`,
    );
  }
  if (!row.use_realm_certificate_key) {
    return {
      keyVersion: config.certificateSigningKey,
      kid: config.certificateSigningKeyId,
      issuer: config.certificateIssuer,
    };
  }
  const issuer = row.certificate_issuer?.trim() ?? '';
  if (issuer === '') {
    throw new SignerConfigError(
      `realm ${realmId} uses its own certificate key but has no certificate_issuer`,
    );
  }
  if (row.signing_key_row_id === null || !row.signing_key_version) {
    throw new SignerConfigError(
      `realm ${realmId} uses its own certificate key but has no active signing key`,
    );
  }
  return { keyVersion: row.signing_key_version, kid: `r${realmId}v${row.signing_key_row_id}`, issuer };
}
