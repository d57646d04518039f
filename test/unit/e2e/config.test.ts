import { ConfigError } from '../../../functions/core/errors';
import { e2eFlowConfig, e2eRedirectConfig } from '../../../functions/jobs/e2e/config';

function problems(parse: () => unknown): readonly string[] {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('e2e probe settings', () => {
  it('reads the original variables, with their defaults, and trims what the probes append to', () => {
    const config = e2eFlowConfig.parse({
      HEALTH_AUTHORITY_CODE: 'com.example',
      KEY_SERVER: 'https://keys.example.com/v1/publish',
      VERIFICATION_ADMIN_API: 'https://adminapi.example.com/',
    });
    expect(config).toMatchObject({
      adminApi: 'https://adminapi.example.com',
      deviceApi: 'http://localhost:8082',
      keyServer: 'https://keys.example.com',
      healthAuthorityId: 'com.example',
      skipSms: false,
      requestTimeoutMs: 10_000,
    });
  });

  it('names every missing or wrong variable and how to fix it', () => {
    expect(
      problems(() =>
        e2eFlowConfig.parse({
          VERIFICATION_SERVER_API: 'ftp://x',
          E2E_REQUEST_TIMEOUT: '5m',
        }),
      ),
    ).toEqual([
      'VERIFICATION_SERVER_API: "ftp://x" is not an http(s) URL',
      'HEALTH_AUTHORITY_CODE is required: Sent as healthAuthorityID when publishing keys, e.g. com.example.',
      'E2E_REQUEST_TIMEOUT: 5m is above the maximum of 1m',
    ]);
  });

  it("has no API-key HMAC setting: ENX has none, the probe reads ENX's api_key_* secrets", () => {
    const names = e2eFlowConfig.fields.map((field) => field.env);
    expect(names).not.toContain('DB_APIKEY_DATABASE_KEY');
    expect(e2eFlowConfig.fields.filter((field) => field.secret)).toEqual([]);
  });

  it('requires ENX_REDIRECT_URL for the redirect probe', () => {
    expect(problems(() => e2eRedirectConfig.parse({}))[0]).toMatch(/^ENX_REDIRECT_URL is required/);
    expect(e2eRedirectConfig.parse({ ENX_REDIRECT_URL: 'https://e2e.en.example.com/' }).redirectUrl).toBe(
      'https://e2e.en.example.com',
    );
  });
});
