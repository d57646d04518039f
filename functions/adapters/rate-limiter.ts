/**
 * The verification server's rate limiter, as far as the modeler needs it: setting a realm's daily
 * code-issuing quota. The server (sethvargo/go-limiter with the go-redisstore Redis store) takes
 * one token from the realm's bucket per issued code; this job only configures the bucket.
 *
 * Two implementations: Redis (redis-rate-limiter.ts, the store the server reads) and a no-op for
 * deployments without Redis (RATE_LIMIT_TYPE=NOOP, the original's default), where the modeler still
 * saves the limit in the database and says that no quota was pushed.
 *
 * The bucket key is the server's: `realm:quota:<hex HMAC-SHA1(RATE_LIMIT_HMAC_KEY, realm id in
 * decimal)>` (ENX pkg/digest HMACUint and Realm.QuotaKey). A different HMAC key, or a different
 * spelling of the id, names a bucket the server never reads, so the derivation lives here, next to
 * the settings it depends on.
 */
import { createHmac } from 'node:crypto';
import { custom, defineConfig, durationMs, integer, parseBase64, text } from '../core/config';
import type { ConfigOf } from '../core/config';
import { MINUTE_MS } from '../core/duration';

/** The bucket key the verification server uses for a realm's daily quota. */
export function realmQuotaKey(hmacKey: Buffer, realmId: number): string {
  if (!Number.isSafeInteger(realmId) || realmId < 0) {
    throw new Error(`realm id ${realmId} is not a non-negative integer`);
  }
  const digest = createHmac('sha1', hmacKey).update(String(realmId)).digest('hex');
  return `realm:quota:${digest}`;
}

/**
 * RATE_LIMIT_TYPE. The original also offers MEMORY, which keeps buckets inside one process: a
 * quota this job set there would vanish with the job's instance and never reach the server.
 */
export function parseRateLimitType(raw: string): 'NOOP' | 'REDIS' {
  const value = raw.trim().toUpperCase();
  if (value === 'NOOP' || value === 'REDIS') return value;
  if (value === 'MEMORY') {
    throw new Error(
      'MEMORY keeps the buckets inside one process, so a quota this job sets would never reach the ' +
        "verification server's instances; use REDIS (the server's store) or NOOP",
    );
  }
  throw new Error(`"${raw}" is not one of NOOP, REDIS`);
}

/** RATE_LIMIT_HMAC_KEY: base64 as the server reads it; empty when the limiter needs none. */
export const parseHmacKey = parseBase64;

/**
 * The limiter's settings. They are part of the modeler's configuration (the only job that writes
 * quotas), so infra gives them to that function only; the runtime parses them again, lazily, when
 * a job first asks for the adapter.
 */
export const rateLimiterFields = {
  rateLimitType: custom(
    'RATE_LIMIT_TYPE',
    'NOOP',
    "Where quotas go: REDIS (the verification server's limiter store) or NOOP (limits are only saved in the database).",
    parseRateLimitType,
  ),
  rateLimitHmacKey: custom(
    'RATE_LIMIT_HMAC_KEY',
    '',
    "Base64 HMAC key that derives the limiter keys; must be the verification server's. Required with REDIS.",
    parseHmacKey,
    { secret: true },
  ),
  redisHost: text('RATE_LIMIT_REDIS_HOST', '127.0.0.1', 'Host of the Redis (Memorystore) the limiter uses.'),
  redisPort: integer('RATE_LIMIT_REDIS_PORT', '6379', 'Port of that Redis.', { min: 1, max: 65535 }),
  redisPassword: text('RATE_LIMIT_REDIS_PASSWORD', '', 'Password (AUTH) of that Redis; empty for none.', {
    secret: true,
  }),
  redisTimeoutMs: durationMs(
    'RATE_LIMIT_REDIS_TIMEOUT',
    '5s',
    'How long to wait for the Redis connection and for each command.',
    { minMs: 100, maxMs: MINUTE_MS },
  ),
};

export type RateLimiterSettings = ConfigOf<typeof rateLimiterFields>;

/** Cross-field rules, shared by this schema and the modeler's (which embeds the fields). */
export function rateLimiterProblems(settings: RateLimiterSettings): string[] {
  if (settings.rateLimitType === 'REDIS' && settings.rateLimitHmacKey.length === 0) {
    return [
      "RATE_LIMIT_HMAC_KEY is required with RATE_LIMIT_TYPE=REDIS: set it to the verification server's key (base64), or the server will never read the quotas",
    ];
  }
  return [];
}

export const rateLimiterConfig = defineConfig('rate-limiter', rateLimiterFields, rateLimiterProblems);
