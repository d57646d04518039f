/**
 * cleanup-worker settings against enx-jobs.md §3: the original's defaults, Go duration syntax, and
 * every validation rule, with a bad configuration reported whole.
 */
import type { Env } from '../../functions/core/config';
import { ConfigError } from '../../functions/core/errors';
import { cleanupConfig } from '../../functions/jobs/cleanup-worker/config';
import type { CleanupConfig } from '../../functions/jobs/cleanup-worker/config';

const KEY = 'projects/enx-test-project/locations/us/keyRings/verification/cryptoKeys/token-signer';
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

function parse(env: Env): CleanupConfig {
  return cleanupConfig.parse({ TOKEN_SIGNING_KEY: KEY, ...env });
}

/** The problems a configuration is refused for; [] when it is accepted. */
function problems(env: Env): readonly string[] {
  try {
    parse(env);
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    expect(error.scope).toBe('cleanup-worker');
    return error.problems;
  }
}

/** Every duration setting of §3 (CLEANUP_MIN_PERIOD is not read: the job lock replaces it). */
const DURATIONS: readonly [env: string, key: keyof CleanupConfig, defaultMs: number][] = [
  ['AUTHORIZED_APP_MAX_AGE', 'authorizedAppMaxAgeMs', 336 * HOUR],
  ['VERIFICATION_CODE_MAX_AGE', 'verificationCodeMaxAgeMs', 48 * HOUR],
  ['VERIFICATION_CODE_STATUS_MAX_AGE', 'verificationCodeStatusMaxAgeMs', 336 * HOUR],
  ['VERIFICATION_TOKEN_MAX_AGE', 'verificationTokenMaxAgeMs', 24 * HOUR],
  ['MOBILE_APP_MAX_AGE', 'mobileAppMaxAgeMs', 168 * HOUR],
  ['AUDIT_ENTRY_MAX_AGE', 'auditEntryMaxAgeMs', 720 * HOUR],
  ['USER_PURGE_MAX_AGE', 'userPurgeMaxAgeMs', 720 * HOUR],
  ['SIGNING_TOKEN_KEY_MAX_AGE', 'signingTokenKeyMaxAgeMs', 36 * HOUR],
  ['VERIFICATION_SIGNING_KEY_MAX_AGE', 'verificationSigningKeyMaxAgeMs', 36 * HOUR],
  ['STATS_MAX_AGE', 'statsMaxAgeMs', 2184 * HOUR],
  ['REALM_CHAFF_EVENT_MAX_AGE', 'realmChaffEventMaxAgeMs', 168 * HOUR],
  ['USER_REPORT_MAX_AGE', 'userReportMaxAgeMs', 720 * HOUR],
  ['USER_REPORT_UNCLAIMED_MAX_AGE', 'userReportUnclaimedMaxAgeMs', 60 * MINUTE],
];

describe('cleanup-worker config defaults (enx-jobs.md §3)', () => {
  const config = parse({});

  it.each(DURATIONS)('%s defaults to the original value', (_env, key, defaultMs) => {
    expect(config[key]).toBe(defaultMs);
  });

  it('has every duration setting of the original, under its original name', () => {
    const declared = cleanupConfig.fields.map((field) => field.env);
    for (const [env] of DURATIONS) expect(declared).toContain(env);
  });

  it('batches 10000 rows per statement by default', () => {
    expect(config.batchSize).toBe(10000);
  });

  it('keeps TOKEN_SIGNING_KEY as given', () => {
    expect(config.tokenSigningKey).toBe(KEY);
  });

  it('documents the defaults in the same Go syntax the original used', () => {
    const defaults = Object.fromEntries(cleanupConfig.fields.map((field) => [field.env, field.defaultText]));
    expect(defaults).toMatchObject({
      AUTHORIZED_APP_MAX_AGE: '336h',
      VERIFICATION_CODE_MAX_AGE: '48h',
      VERIFICATION_CODE_STATUS_MAX_AGE: '336h',
      STATS_MAX_AGE: '2184h',
      USER_REPORT_UNCLAIMED_MAX_AGE: '60m',
      TOKEN_SIGNING_KEY: undefined,
    });
  });
});

