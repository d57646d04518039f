/**
 * The Redis rate limiter against a real redis-server on loopback: the exact bucket the verification
 * server's go-redisstore reads (key, hash fields, nanosecond interval, a week's expiry), a bucket the
 * server has been taking from, the no-refill rule for an unchanged quota, and clear errors when
 * Redis is unreachable or refuses the password. No mock of Redis anywhere.
 */
import { createHmac } from 'node:crypto';
import { rateLimiterConfig, realmQuotaKey } from '../../functions/adapters/rate-limiter';
import { RateLimiterUnavailableError } from '../../functions/ports/rate-limiter';
import { BUCKET_TTL_SECONDS, RedisRateLimiter } from '../../functions/adapters/redis-rate-limiter';
import { DAY_MS } from '../../functions/core/duration';
import { freePort } from '../../local/embedded-postgres';
import { startTestRedis } from '../support/redis';
import type { TestRedis } from '../support/redis';

const HMAC_KEY_BASE64 = Buffer.from('the verification server key').toString('base64');
const DAY_NS = '86400000000000';

let redis: TestRedis;
const limiters: RedisRateLimiter[] = [];

function limiter(env: Record<string, string> = {}): RedisRateLimiter {
  const settings = rateLimiterConfig.parse({
    RATE_LIMIT_TYPE: 'REDIS',
    RATE_LIMIT_HMAC_KEY: HMAC_KEY_BASE64,
    RATE_LIMIT_REDIS_TIMEOUT: '1s',
    ...redis.env,
    ...env,
  });
  const created = new RedisRateLimiter(settings);
  limiters.push(created);
  return created;
}

beforeAll(async () => {
  redis = await startTestRedis();
});

afterAll(async () => {
  await redis?.stop();
});

beforeEach(async () => {
  await redis.client.flushall();
});

afterEach(async () => {
  for (const created of limiters.splice(0)) await created.close();
});

/** The key, computed independently of the adapter: HMAC-SHA1 over the decimal id, hex. */
function serverKey(realmId: number): string {
  const digest = createHmac('sha1', Buffer.from('the verification server key'))
    .update(`${realmId}`)
    .digest('hex');
  return `realm:quota:${digest}`;
}

