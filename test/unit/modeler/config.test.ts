/**
 * modeler-worker's settings: the original's defaults, MIN ≤ MAX, MEMORY refused with the reason,
 * REDIS needing the HMAC key, base64 checked strictly, and the secrets marked as secrets.
 */
import { ConfigError } from '../../../functions/core/errors';
import { parseHmacKey, rateLimiterConfig } from '../../../functions/adapters/rate-limiter';
import { modelerConfig } from '../../../functions/jobs/modeler-worker/config';
import { anomaliesConfig } from '../../../functions/jobs/emailer-anomalies/config';

function problemsOf(parse: () => unknown): string[] {
  try {
    parse();
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).problems];
  }
}

const problems = (env: Record<string, string>) => problemsOf(() => modelerConfig.parse(env));
const EMAILER_ENV = { FROM_ADDRESS: 'alerts@example.org', SERVER_ENDPOINT: 'https://admin.example.org/' };

describe('modeler-worker config', () => {
  it("has the original's defaults and the no-op limiter", () => {
    expect(modelerConfig.parse({})).toMatchObject({
      minValue: 10,
      maxValue: 20000,
      anomalyAllowedStdevs: 2,
      rateLimitType: 'NOOP',
      redisHost: '127.0.0.1',
      redisPort: 6379,
      redisTimeoutMs: 5000,
    });
  });

  it('refuses a minimum above the maximum, naming both', () => {
    expect(problems({ MODELER_MIN_VALUE: '500', MODELER_MAX_VALUE: '100' })).toEqual([
      'MODELER_MIN_VALUE (500) is above MODELER_MAX_VALUE (100): no limit could satisfy both; lower the minimum or raise the maximum',
    ]);
    expect(problems({ MODELER_MIN_VALUE: '100', MODELER_MAX_VALUE: '100' })).toEqual([]);
    expect(problems({ MODELER_MIN_VALUE: '-1' })).toEqual(['MODELER_MIN_VALUE: -1 is below the minimum 0']);
  });

  it('refuses ANOMALY_ALLOWED_STDEVS of 0 or less, as emailer-anomalies does, naming the original mapping', () => {
    for (const value of ['0', '-1', '0.0']) {
      const [problem] = problems({ ANOMALY_ALLOWED_STDEVS: value });
      expect(problem).toMatch(/^ANOMALY_ALLOWED_STDEVS: must be above 0 \(got -?[01]\)/);
      expect(problem).toMatch(/the original silently used 1\.0/);
      expect(problem).toBe(
        problemsOf(() => anomaliesConfig.parse({ ...EMAILER_ENV, ANOMALY_ALLOWED_STDEVS: value }))[0],
      );
    }
    expect(modelerConfig.parse({ ANOMALY_ALLOWED_STDEVS: '0.5' }).anomalyAllowedStdevs).toBe(0.5);
  });

  it('refuses MEMORY, saying why it cannot work for a job', () => {
    const [problem] = problems({ RATE_LIMIT_TYPE: 'memory' });
    expect(problem).toMatch(/^RATE_LIMIT_TYPE: MEMORY keeps the buckets inside one process/);
    expect(problem).toMatch(/use REDIS .* or NOOP/);
    expect(problems({ RATE_LIMIT_TYPE: 'DYNAMO' })).toEqual([
      'RATE_LIMIT_TYPE: "DYNAMO" is not one of NOOP, REDIS',
    ]);
  });

  it('requires the HMAC key with REDIS, in both schemas', () => {
    const expected = /^RATE_LIMIT_HMAC_KEY is required with RATE_LIMIT_TYPE=REDIS/;
    expect(problems({ RATE_LIMIT_TYPE: 'REDIS' })).toEqual([expect.stringMatching(expected)]);
    expect(() => rateLimiterConfig.parse({ RATE_LIMIT_TYPE: 'REDIS' })).toThrow(
      /- RATE_LIMIT_HMAC_KEY is required/,
    );
    const config = modelerConfig.parse({ RATE_LIMIT_TYPE: 'redis', RATE_LIMIT_HMAC_KEY: 'c2VjcmV0LWtleQ==' });
    expect(config.rateLimitHmacKey.toString()).toBe('secret-key');
  });

  it('decodes standard and URL-safe base64, padded or not, and refuses anything else', () => {
    const bytes = Buffer.from([0xfb, 0xff, 0xfe, 0x01]);
    for (const text of ['+//+AQ==', '-__-AQ==', '-__-AQ']) expect(parseHmacKey(text)).toEqual(bytes);
    for (const text of ['not base64!', 'abcde', 'ab=c', 'YQ==='])
      expect(() => parseHmacKey(text)).toThrow(/is not base64/);
    expect(problems({ RATE_LIMIT_HMAC_KEY: 'not base64!' })).toEqual([
      expect.stringMatching(/^RATE_LIMIT_HMAC_KEY: is not base64/),
    ]);
  });

  it('marks the HMAC key and the Redis password secret, and nothing else', () => {
    expect(modelerConfig.fields.filter((field) => field.secret).map((field) => field.env)).toEqual([
      'RATE_LIMIT_HMAC_KEY',
      'RATE_LIMIT_REDIS_PASSWORD',
    ]);
  });
});
