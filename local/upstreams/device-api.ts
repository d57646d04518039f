/**
 * The verification server's device API, as much of it as the probes use: POST /api/verify claims a
 * code and hands out a verification token (a tokens row), POST /api/certificate spends the token
 * on a certificate over the phone's key HMAC. Calls need a device API key. The token is an opaque
 * random id rather than ENX's JWT: nothing downstream reads it but this stand-in.
 *
 * Mirrors: internal/routes/apiserver.go (routes, device keys only), pkg/controller/verifyapi/verify.go
 * (400 code_invalid for an unknown or used code, 400 code_expired, 412 unsupported_test_type for a code
 * the phone does not accept, 400 invalid_test_type for an unknown accept entry), pkg/api/util.go
 * (accepted test types), pkg/database/token.go (a user report's code claims its report once; a
 * claimed or missing report reads as code_invalid), pkg/controller/certapi/certificate.go
 * (400 token_invalid for an unknown token, 400 token_expired for an expired or used one, 400
 * hmac_invalid for an HMAC that is not 32 bytes), pkg/api/api.go (error codes and body), and
 * api-key-auth.ts for the key check.
 */
import { randomBytes } from 'node:crypto';
import type { KeyManager } from '../../functions/ports';
import type { DbClient } from '../../functions/core/db';
import { withTransaction } from '../../functions/core/db';
import { ENX_API_KEY_TYPE, requireApiKey } from './api-key-auth';
import { isoDay } from '../../functions/jobs/e2e/tek';
import type { CodeStore } from './admin-api';
import { codeDigest } from './admin-api';
import type { SystemCertificateKey } from './certificates';
import { signJwt, signJwtWithWrongKey, signerForRealm } from './certificates';
import type { Route } from './http';
import { apiError, field, isReply, json } from './http';

export interface DeviceApiOptions extends CodeStore {
  readonly keyManager: KeyManager;
  readonly systemKey: SystemCertificateKey;
}

/** The device API's routes take device keys only (internal/routes/apiserver.go). */
const DEVICE = [ENX_API_KEY_TYPE.device];
/** ENX's verification tokens live 24 h by default. */
const TOKEN_LIFETIME_MS = 24 * 3_600_000;
const INTERVAL_SECONDS = 600;

