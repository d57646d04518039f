/**
 * The verification server's admin API, as much of it as the probes use: POST /api/issue issues a
 * code into verification_codes, POST /api/checkcodestatus reports whether it was claimed. Calls
 * need an admin API key (api-key-auth.ts, ENX's RequireAPIKey).
 *
 * Mirrors: internal/routes/adminapi.go (routes, admin keys only), pkg/controller/issueapi/issue.go
 * and validate_code.go (test types, dates, the realm's allowed types), pkg/controller/codes/logic.go
 * (404 code_not_found for a uuid not in the realm), pkg/api/api.go (error codes and body).
 * User reports (testType user-report, e2e-user-report's flow) as pkg/controller/issueapi/validate_code.go,
 * gen_code.go and handle_issue.go and pkg/database/vercode.go SaveVerificationCode handle them: the
 * realm must allow admin-issued user reports (else 400 unsupported_test_type), a phone is required
 * (400 missing_phone), one report per phone (found by HMAC under every phone_number_database_hmac
 * secret, pkg/database/user_report.go): a phone already reported gets 200 with only the expiry and no
 * code, as ENX answers the conflict. The report's code expires with its short code.
 * Not mirrored: SMS sending, quotas, bulk issue, the device-initiated /api/user-report (no job uses them).
 */
import { createHmac, randomBytes, randomInt } from 'node:crypto';
import type { Db, DbClient } from '../../functions/core/db';
import { withTransaction } from '../../functions/core/db';
import { ENX_SECRET_TYPE, enxHmac } from '../../functions/db/enx-secrets';
import { ENX_API_KEY_TYPE, requireApiKey, secretsOf } from './api-key-auth';
import type { ApiKeyVerifier } from './api-key-auth';
import type { Route } from './http';
import { apiError, field, isReply, json } from './http';

export interface CodeStore extends ApiKeyVerifier {
  readonly db: Db;
  /** Codes are stored by HMAC under this key, as ENX stores them (never in the clear). */
  readonly codeHmacKey: Buffer;
  readonly now: () => Date;
}

export const TEST_TYPE_BITS: Readonly<Record<string, number>> = {
  confirmed: 2,
  likely: 4,
  negative: 8,
  'user-report': 16,
};
const USER_REPORT = 'user-report';
const PHONE_SECRET = ENX_SECRET_TYPE.phoneNumberDatabaseHmac;
/** E.164, as ENX's project.CanonicalPhoneNumber leaves a number it accepts. */
const E164 = /^\+[1-9]\d{6,14}$/;
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
      const phone = field(body, 'phone');
      if (phone !== undefined && phone !== '' && !E164.test(String(phone))) {
        return apiError(400, `phone ${JSON.stringify(phone)} is not a valid number`, 'phone_number_invalid');
      }
      const { rows: realms } = await store.db.query<{
        allowed_test_types: number;
        code_duration: string;
        long_code_duration: string | null;
        allow_admin_user_report: boolean | null;
      }>(
        `SELECT allowed_test_types, code_duration, long_code_duration, allow_admin_user_report
           FROM realms WHERE id = $1`,
        [caller.realmId],
      );
      if (realms.length === 0) return apiError(400, 'the API key belongs to no realm', 'unauthorized');
      if (testType === USER_REPORT && realms[0].allow_admin_user_report !== true) {
        return apiError(400, `unsupported test type: ${USER_REPORT}`, 'unsupported_test_type');
      }
      if ((realms[0].allowed_test_types & bit) === 0) {
        return apiError(400, `unsupported test type: ${String(testType)}`, 'unsupported_test_type');
      }
      const code = String(randomInt(0, 100_000_000)).padStart(8, '0');
      const longCode = randomBytes(12).toString('base64url');
      const expiresAt = new Date(now.getTime() + Number(realms[0].code_duration) * 1000);
      // A user report's code is short-lived only (vercode.go: LongExpiresAt = ExpiresAt).
      const longExpiresAt =
        testType === USER_REPORT
          ? expiresAt
          : new Date(now.getTime() + Number(realms[0].long_code_duration ?? 86_400) * 1000);
      const issued = await withTransaction(store.db, async (client) => {
        let userReportId: string | null = null;
        if (testType === USER_REPORT) {
          if (typeof phone !== 'string' || phone === '') return 'missing-phone' as const;
          const created = await createUserReport(client, store, phone, now);
          if (created === undefined) return 'already-reported' as const;
          userReportId = created;
        }
        const { rows } = await client.query<{ uuid: string }>(
          `INSERT INTO verification_codes (realm_id, code, long_code, uuid, claimed, test_type, symptom_date,
                                           expires_at, long_expires_at, issuing_app_id, user_report_id,
                                           created_at, updated_at)
           VALUES ($1, $2, $3, gen_random_uuid(), false, $4, $5, $6, $7, $8, $9, $10, $10)
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
            userReportId,
            now,
          ],
        );
        return rows;
      });
      if (issued === 'missing-phone') {
        return apiError(400, 'phone number is required when initiating a user report', 'missing_phone');
      }
      // handle_issue.go: the conflict is answered 200 with the expiry only, and nothing is issued.
      if (issued === 'already-reported') {
        return json(200, {
          padding: '',
          expiresAt: expiresAt.toUTCString(),
          expiresAtTimestamp: seconds(expiresAt),
        });
      }
      const rows = issued;
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

/**
 * A user_reports row for the phone, unless one exists under any phone secret (then undefined):
 * pkg/database/vercode.go SaveVerificationCode with user_report.go NewUserReport. An admin-issued
 * report needs no nonce (NonceRequired = UserRequested = false), stored as base64 of no bytes.
 */
async function createUserReport(
  client: DbClient,
  store: CodeStore,
  phone: string,
  now: Date,
): Promise<string | undefined> {
  const secrets = await secretsOf({ db: store.db, secretStore: store.secretStore }, PHONE_SECRET);
  if (secrets.length === 0) throw new Error(`the secrets table has no ${PHONE_SECRET} secret`);
  const hashes = secrets.map((secret) => enxHmac(secret, phone));
  const { rows: existing } = await client.query(
    'SELECT 1 FROM user_reports WHERE phone_hash = ANY($1::text[])',
    [hashes],
  );
  if (existing.length > 0) return undefined;
  const { rows } = await client.query<{ id: string }>(
    `INSERT INTO user_reports (phone_hash, nonce, nonce_required, code_claimed, created_at, updated_at)
     VALUES ($1, '', false, false, $2, $2)
     ON CONFLICT (phone_hash) DO NOTHING RETURNING id`,
    [hashes[0], now],
  );
  return rows[0]?.id;
}
