/**
 * stats-puller-worker settings against enx-jobs.md §8: the original's defaults, KEY_SERVER_URL
 * with anything from /v1 on dropped, a key *version* for CERTIFICATE_SIGNING_KEY, and a bad
 * configuration reported whole.
 */
import type { Env } from '../../../functions/core/config';
import { ConfigError } from '../../../functions/core/errors';
import { keyServerBaseUrl, statsPullerConfig } from '../../../functions/jobs/stats-puller-worker/config';

const VERSION = 'projects/p/locations/global/keyRings/certs/cryptoKeys/system/cryptoKeyVersions/3';
const REQUIRED = { KEY_SERVER_URL: 'https://keyserver.example.com', CERTIFICATE_SIGNING_KEY: VERSION };

function problems(env: Env): readonly string[] {
  try {
    statsPullerConfig.parse(env);
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    expect(error.scope).toBe('stats-puller-worker');
    return error.problems;
  }
}

describe('stats-puller-worker config', () => {
  it("has the original's defaults", () => {
    expect(statsPullerConfig.parse(REQUIRED)).toEqual({
      keyServerUrl: 'https://keyserver.example.com',
      audience: 'keyserver',
      sizeLimitBytes: 64_000,
      downloadTimeoutMs: 60_000,
      maxWorkers: 5,
      certificateSigningKey: VERSION,
      certificateSigningKeyId: 'v1',
      certificateIssuer: 'diagnosis-verification-example',
    });
  });

  it('reads every setting', () => {
    const config = statsPullerConfig.parse({
      ...REQUIRED,
      KEY_SERVER_STATS_AUDIENCE: 'ks-aud',
      STATS_PULLER_SIZE_LIMIT: '1000',
      STATS_PULLER_DOWNLOAD_TIMEOUT: '5s',
      STATS_PULLER_MAX_WORKERS: '12',
      CERTIFICATE_SIGNING_KEY_ID: 'v7',
      CERTIFICATE_ISSUER: 'state-health',
    });
    expect(config).toMatchObject({
      audience: 'ks-aud',
      sizeLimitBytes: 1000,
      downloadTimeoutMs: 5000,
      maxWorkers: 12,
      certificateSigningKeyId: 'v7',
      certificateIssuer: 'state-health',
    });
  });

  it('requires KEY_SERVER_URL and CERTIFICATE_SIGNING_KEY, reporting both at once', () => {
    const found = problems({});
    expect(found).toHaveLength(2);
    expect(found[0]).toMatch(/^KEY_SERVER_URL is required/);
    expect(found[1]).toMatch(/^CERTIFICATE_SIGNING_KEY is required/);
  });

  it('refuses a crypto key without a version, bad numbers and an empty audience', () => {
    const found = problems({
      KEY_SERVER_URL: 'not a url',
      CERTIFICATE_SIGNING_KEY: 'projects/p/locations/l/keyRings/r/cryptoKeys/k',
      STATS_PULLER_MAX_WORKERS: '0',
      STATS_PULLER_SIZE_LIMIT: 'lots',
      STATS_PULLER_DOWNLOAD_TIMEOUT: '1 minute',
      KEY_SERVER_STATS_AUDIENCE: ' ',
    });
    expect(found).toEqual([
      expect.stringMatching(/^KEY_SERVER_URL: "not a url" is not an absolute URL/),
      expect.stringMatching(/^KEY_SERVER_STATS_AUDIENCE: is empty/),
      expect.stringMatching(/^STATS_PULLER_SIZE_LIMIT: "lots" is not a whole number/),
      expect.stringMatching(/^STATS_PULLER_DOWNLOAD_TIMEOUT: .* is not a duration/),
      expect.stringMatching(/^STATS_PULLER_MAX_WORKERS: 0 is below the minimum 1/),
      expect.stringMatching(/^CERTIFICATE_SIGNING_KEY: .* is not a key version name/),
    ]);
  });
});

describe('keyServerBaseUrl', () => {
  it.each([
    ['https://keyserver.example.com', 'https://keyserver.example.com'],
    ['https://keyserver.example.com/', 'https://keyserver.example.com'],
    ['https://keyserver.example.com/v1/stats', 'https://keyserver.example.com'],
    ['https://keyserver.example.com/v1', 'https://keyserver.example.com'],
    ['https://example.com/prefix/v1/stats?x=1', 'https://example.com/prefix'],
    ['http://127.0.0.1:9000/realms/4', 'http://127.0.0.1:9000/realms/4'],
  ])('%s → %s', (raw, base) => {
    expect(keyServerBaseUrl(raw)).toBe(base);
  });

  it('refuses other schemes', () => {
    expect(() => keyServerBaseUrl('ftp://example.com')).toThrow(/not an http\(s\) URL/);
  });
});
