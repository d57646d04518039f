/**
 * The key server's publish API (POST /v1/publish), as much of it as the probes use. Mirrors
 * google/exposure-notifications-server: internal/publish/publish_v1.go and publish.go (status and
 * code per refusal: 401 unknown_health_authority_id, 401 health_authority_verification_certificate_invalid
 * for every certificate problem, 400 bad_request, 400 missing_revision_token / invalid_revision_token /
 * invalid_report_type_transition), pkg/api/v1/exposure_types.go (the body {"error", "code"}),
 * internal/verification (the certificate check). It checks an upload the way that server does:
 * - the health authority is the configured one;
 * - the verification certificate is an ES256 JWT whose kid names a public key the server knows:
 *   the system key, or a realm key r<realm>v<id> whose signing_keys row is not deleted (a rotated
 *   key keeps verifying until realm-key-rotation-worker destroys it, then fails);
 * - issuer and audience are the signing realm's (or the system's), the certificate is not expired;
 * - the certificate's tekmac is the HMAC of exactly these keys under the upload's hmacKey;
 * - keys published before may only come back as a revision: with the revision token of that
 *   upload and a report type the original may change into (likely → confirmed or negative).
 * Published keys and revision tokens are kept in memory: the real key server has its own database,
 * which the jobs never see.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { decodeProtectedHeader, importSPKI, jwtVerify } from 'jose';
import type { Db } from '../../functions/core/db';
import type { ExposureKey } from '../../functions/jobs/e2e/tek';
import { exposureKeyHmac } from '../../functions/jobs/e2e/tek';
import type { KeyLookup } from '../key-server-stats';
import type { SystemCertificateKey } from './certificates';
import type { Reply, Route } from './http';
import { field, json } from './http';

export interface KeyServerOptions {
  readonly db: Db;
  readonly keys: KeyLookup;
  readonly systemKey: SystemCertificateKey;
  readonly healthAuthorityId: string;
  readonly now: () => Date;
}

/** The key server answers {"error", "code"} (pkg/api/v1/exposure_types.go PublishResponse). */
const refuse = (status: number, error: string, code: string): Reply => json(status, { error, code });

/**
 * Every certificate problem, the HMAC check included, is one 401 with one code
 * (internal/publish/publish.go: "unable to validate diagnosis verification: <reason>").
 */
const CERTIFICATE_INVALID = 'health_authority_verification_certificate_invalid';
const badCertificate = (reason: string): Reply =>
  refuse(401, `unable to validate diagnosis verification: ${reason}`, CERTIFICATE_INVALID);

/** Report-type changes a revision may make (the key server's allowed transitions). */
const REVISIONS: Readonly<Record<string, readonly string[]>> = {
  likely: ['confirmed', 'negative'],
  confirmed: ['negative'],
};

interface Upload {
  readonly reportType: string;
  readonly keys: ReadonlySet<string>;
}

/** A long-running local fleet publishes about 8,000 keys a day; the oldest are forgotten past this. */
const MEMORY_LIMIT = 20_000;

function forgetOldest<V>(map: Map<string, V>): void {
  for (const key of map.keys()) {
    if (map.size <= MEMORY_LIMIT) return;
    map.delete(key);
  }
}

function parseKeys(value: unknown): ExposureKey[] | string {
  if (!Array.isArray(value) || value.length === 0) return 'temporaryExposureKeys is empty';
  const keys: ExposureKey[] = [];
  for (const [index, item] of value.entries()) {
    const k = item as Partial<ExposureKey> | null;
    if (typeof k?.key !== 'string' || Buffer.from(k.key, 'base64').length !== 16) {
      return `temporaryExposureKeys[${index}].key is not 16 bytes of base64`;
    }
    if (!Number.isInteger(k.rollingStartNumber) || !Number.isInteger(k.rollingPeriod)) {
      return `temporaryExposureKeys[${index}] lacks rollingStartNumber or rollingPeriod`;
    }
    if ((k.rollingPeriod as number) < 1 || (k.rollingPeriod as number) > 144) {
      return `temporaryExposureKeys[${index}].rollingPeriod must be 1-144`;
    }
    keys.push({
      key: k.key,
      rollingStartNumber: k.rollingStartNumber as number,
      rollingPeriod: k.rollingPeriod as number,
      transmissionRisk: Number(k.transmissionRisk ?? 0),
    });
  }
  return keys;
}

