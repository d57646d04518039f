/**
 * The realm quota written where the verification server reads it: a bucket of the go-redisstore
 * store (github.com/sethvargo/go-redisstore, the v0.3 line ENX pins as v0.3.0-opencensus; read at
 * store.go af6d337f and lua.go 7ef8cf03). One Redis hash per bucket, at the limiter key:
 *
 *   k  tokens left in the current interval      (decimal)
 *   m  the limit: tokens per interval           (decimal)
 *   i  the interval, in NANOSECONDS             (decimal; 24 h = 86400000000000)
 *   s  start of the first interval, unix ns     (written by the server's Take only)
 *   t  last interval tick the server refilled   (written by the server's Take only)
 *
 * The store's Set(key, tokens, interval) does `HSET key k <tokens> m <tokens> i <interval ns>` and
 * `EXPIRE key 604800` (a week, so a bucket nothing takes from does not leak), leaving s and t alone.
 * The server's Take reads m and i from the hash (its own defaults only when they are missing) and
 * refills k to m at every interval tick counted from s, so the quota we write is the one it
 * enforces.
 *
 * One deliberate difference: the original modeler called Set every run (every 4 h), and Set also
 * refills the bucket, so a "daily" quota was in effect handed out again six times a day. Here the
 * script writes k, m and i only when the bucket does not already have this limit and interval;
 * otherwise it just renews the week's expiry. A changed limit still resets the bucket, as Set does.
 *
 * The connection is opened on the first quota write (a runtime that never models never connects)
 * and is never retried in the background: a job either reaches Redis within its timeout or fails
 * with a message naming the settings to check, and the next write tries to connect again.
 */
import Redis from 'ioredis';
import { describeError } from '../core/errors';
import type { QuotaOutcome, RateLimiter } from '../ports/rate-limiter';
import { RateLimiterUnavailableError } from '../ports/rate-limiter';
import type { RateLimiterSettings } from './rate-limiter';
import { realmQuotaKey } from './rate-limiter';

/** go-redisstore's expiry after Set (weekSeconds). */
export const BUCKET_TTL_SECONDS = 7 * 24 * 60 * 60;

const NANOS_PER_MS = 1_000_000;

/** ioredis's words for a connection that is gone, as opposed to Redis refusing the command. */
const CONNECTION_LOST = /Stream isn't writeable|Connection is closed|ECONNRESET|EPIPE|Command timed out/;

/**
 * KEYS[1] the bucket; ARGV[1] tokens, ARGV[2] interval (ns), ARGV[3] expiry (s).
 * Returns 1 when the bucket was (re)configured, 0 when it already had this limit and interval.
 * Atomic, so a server Take never sees the bucket half-written.
 */
const APPLY_QUOTA_SCRIPT = `
local m = tonumber(redis.call('HGET', KEYS[1], 'm'))
local i = tonumber(redis.call('HGET', KEYS[1], 'i'))
local hasTokens = redis.call('HEXISTS', KEYS[1], 'k') == 1
if hasTokens and m == tonumber(ARGV[1]) and i == tonumber(ARGV[2]) then
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  return 0
end
redis.call('HSET', KEYS[1], 'k', ARGV[1], 'm', ARGV[1], 'i', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
`;

export type RedisLimiterSettings = Pick<
  RateLimiterSettings,
  'rateLimitHmacKey' | 'redisHost' | 'redisPort' | 'redisPassword' | 'redisTimeoutMs'
>;

export class RedisRateLimiter implements RateLimiter {
  readonly store = 'redis' as const;
  private client?: Redis;
  private connecting?: Promise<Redis>;
  private lastError?: Error;

  constructor(private readonly settings: RedisLimiterSettings) {
    if (settings.rateLimitHmacKey.length === 0) {
      throw new Error('the Redis rate limiter needs RATE_LIMIT_HMAC_KEY to derive the bucket keys');
    }
  }

  /** host:port, for messages; never the password. */
  get address(): string {
    return `${this.settings.redisHost}:${this.settings.redisPort}`;
  }

  async applyQuota(realmId: number, tokens: number, intervalMs: number): Promise<QuotaOutcome> {
    if (!Number.isSafeInteger(tokens) || tokens < 0) {
      throw new Error(`quota ${tokens} is not a non-negative integer`);
    }
    if (!Number.isSafeInteger(intervalMs) || intervalMs <= 0) {
      throw new Error(`quota interval ${intervalMs} ms is not a positive integer`);
    }
    const key = realmQuotaKey(this.settings.rateLimitHmacKey, realmId);
    const args = [
      String(tokens),
      (BigInt(intervalMs) * BigInt(NANOS_PER_MS)).toString(),
      String(BUCKET_TTL_SECONDS),
    ];
    // A connection Redis (or a network blip) dropped since the last write is found only by using
    // it; the script is idempotent, so one retry on a fresh connection is safe.
    for (let attempt = 1; ; attempt += 1) {
      const client = await this.connected();
      try {
        const changed = await client.eval(APPLY_QUOTA_SCRIPT, 1, key, ...args);
        return changed === 1 ? 'set' : 'kept';
      } catch (error) {
        if (!CONNECTION_LOST.test(describeError(error)) && client.status === 'ready') {
          throw new Error(`Redis at ${this.address} refused the quota write: ${describeError(error)}`);
        }
        this.drop(client);
        if (attempt >= 2) throw this.unavailable(error);
      }
    }
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.connecting = undefined;
    if (!client) return;
    if (client.status === 'ready') {
      await client.quit().catch(() => client.disconnect());
    } else {
      client.disconnect();
    }
  }

  private connected(): Promise<Redis> {
    if (this.client?.status === 'ready') return Promise.resolve(this.client);
    this.connecting ??= this.connect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async connect(): Promise<Redis> {
    if (this.client) this.drop(this.client);
    this.lastError = undefined;
    const s = this.settings;
    const client = new Redis({
      host: s.redisHost,
      port: s.redisPort,
      password: s.redisPassword === '' ? undefined : s.redisPassword,
      lazyConnect: true,
      connectTimeout: s.redisTimeoutMs,
      commandTimeout: s.redisTimeoutMs,
      // No background reconnection loop and no queueing behind a dead connection: a write either
      // goes through now or fails now, and the next write connects afresh.
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      connectionName: 'enx-jobs-modeler',
    });
    // ioredis reports connection problems as events as well as rejections; without a listener
    // they would crash the process. The last one explains a later failure.
    client.on('error', (error: Error) => {
      this.lastError = error;
    });
    this.client = client;
    try {
      await client.connect();
    } catch (error) {
      this.drop(client);
      throw this.unavailable(error);
    }
    return client;
  }

  private drop(client: Redis): void {
    client.disconnect();
    if (this.client === client) this.client = undefined;
  }

  private unavailable(error: unknown): RateLimiterUnavailableError {
    // "Connection is closed" says little; the error event before it says why (refused, WRONGPASS).
    const generic = CONNECTION_LOST.test(describeError(error));
    const reason = describeError(generic && this.lastError ? this.lastError : error);
    const hint = /WRONGPASS|NOAUTH|invalid password|invalid username-password/i.test(reason)
      ? 'check RATE_LIMIT_REDIS_PASSWORD'
      : 'check RATE_LIMIT_REDIS_HOST and RATE_LIMIT_REDIS_PORT, and that Redis runs and this function can reach it';
    return new RateLimiterUnavailableError(
      `the rate limiter's Redis at ${this.address} is unavailable: ${reason}; ${hint}`,
    );
  }
}