describe('Go duration syntax', () => {
  it.each([
    ['336h', 336 * HOUR],
    ['1h30m', 90 * MINUTE],
    ['90m', 90 * MINUTE],
    ['5400s', 90 * MINUTE],
    ['1.5h', 90 * MINUTE],
    ['2h45m30s', 2 * HOUR + 45 * MINUTE + 30 * SECOND],
    ['5400000ms', 90 * MINUTE],
    ['+336h', 336 * HOUR],
    [' 36h ', 36 * HOUR],
  ])('reads AUTHORIZED_APP_MAX_AGE=%j', (raw, ms) => {
    expect(parse({ AUTHORIZED_APP_MAX_AGE: raw }).authorizedAppMaxAgeMs).toBe(ms);
  });

  it.each(['14d', '5', 'h', '1h 30m', 'soon', '', '1w'])('refuses AUTHORIZED_APP_MAX_AGE=%j', (raw) => {
    const found = problems({ AUTHORIZED_APP_MAX_AGE: raw });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^AUTHORIZED_APP_MAX_AGE: .*not a duration/);
  });
});

describe('validation rules', () => {
  // [rule, env, problem pattern or null when accepted]
  it.each<[string, Env, RegExp | null]>([
    // Codes: the status must outlive the code.
    [
      'status max age below code max age',
      { VERIFICATION_CODE_MAX_AGE: '48h', VERIFICATION_CODE_STATUS_MAX_AGE: '47h59m59s' },
      /VERIFICATION_CODE_STATUS_MAX_AGE .*must be at least VERIFICATION_CODE_MAX_AGE/,
    ],
    [
      'status max age equal to code max age',
      { VERIFICATION_CODE_MAX_AGE: '48h', VERIFICATION_CODE_STATUS_MAX_AGE: '48h' },
      null,
    ],
    [
      'code max age raised above the default status max age',
      { VERIFICATION_CODE_MAX_AGE: '337h' },
      /VERIFICATION_CODE_STATUS_MAX_AGE/,
    ],
    // Audit entries: at least 7 days.
    ['audit max age just under 7 days', { AUDIT_ENTRY_MAX_AGE: '167h59m59s' }, /^AUDIT_ENTRY_MAX_AGE: /],
    ['audit max age of exactly 7 days', { AUDIT_ENTRY_MAX_AGE: '168h' }, null],
    // Stats: 30 to 180 days, both inclusive.
    ['stats max age just under 30 days', { STATS_MAX_AGE: '719h59m59s' }, /^STATS_MAX_AGE: /],
    ['stats max age of exactly 30 days', { STATS_MAX_AGE: '720h' }, null],
    ['stats max age of exactly 180 days', { STATS_MAX_AGE: '4320h' }, null],
    ['stats max age just over 180 days', { STATS_MAX_AGE: '4320h1s' }, /^STATS_MAX_AGE: /],
    // User reports: unclaimed ones never outlive claimed ones.
    [
      'unclaimed max age above user report max age',
      { USER_REPORT_UNCLAIMED_MAX_AGE: '720h1s' },
      /USER_REPORT_UNCLAIMED_MAX_AGE .*must not exceed USER_REPORT_MAX_AGE/,
    ],
    [
      'user report max age lowered below the default unclaimed max age',
      { USER_REPORT_MAX_AGE: '30m' },
      /USER_REPORT_UNCLAIMED_MAX_AGE/,
    ],
    [
      'unclaimed max age equal to user report max age',
      { USER_REPORT_UNCLAIMED_MAX_AGE: '720h', USER_REPORT_MAX_AGE: '720h' },
      null,
    ],
    // Batch size: 1 to 100000 whole rows.
    ['batch size 0', { CLEANUP_BATCH_SIZE: '0' }, /^CLEANUP_BATCH_SIZE: /],
    ['batch size -1', { CLEANUP_BATCH_SIZE: '-1' }, /^CLEANUP_BATCH_SIZE: /],
    ['batch size 100001', { CLEANUP_BATCH_SIZE: '100001' }, /^CLEANUP_BATCH_SIZE: /],
    ['batch size 1.5', { CLEANUP_BATCH_SIZE: '1.5' }, /^CLEANUP_BATCH_SIZE: /],
    ['batch size "many"', { CLEANUP_BATCH_SIZE: 'many' }, /^CLEANUP_BATCH_SIZE: /],
    ['batch size 1', { CLEANUP_BATCH_SIZE: '1' }, null],
    ['batch size 100000', { CLEANUP_BATCH_SIZE: '100000' }, null],
  ])('%s', (_rule, env, expected) => {
    const found = problems(env);
    if (expected === null) {
      expect(found).toEqual([]);
    } else {
      expect(found).toHaveLength(1);
      expect(found[0]).toMatch(expected);
    }
  });

  it('reads the batch size as a number', () => {
    expect(parse({ CLEANUP_BATCH_SIZE: '7' }).batchSize).toBe(7);
  });

  describe('positive durations', () => {
    const cases = DURATIONS.flatMap(([env]) => [
      [env, '0'],
      [env, '-5m'],
    ]);
    it.each(cases)('refuses %s=%s, naming the variable', (env, raw) => {
      const found = problems({ [env]: raw });
      expect(found).toHaveLength(1);
      expect(found[0].startsWith(`${env}: `)).toBe(true);
    });
  });

  describe('TOKEN_SIGNING_KEY', () => {
    it('is required', () => {
      const found = cleanupProblems({});
      expect(found).toHaveLength(1);
      expect(found[0]).toMatch(/^TOKEN_SIGNING_KEY is required/);
    });

    it.each([
      ['empty', '', /empty/],
      ['a key version', `${KEY}/cryptoKeyVersions/3`, /key version/],
      ['a key version, without the number', `${KEY}/cryptoKeyVersions`, /key version/],
      ['two keys', `${KEY},${KEY}-2`, /comma/],
      ['a comma inside a path segment', KEY.replace('enx-test-project', 'a,b'), /comma/],
      ['only a key id', 'token-signer', /not a crypto key name/],
      ['a key ring', 'projects/p/locations/l/keyRings/r', /not a crypto key name/],
      ['a key with a trailing slash', `${KEY}/`, /not a crypto key name/],
    ])('refuses %s', (_case, raw, pattern) => {
      const found = problems({ TOKEN_SIGNING_KEY: raw });
      expect(found).toHaveLength(1);
      expect(found[0]).toMatch(/^TOKEN_SIGNING_KEY: /);
      expect(found[0]).toMatch(pattern);
    });

    it('accepts a crypto key name, trimmed', () => {
      expect(parse({ TOKEN_SIGNING_KEY: ` ${KEY} ` }).tokenSigningKey).toBe(KEY);
    });
  });
});

