import {
  decimal,
  defineConfig,
  durationMs,
  flag,
  integer,
  list,
  noConfig,
  oneOf,
  text,
  url,
} from '../../../functions/core/config';
import { ConfigError } from '../../../functions/core/errors';

const schema = defineConfig(
  'example',
  {
    maxAgeMs: durationMs('EXAMPLE_MAX_AGE', '336h', 'Purge after this long.', {
      minMs: 1000,
      maxMs: 30 * 24 * 3_600_000,
    }),
    batchSize: integer('EXAMPLE_BATCH_SIZE', '100', 'Rows per batch.', { min: 1, max: 1000 }),
    ratio: decimal('EXAMPLE_RATIO', '0.5', 'A ratio.', { min: 0 }),
    mode: oneOf('EXAMPLE_MODE', 'fast', 'How to run.', ['fast', 'slow']),
    dryRun: flag('EXAMPLE_DRY_RUN', 'false', 'Only report.'),
    endpoint: url('EXAMPLE_ENDPOINT', undefined, 'Where to call.'),
    realms: list('EXAMPLE_REALMS', '', 'Which realms.'),
    apiKey: text('EXAMPLE_API_KEY', undefined, 'The API key.', { secret: true }),
  },
  (config) =>
    config.batchSize > 500 && config.mode === 'fast'
      ? ['EXAMPLE_BATCH_SIZE over 500 needs EXAMPLE_MODE=slow']
      : [],
);

const required = { EXAMPLE_ENDPOINT: 'https://example.test/api', EXAMPLE_API_KEY: 'k-123456' };

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    schema.parse(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('parse did not throw');
}

describe('defineConfig', () => {
  it('applies every documented default', () => {
    expect(schema.parse(required)).toEqual({
      maxAgeMs: 336 * 3_600_000,
      batchSize: 100,
      ratio: 0.5,
      mode: 'fast',
      dryRun: false,
      endpoint: 'https://example.test/api',
      realms: [],
      apiKey: 'k-123456',
    });
  });

  it('reads every variable that is set', () => {
    const config = schema.parse({
      ...required,
      EXAMPLE_MAX_AGE: '1h30m',
      EXAMPLE_BATCH_SIZE: '250',
      EXAMPLE_RATIO: '1.25',
      EXAMPLE_MODE: 'slow',
      EXAMPLE_DRY_RUN: 'yes',
      EXAMPLE_REALMS: ' a, b ,,c ',
    });
    expect(config).toMatchObject({
      maxAgeMs: 90 * 60_000,
      batchSize: 250,
      ratio: 1.25,
      mode: 'slow',
      dryRun: true,
      realms: ['a', 'b', 'c'],
    });
  });

  it('returns a frozen object', () => {
    expect(Object.isFrozen(schema.parse(required))).toBe(true);
  });

  it('names each missing required variable with its documentation', () => {
    expect(problemsOf({})).toEqual([
      'EXAMPLE_ENDPOINT is required: Where to call.',
      'EXAMPLE_API_KEY is required: The API key.',
    ]);
  });

  it('lists every problem in one ConfigError', () => {
    const problems = problemsOf({
      EXAMPLE_MAX_AGE: '5 minutes',
      EXAMPLE_BATCH_SIZE: '0',
      EXAMPLE_RATIO: 'half',
      EXAMPLE_MODE: 'turbo',
      EXAMPLE_DRY_RUN: 'maybe',
      EXAMPLE_ENDPOINT: 'not a url',
    });
    expect(problems).toHaveLength(7);
    expect(problems).toEqual([
      expect.stringMatching(/^EXAMPLE_MAX_AGE: .*not a duration/),
      expect.stringMatching(/^EXAMPLE_BATCH_SIZE: 0 is below the minimum 1/),
      expect.stringMatching(/^EXAMPLE_RATIO: .*not a number/),
      expect.stringMatching(/^EXAMPLE_MODE: .*not one of fast, slow/),
      expect.stringMatching(/^EXAMPLE_DRY_RUN: .*not a boolean/),
      expect.stringMatching(/^EXAMPLE_ENDPOINT: .*not an absolute URL/),
      expect.stringMatching(/^EXAMPLE_API_KEY is required/),
    ]);
  });

  it('puts every problem in the error message, so one log line tells the whole story', () => {
    expect(() => schema.parse({ EXAMPLE_BATCH_SIZE: 'x' })).toThrow(
      /example configuration is invalid:\n {2}- EXAMPLE_BATCH_SIZE: "x" is not a whole number\n {2}- EXAMPLE_ENDPOINT is required/,
    );
  });

  test.each([
    ['EXAMPLE_MAX_AGE', '500ms', /below the minimum of 1s/],
    ['EXAMPLE_MAX_AGE', '721h', /above the maximum of 720h/],
    ['EXAMPLE_BATCH_SIZE', '1001', /above the maximum 1000/],
    ['EXAMPLE_BATCH_SIZE', '1.5', /not a whole number/],
    ['EXAMPLE_RATIO', '-1', /below the minimum 0/],
    ['EXAMPLE_RATIO', '', /not a number/],
  ])('%s=%p is refused', (name, value, message) => {
    expect(problemsOf({ ...required, [name]: value })).toEqual([expect.stringMatching(message)]);
  });

  it('runs the cross-field check once every field parsed', () => {
    expect(problemsOf({ ...required, EXAMPLE_BATCH_SIZE: '600' })).toEqual([
      'EXAMPLE_BATCH_SIZE over 500 needs EXAMPLE_MODE=slow',
    ]);
    expect(schema.parse({ ...required, EXAMPLE_BATCH_SIZE: '600', EXAMPLE_MODE: 'slow' }).batchSize).toBe(
      600,
    );
  });

  it('marks only the fields declared secret', () => {
    expect(schema.fields.filter((field) => field.secret).map((field) => field.env)).toEqual([
      'EXAMPLE_API_KEY',
    ]);
    expect(url('X_URL', undefined, 'A secret URL.', { secret: true }).secret).toBe(true);
  });

  it('keeps each default as an operator would write it', () => {
    expect(schema.fields.map((field) => [field.env, field.defaultText])).toEqual([
      ['EXAMPLE_MAX_AGE', '336h'],
      ['EXAMPLE_BATCH_SIZE', '100'],
      ['EXAMPLE_RATIO', '0.5'],
      ['EXAMPLE_MODE', 'fast'],
      ['EXAMPLE_DRY_RUN', 'false'],
      ['EXAMPLE_ENDPOINT', undefined],
      ['EXAMPLE_REALMS', ''],
      ['EXAMPLE_API_KEY', undefined],
    ]);
  });

  it('noConfig needs nothing', () => {
    expect(noConfig.parse({})).toEqual({});
    expect(noConfig.fields).toEqual([]);
  });
});

describe('flag', () => {
  const field = flag('X_FLAG', 'false', 'A flag.');
  test.each([
    ['1', true],
    ['true', true],
    ['TRUE', true],
    ['yes', true],
    ['on', true],
    ['0', false],
    ['false', false],
    ['no', false],
    ['off', false],
    ['', false],
  ])('%p is %p', (raw, value) => {
    expect(field.parse(raw)).toBe(value);
  });
});
