import { SecretRegistry, createLogger } from '../../../functions/core/logger';
import { memoryWriter } from '../../support/memory-writer';
import type { LoggerOptions } from '../../../functions/core/logger';

const LABELS = 'logging.googleapis.com/labels';
const TRACE = 'logging.googleapis.com/trace';
const SPAN = 'logging.googleapis.com/spanId';

function setup(options: Omit<LoggerOptions, 'write'> = {}) {
  const out = memoryWriter();
  const secrets = options.secrets ?? new SecretRegistry();
  const logger = createLogger({ ...options, secrets, write: out.write });
  return { out, secrets, logger, last: () => out.entries()[out.entries().length - 1] };
}

describe('createLogger', () => {
  test.each([
    ['debug', 'DEBUG'],
    ['info', 'INFO'],
    ['notice', 'NOTICE'],
    ['warn', 'WARNING'],
    ['error', 'ERROR'],
  ] as const)('%s writes one JSON line with severity %s', (method, severity) => {
    const { out, logger } = setup({ minSeverity: 'DEBUG' });
    logger[method]('hello', { event: 'greeted', count: 3 });
    expect(out.lines).toHaveLength(1);
    expect(out.lines[0]).not.toContain('\n');
    const entry = JSON.parse(out.lines[0]);
    expect(entry).toEqual({
      severity,
      message: 'hello',
      time: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
      event: 'greeted',
      count: 3,
    });
  });

  it('drops lines below the minimum severity (INFO by default)', () => {
    const { out, logger } = setup();
    logger.debug('noise');
    logger.info('kept');
    expect(out.entries().map((entry) => entry.message)).toEqual(['kept']);

    const quiet = setup({ minSeverity: 'WARNING' });
    quiet.logger.info('dropped');
    quiet.logger.notice('dropped');
    quiet.logger.warn('kept');
    quiet.logger.error('kept too');
    expect(quiet.out.entries().map((entry) => entry.severity)).toEqual(['WARNING', 'ERROR']);
  });

  it('carries labels, trace and span id in the fields Cloud Logging reads', () => {
    const { logger, last } = setup();
    logger
      .child({
        labels: { job: 'cleanup-worker' },
        trace: 'projects/p/traces/abc',
        spanId: '00000000000000ff',
      })
      .info('started');
    expect(last()).toMatchObject({
      [LABELS]: { job: 'cleanup-worker' },
      [TRACE]: 'projects/p/traces/abc',
      [SPAN]: '00000000000000ff',
    });
  });

  it('leaves labels and trace out when there are none', () => {
    const { logger, last } = setup();
    logger.info('plain');
    expect(Object.keys(last())).toEqual(['severity', 'message', 'time']);
  });

  it('merges child labels and fields into the parent ones', () => {
    const { logger, last } = setup();
    const job = logger.child({
      labels: { job: 'cleanup-worker', execution_id: 'e1' },
      fields: { region: 'eu' },
    });
    const tick = job.child({ labels: { tick: '2026-11-23T20:05:00.000Z' }, trace: 'projects/p/traces/t1' });
    const attempt = tick.child({ labels: { attempt: '2', execution_id: 'e2' }, fields: { step: 'x' } });
    attempt.info('working', { rows: 5 });
    expect(last()).toMatchObject({
      region: 'eu',
      step: 'x',
      rows: 5,
      [LABELS]: { job: 'cleanup-worker', execution_id: 'e2', tick: '2026-11-23T20:05:00.000Z', attempt: '2' },
      [TRACE]: 'projects/p/traces/t1',
    });
    job.info('parent unchanged');
    expect(last()[LABELS]).toEqual({ job: 'cleanup-worker', execution_id: 'e1' });
    expect(last()[TRACE]).toBeUndefined();
  });

  it('never lets a field replace the severity or the message', () => {
    const { logger, last } = setup();
    logger.error('the real message', { severity: 'DEBUG', message: 'a field called message' });
    expect(last()).toMatchObject({ severity: 'ERROR', message: 'the real message' });
  });

  test.each([
    ['password'],
    ['dbPassword'],
    ['DB_PASS'],
    ['client_secret'],
    ['token'],
    ['bearerToken'],
    ['apiKey'],
    ['api_key'],
    ['x-api-key'],
    ['authorization'],
    ['privateKey'],
    ['credentials'],
  ])('masks a string in a field named %p, at any depth', (name) => {
    const { out, logger, last } = setup();
    logger.info('call', { [name]: 'hunter2-value', nested: { deeper: [{ [name]: 'hunter2-value' }] } });
    expect(out.lines[0]).not.toContain('hunter2-value');
    expect(last()[name]).toBe('[redacted]');
    expect(last().nested).toEqual({ deeper: [{ [name]: '[redacted]' }] });
  });

  it('keeps counts whose names merely mention tokens or keys', () => {
    const { last, logger } = setup();
    logger.info('done', { tokensPurged: 12, keys: ['v1'] });
    expect(last()).toMatchObject({ tokensPurged: 12, keys: ['v1'] });
  });

  it('scrubs registered secret values anywhere in the line', () => {
    const { out, logger, secrets } = setup();
    secrets.add('s3cr3t-value');
    logger
      .child({ labels: { job: 'j s3cr3t-value' }, fields: { url: 'postgres://u:s3cr3t-value@h/db' } })
      .error('connect to postgres://u:s3cr3t-value@h/db failed', {
        error: new Error('password authentication failed for s3cr3t-value'),
        detail: { list: ['x s3cr3t-value y'] },
      });
    expect(out.lines[0]).not.toContain('s3cr3t-value');
    const entry = out.entries()[0];
    expect(entry.message).toBe('connect to postgres://u:[redacted]@h/db failed');
    expect(entry.error).toEqual({ name: 'Error', message: 'password authentication failed for [redacted]' });
    expect(entry.url).toBe('postgres://u:[redacted]@h/db');
    expect(entry[LABELS]).toEqual({ job: 'j [redacted]' });
    expect(entry.detail).toEqual({ list: ['x [redacted] y'] });
  });

  it('scrubs a secret whose characters JSON escapes', () => {
    const { out, logger, secrets } = setup();
    const secret = 'quo"te\\back\nline';
    secrets.add(secret);
    logger.info(`value is ${secret}`, { value: secret });
    expect(out.lines[0]).not.toContain(JSON.stringify(secret).slice(1, -1));
    expect(out.entries()[0]).toMatchObject({ message: 'value is [redacted]', value: '[redacted]' });
  });

  it('ignores empty and very short secrets, which would shred every line', () => {
    const { out, logger, secrets } = setup();
    secrets.add('');
    secrets.add(undefined);
    secrets.add('abc');
    logger.info('abc abc');
    expect(out.entries()[0].message).toBe('abc abc');
  });

  it('writes a line even when the fields cannot be serialised', () => {
    const { out, logger } = setup();
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    logger.warn('odd fields', { circular, big: BigInt(1) });
    expect(out.entries()[0]).toMatchObject({
      severity: 'WARNING',
      message: 'odd fields',
      note: 'fields were not serialisable',
    });
  });
});
