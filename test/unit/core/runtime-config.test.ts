import { ConfigError } from '../../../functions/core/errors';
import { runtimeConfig } from '../../../functions/core/runtime-config';

const OIDC = {
  OIDC_AUDIENCE: 'https://cleanup-worker.example.run.app',
  OIDC_INVOKER_EMAILS: 'scheduler@p.iam.gserviceaccount.com',
};

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    runtimeConfig.parse(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  return [];
}

describe('runtimeConfig', () => {
  it('has production defaults', () => {
    const settings = runtimeConfig.parse(OIDC);
    expect(settings).toMatchObject({
      authMode: 'oidc',
      oidcIssuer: 'https://accounts.google.com',
      oidcJwksUrl: 'https://www.googleapis.com/oauth2/v3/certs',
      oidcInvokerEmails: ['scheduler@p.iam.gserviceaccount.com'],
      oidcClockToleranceMs: 30_000,
      dbSslMode: 'require',
      dbMaxConnections: 5,
      dbMigrate: 'auto',
      logLevel: 'info',
    });
  });

  it('allows AUTH_MODE=none off Cloud Run, without OIDC settings', () => {
    expect(problemsOf({ AUTH_MODE: 'none' })).toEqual([]);
  });

  it('refuses AUTH_MODE=none when K_SERVICE is set', () => {
    expect(problemsOf({ AUTH_MODE: 'none', K_SERVICE: 'cleanup-worker' })).toContainEqual(
      expect.stringMatching(/^AUTH_MODE=none is refused on Cloud Run/),
    );
  });

  test.each([
    [{ OIDC_INVOKER_EMAILS: OIDC.OIDC_INVOKER_EMAILS }, [/^OIDC_AUDIENCE is required with AUTH_MODE=oidc/]],
    [{ OIDC_AUDIENCE: OIDC.OIDC_AUDIENCE }, [/^OIDC_INVOKER_EMAILS is required with AUTH_MODE=oidc/]],
    [{ OIDC_AUDIENCE: OIDC.OIDC_AUDIENCE, OIDC_INVOKER_EMAILS: ' , ' }, [/^OIDC_INVOKER_EMAILS is required/]],
    [{}, [/^OIDC_AUDIENCE is required/, /^OIDC_INVOKER_EMAILS is required/]],
    [{ AUTH_MODE: 'oidc' }, [/^OIDC_AUDIENCE is required/, /^OIDC_INVOKER_EMAILS is required/]],
  ])('with %p, AUTH_MODE=oidc reports %p', (env, expected) => {
    expect(problemsOf(env)).toEqual(expected.map((pattern) => expect.stringMatching(pattern)));
  });

  it('leaves the key manager to the steps that use keys, even on Cloud Run', () => {
    // The runtime refuses local keys on Cloud Run at the first key operation, not at start-up,
    // so jobs that never touch keys still run (test/integration/key-manager-choice.test.ts).
    expect(problemsOf({ ...OIDC, K_SERVICE: 'cleanup-worker' })).toEqual([]);
    expect(problemsOf({ ...OIDC, KEY_MANAGER: 'google-cloud-kms' })).toEqual([]);
  });

  it('lists field problems together', () => {
    expect(problemsOf({ ...OIDC, AUTH_MODE: 'maybe', DB_PORT: '70000', DB_MAX_CONNECTIONS: '1' })).toEqual([
      expect.stringMatching(/^DB_PORT: 70000 is above the maximum 65535/),
      expect.stringMatching(/^DB_MAX_CONNECTIONS: 1 is below the minimum 2/),
      expect.stringMatching(/^AUTH_MODE: "maybe" is not one of oidc, none/),
    ]);
  });

  it('declares the database credentials secret', () => {
    expect(runtimeConfig.fields.filter((field) => field.secret).map((field) => field.env)).toEqual([
      'DATABASE_URL',
      'DB_PASSWORD',
    ]);
  });
});