describe('Redis rate limiter', () => {
  it("derives the server's key: realm:quota:<hex HMAC-SHA1(key, decimal realm id)>", () => {
    const key = Buffer.from('the verification server key');
    expect(realmQuotaKey(key, 7)).toBe(serverKey(7));
    expect(realmQuotaKey(key, 7)).toMatch(/^realm:quota:[0-9a-f]{40}$/);
    expect(realmQuotaKey(key, 7)).not.toBe(realmQuotaKey(key, 70));
    expect(realmQuotaKey(Buffer.from('another key'), 7)).not.toBe(realmQuotaKey(key, 7));
  });

  it('writes exactly what go-redisstore Set writes: k = m = tokens, i = interval in ns, a week of TTL', async () => {
    await expect(limiter().applyQuota(7, 240, DAY_MS)).resolves.toBe('set');
    expect(await redis.client.hgetall(serverKey(7))).toEqual({ k: '240', m: '240', i: DAY_NS });
    expect(await redis.client.ttl(serverKey(7))).toBe(BUCKET_TTL_SECONDS);
    expect(BUCKET_TTL_SECONDS).toBe(604_800);
    expect(await redis.client.type(serverKey(7))).toBe('hash');
    expect(await redis.client.keys('*')).toEqual([serverKey(7)]);
  });

  it('leaves a bucket the server is using alone when the quota is unchanged, only renewing its expiry', async () => {
    await limiter().applyQuota(7, 240, DAY_MS);
    // The server took 40 codes' worth and recorded its own start and tick.
    await redis.client.hset(serverKey(7), { k: '200', s: '1700000000000000000', t: '3' });
    await redis.client.expire(serverKey(7), 60);
    await expect(limiter().applyQuota(7, 240, DAY_MS)).resolves.toBe('kept');
    expect(await redis.client.hgetall(serverKey(7))).toEqual({
      k: '200',
      m: '240',
      i: DAY_NS,
      s: '1700000000000000000',
      t: '3',
    });
    expect(await redis.client.ttl(serverKey(7))).toBe(BUCKET_TTL_SECONDS);
  });

  it("resets the bucket to a changed limit, as Set does, keeping the server's start and tick", async () => {
    await redis.client.hset(serverKey(7), { k: '12', m: '240', i: DAY_NS, s: '1700000000000000000', t: '3' });
    await expect(limiter().applyQuota(7, 300, DAY_MS)).resolves.toBe('set');
    expect(await redis.client.hgetall(serverKey(7))).toEqual({
      k: '300',
      m: '300',
      i: DAY_NS,
      s: '1700000000000000000',
      t: '3',
    });
  });

  it('reconfigures a bucket the server created with its store defaults (60 per minute)', async () => {
    await redis.client.hset(serverKey(9), { k: '59', m: '60', i: '60000000000', s: '1', t: '0' });
    await expect(limiter().applyQuota(9, 60, DAY_MS)).resolves.toBe('set');
    expect(await redis.client.hgetall(serverKey(9))).toMatchObject({ k: '60', m: '60', i: DAY_NS });
  });

  it('writes a zero quota (a factor of 0 blocks issuing) and one connection serves many realms', async () => {
    const shared = limiter();
    await Promise.all([1, 2, 3].map((realm) => shared.applyQuota(realm, realm === 2 ? 0 : 10, DAY_MS)));
    expect(await redis.client.hgetall(serverKey(2))).toEqual({ k: '0', m: '0', i: DAY_NS });
    const clients = await redis.client.client('LIST');
    expect(String(clients).match(/name=enx-jobs-modeler/g)).toHaveLength(1);
  });

  it('refuses a wrong password with a message naming the setting, and never writes', async () => {
    const wrong = limiter({ RATE_LIMIT_REDIS_PASSWORD: 'not-the-password' });
    const error = await wrong.applyQuota(7, 240, DAY_MS).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RateLimiterUnavailableError);
    expect((error as Error).message).toMatch(/RATE_LIMIT_REDIS_PASSWORD/);
    expect((error as Error).message).not.toContain('not-the-password');
    expect(await redis.client.exists(serverKey(7))).toBe(0);
  });

  it('fails fast with host and port named when nothing listens, and connects once Redis is back', async () => {
    const port = await freePort();
    const down = limiter({ RATE_LIMIT_REDIS_PORT: String(port) });
    const started = Date.now();
    const error = await down.applyQuota(7, 240, DAY_MS).catch((caught: unknown) => caught);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(error).toBeInstanceOf(RateLimiterUnavailableError);
    expect((error as Error).message).toContain(`127.0.0.1:${port}`);
    expect((error as Error).message).toMatch(/RATE_LIMIT_REDIS_HOST and RATE_LIMIT_REDIS_PORT/);

    // The same instance, after a failure, reaches a Redis that works (no background retry loop).
    const recovering = limiter();
    await expect(recovering.applyQuota(7, 1, DAY_MS)).resolves.toBe('set');
    await redis.client.client('KILL', 'SKIPME', 'yes', 'TYPE', 'normal').catch(() => undefined);
    await expect(recovering.applyQuota(7, 2, DAY_MS)).resolves.toBe('set');
    expect(await redis.client.hget(serverKey(7), 'm')).toBe('2');
  });

  it('names a key of the wrong type instead of overwriting it', async () => {
    await redis.client.set(serverKey(7), 'something else');
    await expect(limiter().applyQuota(7, 240, DAY_MS)).rejects.toThrow(
      /refused the quota write: .*WRONGTYPE/,
    );
    expect(await redis.client.get(serverKey(7))).toBe('something else');
  });
});
