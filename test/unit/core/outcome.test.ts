import { AuthError, ConfigError, StepsFailedError, TimeoutError } from '../../../functions/core/errors';
import {
  duplicate,
  errorList,
  failed,
  inProgress,
  refused,
  skipped,
  succeeded,
} from '../../../functions/core/outcome';
import { TickError } from '../../../functions/core/tick';

const fields = { job: 'cleanup-worker', tick: '2026-11-23T20:05:00.000Z' };

describe('outcome', () => {
  test.each([
    ['succeeded', succeeded(fields), 200, { ok: true, status: 'succeeded' }],
    [
      'skipped',
      skipped('another tick is running', fields),
      200,
      { ok: true, status: 'skipped', reason: 'another tick is running' },
    ],
    ['duplicate', duplicate(fields), 200, { ok: true, status: 'duplicate' }],
    ['in progress', inProgress(fields), 409, { ok: false, status: 'in_progress' }],
    ['a failure', failed(new Error('boom'), fields), 500, { ok: false, status: 'failed', errors: ['boom'] }],
    ['a timeout', failed(new TimeoutError(1000), fields), 504, { ok: false, status: 'failed' }],
    [
      'failed steps',
      failed(new StepsFailedError([{ step: 'a', error: 'x' }], {}), fields),
      500,
      { ok: false, status: 'failed', errors: ['a: x'] },
    ],
    [
      'a bad configuration',
      failed(new ConfigError('job', ['X is required']), fields),
      500,
      { ok: false, status: 'failed', errors: ['config: X is required'] },
    ],
  ])('%s answers %p', (_name, answer, status, body) => {
    expect(answer.status).toBe(status);
    expect(answer.body).toMatchObject({ ...body, ...fields });
  });

  it('keeps 2xx for success or a deliberate skip only, so Cloud Scheduler retries every failure', () => {
    const ok = [succeeded(fields), skipped('r', fields), duplicate(fields)];
    const notOk = [inProgress(fields), failed(new Error('x'), fields), failed(new TimeoutError(1), fields)];
    for (const answer of ok) expect(answer.status).toBeLessThan(300);
    for (const answer of notOk) expect(answer.status).toBeGreaterThanOrEqual(400);
    for (const answer of [...ok, ...notOk]) expect(answer.body.ok).toBe(answer.status < 300);
  });

  test.each([
    ['a missing token', new AuthError('missing bearer token'), 401, 'rejected'],
    ['a foreign caller', new AuthError('caller x is not an allowed invoker', 403), 403, 'rejected'],
    ['a malformed schedule time', new TickError('bad header'), 400, 'rejected'],
    ['an unreachable database', new Error('connect ECONNREFUSED 127.0.0.1:5432'), 503, 'unavailable'],
  ])('refuses %s with %p', (_name, error, status, state) => {
    const answer = refused(error);
    expect(answer.status).toBe(status);
    expect(answer.body).toMatchObject({ ok: false, status: state });
    expect(answer.body.error).toContain(error.message);
  });

  test.each([
    [new Error('boom'), ['boom']],
    ['a string', ['a string']],
    [
      new StepsFailedError(
        [
          { step: 'a', error: 'x' },
          { step: 'b', error: 'y' },
        ],
        {},
      ),
      ['a: x', 'b: y'],
    ],
    [new ConfigError('job', ['A bad', 'B bad']), ['config: A bad', 'config: B bad']],
    [new Error('outer', { cause: new Error('inner') }), ['outer: inner']],
  ])('errorList(%p) is %p', (error, list) => {
    expect(errorList(error)).toEqual(list);
  });
});