describe('a bad configuration is reported whole', () => {
  it('lists every bad variable in one ConfigError, each message naming its variable', () => {
    const env: Env = {
      STATS_MAX_AGE: '24h',
      AUDIT_ENTRY_MAX_AGE: '1h',
      VERIFICATION_TOKEN_MAX_AGE: 'soon',
      CLEANUP_BATCH_SIZE: '0',
      TOKEN_SIGNING_KEY: `${KEY}/cryptoKeyVersions/1`,
    };
    let error: unknown;
    try {
      cleanupConfig.parse(env);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const found = (error as ConfigError).problems;
    expect(found).toHaveLength(5);
    for (const name of Object.keys(env)) {
      expect(found.filter((problem) => problem.startsWith(`${name}: `))).toHaveLength(1);
      expect((error as ConfigError).message).toContain(name);
    }
  });

  it('lists every broken cross-variable rule together', () => {
    const found = problems({ VERIFICATION_CODE_STATUS_MAX_AGE: '24h', USER_REPORT_MAX_AGE: '30m' });
    expect(found).toHaveLength(2);
    expect(found[0]).toMatch(
      /VERIFICATION_CODE_STATUS_MAX_AGE \(24h\) must be at least VERIFICATION_CODE_MAX_AGE \(48h\)/,
    );
    expect(found[1]).toMatch(
      /USER_REPORT_UNCLAIMED_MAX_AGE \(1h\) must not exceed USER_REPORT_MAX_AGE \(30m\)/,
    );
  });

  it('reports a missing TOKEN_SIGNING_KEY together with other bad variables', () => {
    const found = cleanupProblems({ STATS_MAX_AGE: '181d' });
    expect(found.map((problem) => problem.split(/[: ]/)[0]).sort()).toEqual([
      'STATS_MAX_AGE',
      'TOKEN_SIGNING_KEY',
    ]);
  });
});

/** Like problems(), without the default TOKEN_SIGNING_KEY. */
function cleanupProblems(env: Env): readonly string[] {
  try {
    cleanupConfig.parse(env);
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems;
  }
}
