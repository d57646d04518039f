/**
 * A real redis-server for a test file: a free 127.0.0.1 port, a password, no persistence. Start it
 * in beforeAll and stop it in afterAll. A machine without redis-server fails the test with the
 * command that installs it (CI installs it in .ci/run), rather than skipping what it tests.
 */
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { startRedisServer } from '../../local/redis';
import type { RedisServer } from '../../local/redis';

export interface TestRedis {
  readonly server: RedisServer;
  /** A plain client for reading back what the code under test wrote. */
  readonly client: Redis;
  /** The rate-limiter settings that reach this server. */
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

export async function startTestRedis(): Promise<TestRedis> {
  const server = await startRedisServer({ password: `test-${randomBytes(8).toString('hex')}` });
  const client = new Redis({ host: server.host, port: server.port, password: server.password });
  return {
    server,
    client,
    env: {
      RATE_LIMIT_REDIS_HOST: server.host,
      RATE_LIMIT_REDIS_PORT: String(server.port),
      RATE_LIMIT_REDIS_PASSWORD: server.password,
    },
    async stop() {
      await client.quit().catch(() => client.disconnect());
      await server.stop();
    },
  };
}
