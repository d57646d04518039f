/**
 * appsync-worker settings against enx-jobs.md §1: the original's defaults, a required feed URL,
 * and a bad configuration reported whole.
 */
import type { Env } from '../../functions/core/config';
import { ConfigError } from '../../functions/core/errors';
import { appsyncConfig } from '../../functions/jobs/appsync-worker/config';

function problems(env: Env): readonly string[] {
  try {
    appsyncConfig.parse(env);
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    expect(error.scope).toBe('appsync-worker');
    return error.problems;
  }
}

describe('appsync-worker config', () => {
  it("has the original's defaults", () => {
    expect(
      appsyncConfig.parse({ APP_SYNC_URL: 'https://www.gstatic.com/exposurenotifications/apps.json' }),
    ).toEqual({
      feedUrl: 'https://www.gstatic.com/exposurenotifications/apps.json',
      sizeLimitBytes: 4_000_000,
      timeoutMs: 60_000,
    });
  });

  it('reads every setting', () => {
    expect(
      appsyncConfig.parse({
        APP_SYNC_URL: 'http://127.0.0.1:9/apps.json',
        APP_SYNC_SIZE_LIMIT: '1024',
        APP_SYNC_TIMEOUT: '15s',
      }),
    ).toEqual({ feedUrl: 'http://127.0.0.1:9/apps.json', sizeLimitBytes: 1024, timeoutMs: 15_000 });
  });

  it('defaults to the published feed and refuses an empty URL (the original accepted one and failed at the first run)', () => {
    expect(appsyncConfig.parse({}).feedUrl).toBe('https://www.gstatic.com/exposurenotifications/apps.json');
    expect(problems({ APP_SYNC_URL: '' })).toEqual([
      expect.stringMatching(/^APP_SYNC_URL: "" is not an absolute URL/),
    ]);
  });

  it('refuses a URL that is not http(s)', () => {
    expect(problems({ APP_SYNC_URL: 'file:///etc/passwd' })).toEqual([
      'APP_SYNC_URL must be an http or https URL, not file:',
    ]);
  });

  it('reports every bad setting at once', () => {
    expect(problems({ APP_SYNC_URL: 'nope', APP_SYNC_SIZE_LIMIT: '0', APP_SYNC_TIMEOUT: '10m' })).toEqual([
      expect.stringMatching(/^APP_SYNC_URL: "nope" is not an absolute URL/),
      'APP_SYNC_SIZE_LIMIT: 0 is below the minimum 1',
      'APP_SYNC_TIMEOUT: 10m is above the maximum of 4m',
    ]);
  });
});
