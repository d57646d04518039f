/**
 * The verification server's admin API, as much of it as the probes use: POST /api/issue issues a
 * code into verification_codes, POST /api/checkcodestatus reports whether it was claimed. Calls
 * need an admin API key (api-key-auth.ts, ENX's RequireAPIKey).
 *
 * Mirrors: internal/routes/adminapi.go (routes, admin keys only), pkg/controller/issueapi/issue.go
 * and validate_code.go (test types, dates, the realm's allowed types), pkg/controller/codes/logic.go
 * (404 code_not_found for a uuid not in the realm), pkg/api/api.go (error codes and body).
 * Not mirrored: SMS sending, quotas, bulk issue, user reports (no job uses them).
 */
import { createHmac, randomBytes, randomInt } from 'node:crypto';
import type { Db } from '../../functions/core/db';
import { ENX_API_KEY_TYPE, requireApiKey } from './api-key-auth';
import type { ApiKeyVerifier } from './api-key-auth';
import type { Route } from './http';
import { apiError, field, isReply, json } from './http';

export interface CodeStore extends ApiKeyVerifier {
  readonly db: Db;
  /** Codes are stored by HMAC under this key, as ENX stores them (never in the clear). */
  readonly codeHmacKey: Buffer;
  readonly now: () => Date;
}

export const TEST_TYPE_BITS: Readonly<Record<string, number>> = { confirmed: 2, likely: 4, negative: 8 };
/** The admin API's routes take admin keys only (internal/routes/adminapi.go). */
const ADMIN = [ENX_API_KEY_TYPE.admin];

export function codeDigest(key: Buffer, code: string): string {
  return createHmac('sha256', key).update(code).digest('base64');
}

const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

export function adminRoutes(store: CodeStore): Record<string, Route> {
  return {
    '/api/issue': async ({ headers, body }) => {
      const now = store.now();
      const caller = await requireApiKey(store, headers, ADMIN, now);
      if (isReply(caller)) return caller;
      const testType = field(body, 'testType');
      const bit = typeof testType === 'string' ? TEST_TYPE_BITS[testType] : undefined;
      if (bit === undefined)
        return apiError(400, `unknown testType ${JSON.stringify(testType)}`, 'unsupported_test_type');
      const symptomDate = field(body, 'symptomDate');
      if (
        symptomDate !== undefined &&
        symptomDate !== '' &&
        !/^\d{4}-\d{2}-\d{2}$/.test(String(symptomDate))
      ) {
        return apiError(400, 'symptomDate must be YYYY-MM-DD', 'invalid_date');
      }
      const { rows: realms } = await store.db.query<{
        allowed_test_types: number;
        code_duration: string;
        long_code_duration: string | null;
      }>('SELECT allowed_test_types, code_duration, long_code_duration FROM realms WHERE id = $1', [
        caller.realmId,
      ]);
      if (realms.length === 0) return apiError(400, 'the API key belongs to no realm', 'unauthorized');
      if ((realms[0].allowed_test_types & bit) === 0) {
        return apiError(400, `the realm does not allow ${String(testType)} tests`, 'unsupported_test_type');
      }
      const code = String(randomInt(0, 100_000_000)).padStart(8, '0');
      const longCode = randomBytes(12).toString('base64url');
      const expiresAt = new Date(now.getTime() + Number(realms[0].code_duration) * 1000);
      const longExpiresAt = new Date(now.getTime() + Number(realms[0].long_code_duration ?? 86_400) * 1000);
      const { rows } = await store.db.query<{ uuid: string }>(
        `INSERT INTO verification_codes (realm_id, code, long_code, uuid, claimed, test_type, symptom_date,
                                         expires_at, long_expires_at, issuing_app_id, created_at, updated_at)
         VALUES ($1, $2, $3, gen_random_uuid(), false, $4, $5, $6, $7, $8, $9, $9)
         RETURNING uuid`,
        [
          caller.realmId,
          codeDigest(store.codeHmacKey, code),
          codeDigest(store.codeHmacKey, longCode),
          testType,
          symptomDate ? new Date(`${String(symptomDate)}T00:00:00Z`) : null,
          expiresAt,
          longExpiresAt,
          caller.appId,
          now,
        ],
      );
      return json(200, {
        uuid: rows[0].uuid,
        code,
        longCode,
        expiresAt: expiresAt.toUTCString(),
        expiresAtTimestamp: seconds(expiresAt),
        longExpiresAt: longExpiresAt.toUTCString(),
        longExpiresAtTimestamp: seconds(longExpiresAt),
        padding: '',
      });
    },

    '/api/checkcodestatus': async ({ headers, body }) => {
      const now = store.now();
      const caller = await requireApiKey(store, headers, ADMIN, now);
      if (isReply(caller)) return caller;
      const uuid = field(body, 'uuid');
      if (typeof uuid !== 'string' || !/^[0-9a-f-]{36}$/i.test(uuid)) {
        return apiError(400, 'uuid is missing or malformed', 'missing_uuid');
      }
      const { rows } = await store.db.query<{ claimed: boolean; expires_at: Date; long_expires_at: Date }>(
        `SELECT claimed, expires_at, long_expires_at FROM verification_codes
          WHERE uuid = $1 AND realm_id = $2 AND deleted_at IS NULL`,
        [uuid, caller.realmId],
      );
      if (rows.length === 0) {
        return apiError(404, 'code not found, it may have expired and been removed', 'code_not_found');
      }
      return json(200, {
        claimed: rows[0].claimed === true,
        expiresAtTimestamp: seconds(rows[0].expires_at),
        longExpiresAtTimestamp: seconds(rows[0].long_expires_at),
      });
    },
  };
}