export function deviceRoutes(options: DeviceApiOptions): Record<string, Route> {
  const { db } = options;
  return {
    '/api/verify': async ({ headers, body, fault }) => {
      const now = options.now();
      const caller = await requireApiKey(options, headers, DEVICE, now);
      if (isReply(caller)) return caller;
      const code = field(body, 'code');
      if (typeof code !== 'string' || code === '') return apiError(400, 'code is missing', 'missing_code');
      const accepted = acceptedTestTypes(field(body, 'accept'));
      if (typeof accepted === 'string') return apiError(400, accepted, 'invalid_test_type');
      const digest = codeDigest(options.codeHmacKey, code);
      return withTransaction(db, async (client) => {
        const { rows: found } = await client.query<{
          id: string;
          claimed: boolean;
          live: boolean;
          test_type: string;
          symptom_date: Date | null;
          user_report_id: string | null;
        }>(
          `SELECT id, claimed, test_type, symptom_date, user_report_id,
                  ((code = $2 AND expires_at > $3) OR (long_code = $2 AND long_expires_at > $3)) AS live
             FROM verification_codes
            WHERE realm_id = $1 AND (code = $2 OR long_code = $2) AND deleted_at IS NULL
            FOR UPDATE`,
          [caller.realmId, digest, now],
        );
        const vc = found[0];
        // A used code reads as invalid, as ENX answers it (pkg/controller/verifyapi/verify.go).
        if (!vc || vc.claimed) return apiError(400, 'verification code invalid', 'code_invalid');
        if (!vc.live) return apiError(400, 'verification code expired', 'code_expired');
        if (!accepted.has(vc.test_type)) {
          return apiError(412, 'verification code has unsupported test type', 'unsupported_test_type');
        }
        if (vc.user_report_id !== null && !(await claimUserReport(client, vc.user_report_id))) {
          return apiError(400, 'verification code invalid', 'code_invalid');
        }
        await client.query('UPDATE verification_codes SET claimed = true, updated_at = $2 WHERE id = $1', [
          vc.id,
          now,
        ]);
        const rows = [vc];
        const token = randomBytes(32).toString('base64url');
        // An "expired-token" fault hands out a token that expired a minute ago.
        const expiresAt = new Date(
          now.getTime() + (fault?.mode === 'expired-token' ? -60_000 : TOKEN_LIFETIME_MS),
        );
        await client.query(
          `INSERT INTO tokens (realm_id, token_id, test_type, symptom_date, used, expires_at, created_at, updated_at)
           VALUES ($1, $2, $3, $4, false, $5, $6, $6)`,
          [caller.realmId, token, rows[0].test_type, rows[0].symptom_date, expiresAt, now],
        );
        return json(200, {
          testtype: rows[0].test_type,
          symptomDate: rows[0].symptom_date ? isoDay(rows[0].symptom_date) : '',
          token,
          padding: '',
        });
      });
    },

    '/api/certificate': async ({ headers, body, fault }) => {
      const now = options.now();
      const caller = await requireApiKey(options, headers, DEVICE, now);
      if (isReply(caller)) return caller;
      const token = field(body, 'token');
      const keyHmac = field(body, 'ekeyhmac');
      if (typeof token !== 'string' || token === '')
        return apiError(400, 'token is missing', 'token_invalid');
      if (typeof keyHmac !== 'string' || Buffer.from(keyHmac, 'base64').length !== 32) {
        return apiError(400, 'ekeyhmac must be a base64 HMAC-SHA256 (32 bytes)', 'hmac_invalid');
      }
      return withTransaction(db, async (client) => {
        const { rows } = await client.query<{ test_type: string; symptom_date: Date | null }>(
          `UPDATE tokens SET used = true, updated_at = $3
            WHERE token_id = $1 AND realm_id = $2 AND NOT used AND expires_at > $3 AND deleted_at IS NULL
            RETURNING test_type, symptom_date`,
          [token, caller.realmId, now],
        );
        if (rows.length === 0) {
          const { rows: known } = await client.query<{ used: boolean }>(
            'SELECT used FROM tokens WHERE token_id = $1 AND realm_id = $2',
            [token, caller.realmId],
          );
          if (known.length === 0) return apiError(400, 'verification token invalid', 'token_invalid');
          // ENX answers a used token with token_expired (pkg/controller/certapi/certificate.go).
          return known[0].used
            ? apiError(400, 'verification token invalid', 'token_expired')
            : apiError(400, 'verification token expired', 'token_expired');
        }
        let signer;
        try {
          signer = await signerForRealm(db, caller.realmId, options.systemKey);
        } catch (error) {
          return apiError(
            500,
            `cannot sign certificates for this realm: ${(error as Error).message}`,
            'internal_server_error',
          );
        }
        const iat = Math.floor(now.getTime() / 1000);
        // An "expired-token" fault signs a certificate whose lifetime ended a minute ago.
        const exp = fault?.mode === 'expired-token' ? iat - 60 : iat + signer.durationSeconds;
        const symptomDate = rows[0].symptom_date;
        const claims = {
          reportType: rows[0].test_type,
          ...(symptomDate
            ? { symptomOnsetInterval: Math.floor(symptomDate.getTime() / 1000 / INTERVAL_SECONDS) }
            : {}),
          tekmac: keyHmac,
          trisk: [],
          aud: signer.audience,
          iss: signer.issuer,
          iat: fault?.mode === 'expired-token' ? exp - signer.durationSeconds : iat,
          nbf: fault?.mode === 'expired-token' ? exp - signer.durationSeconds : iat,
          exp,
        };
        const header = { alg: 'ES256', kid: signer.kid, typ: 'JWT' };
        let certificate: string;
        try {
          certificate =
            fault?.mode === 'wrong-signature'
              ? signJwtWithWrongKey(header, claims)
              : await signJwt(options.keyManager, signer.keyVersion, header, claims);
        } catch (error) {
          // Rolls the token back: a phone may retry once the key is fixed.
          throw new CertificateSigningError(`signing with ${signer.kid} failed: ${(error as Error).message}`);
        }
        return json(200, { certificate, error: '' });
      }).catch((error: unknown) => {
        if (error instanceof CertificateSigningError)
          return apiError(500, error.message, 'internal_server_error');
        throw error;
      });
    },
  };
}

class CertificateSigningError extends Error {}

/** pkg/api/util.go GetAcceptedTestTypes: each accepted type brings the ones it may be upgraded to. */
const ACCEPTS: Readonly<Record<string, readonly string[]>> = {
  confirmed: ['confirmed'],
  likely: ['confirmed', 'likely'],
  negative: ['confirmed', 'likely', 'negative'],
  'user-report': ['confirmed', 'user-report'],
};

/** The accepted set, or the refusal for a type ENX does not know. No list accepts all four. */
function acceptedTestTypes(accept: unknown): Set<string> | string {
  if (!Array.isArray(accept) || accept.length === 0) return new Set(Object.keys(ACCEPTS));
  const accepted = new Set<string>();
  for (const type of accept) {
    const known = ACCEPTS[String(type).toLowerCase()];
    if (!known) return `invalid accepted test type: ${String(type)}`;
    for (const each of known) accepted.add(each);
  }
  return accepted;
}

/**
 * pkg/database/token.go VerifyCodeAndIssueToken for a code with a user report: the report must
 * exist and not be claimed yet; it is then marked claimed. An admin-issued report needs no nonce,
 * and the probes send none, so nonces are not checked here. False reads as code_invalid.
 */
async function claimUserReport(client: DbClient, userReportId: string): Promise<boolean> {
  const { rowCount } = await client.query(
    'UPDATE user_reports SET code_claimed = true WHERE id = $1 AND NOT code_claimed AND NOT nonce_required',
    [userReportId],
  );
  return (rowCount ?? 0) > 0;
}