export function keyServerRoutes(options: KeyServerOptions): Record<string, Route> {
  const published = new Map<string, Upload>();
  const revisionTokens = new Map<string, Upload>();

  /** Issuer and audience the certificate must carry for its kid. */
  async function expectedClaims(kid: string): Promise<{ issuer: string; audience: string }> {
    const match = /^r(\d+)v\d+$/.exec(kid);
    if (!match) return { issuer: options.systemKey.issuer, audience: options.systemKey.audience };
    const { rows } = await options.db.query<{
      certificate_issuer: string | null;
      certificate_audience: string | null;
    }>('SELECT certificate_issuer, certificate_audience FROM realms WHERE id = $1', [Number(match[1])]);
    return {
      issuer: rows[0]?.certificate_issuer ?? '',
      audience: rows[0]?.certificate_audience?.trim() || options.systemKey.audience,
    };
  }

  async function verifyCertificate(token: string): Promise<Record<string, unknown> | Reply> {
    let kid: string | undefined;
    try {
      kid = decodeProtectedHeader(token).kid;
    } catch {
      return badCertificate('verificationPayload is not a JWT');
    }
    if (!kid) return badCertificate('the certificate has no kid');
    const pem = await options.keys(kid).catch(() => undefined);
    if (!pem) {
      return badCertificate(`no public key is registered for kid ${kid} (unknown, deleted or destroyed)`);
    }
    const expected = await expectedClaims(kid);
    try {
      const { payload } = await jwtVerify(token, await importSPKI(pem, 'ES256'), {
        algorithms: ['ES256'],
        issuer: expected.issuer,
        audience: expected.audience,
        currentDate: options.now(),
      });
      return payload as Record<string, unknown>;
    } catch (error) {
      const code = (error as { code?: string }).code;
      const reason =
        code === 'ERR_JWT_EXPIRED'
          ? 'the certificate has expired'
          : code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED'
            ? `the certificate's signature does not verify with key ${kid}`
            : `the certificate is not valid: ${(error as Error).message}`;
      return badCertificate(reason);
    }
  }

  return {
    '/v1/publish': async ({ body }) => {
      if (field(body, 'healthAuthorityID') !== options.healthAuthorityId) {
        return refuse(
          401,
          `unknown healthAuthorityID ${JSON.stringify(field(body, 'healthAuthorityID'))}`,
          'unknown_health_authority_id',
        );
      }
      const keys = parseKeys(field(body, 'temporaryExposureKeys'));
      if (typeof keys === 'string') return refuse(400, keys, 'bad_request');
      const certificate = field(body, 'verificationPayload');
      if (typeof certificate !== 'string' || certificate === '') {
        return badCertificate('verificationPayload is missing');
      }
      const claims = await verifyCertificate(certificate);
      if ('status' in claims) return claims as Reply;
      const secret = Buffer.from(String(field(body, 'hmacKey') ?? ''), 'base64');
      const expected = exposureKeyHmac(keys, secret);
      const claimed = Buffer.from(String(claims.tekmac ?? ''), 'base64');
      if (secret.length === 0 || claimed.length !== expected.length || !timingSafeEqual(claimed, expected)) {
        return badCertificate('the certificate HMAC does not match the uploaded keys');
      }
      const reportType = String(claims.reportType ?? '');
      const again = keys.filter((k) => published.has(k.key));
      const tokenText = String(field(body, 'revisionToken') ?? '');
      if (again.length > 0) {
        if (!tokenText) {
          return refuse(
            400,
            `${again.length} key(s) were published before; a revision needs their revision token`,
            'missing_revision_token',
          );
        }
        const earlier = revisionTokens.get(tokenText);
        if (!earlier) return refuse(400, 'the revision token is not valid', 'invalid_revision_token');
        if (!again.every((k) => earlier.keys.has(k.key))) {
          return refuse(
            400,
            'the revision token does not cover the re-published keys',
            'invalid_revision_token',
          );
        }
        if (!(REVISIONS[earlier.reportType] ?? []).includes(reportType)) {
          return refuse(
            400,
            `a ${earlier.reportType} report cannot be revised to ${reportType}`,
            'invalid_report_type_transition',
          );
        }
        revisionTokens.delete(tokenText);
      }
      const upload: Upload = { reportType, keys: new Set(keys.map((k) => k.key)) };
      for (const k of keys) published.set(k.key, upload);
      const revisionToken = randomBytes(24).toString('base64');
      revisionTokens.set(revisionToken, upload);
      forgetOldest(published);
      forgetOldest(revisionTokens);
      return json(200, { revisionToken, insertedExposures: keys.length, padding: '' });
    },
  };
}
