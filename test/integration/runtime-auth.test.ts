/**
 * Who may run a job: every request is verified before anything else happens, and a refused request
 * leaves no trace in the ledger and runs nothing.
 */
import { AUDIENCE, INVOKER, createHarness, ledgerAttempts } from '../support/harness';
import type { Harness } from '../support/harness';
import { ledgerTicks, testJob } from '../support/test-jobs';

const JOB = 'auth-probe';
const TICK = '2026-11-23T20:05:00Z';

describe('runtime authentication over HTTP', () => {
  let harness: Harness;
  let runs = 0;

  beforeAll(async () => {
    harness = await createHarness({
      definitions: [
        testJob(JOB, async () => {
          runs += 1;
          return { ran: true };
        }),
      ],
    });
  });
  afterAll(async () => harness.close());

  beforeEach(async () => {
    runs = 0;
    await harness.db.pool.query('DELETE FROM enx_jobs_attempts; DELETE FROM enx_jobs_ticks');
    harness.logs.lines.length = 0;
    harness.sink.tallies.clear();
  });

  async function expectNothingRan() {
    expect(runs).toBe(0);
    expect(await ledgerAttempts(harness.db, JOB)).toEqual([]);
    expect(await ledgerTicks(harness.db, JOB)).toEqual([]);
    expect(harness.sink.tallies.get(JOB)?.started ?? 0).toBe(0);
  }

  const cases: [string, () => Promise<string | null>, number, RegExp][] = [
    ['no token', async () => null, 401, /missing bearer token/],
    [
      'a forged token',
      () => harness.issuer.forge({ audience: AUDIENCE, email: INVOKER }),
      401,
      /signature is invalid/,
    ],
    ['an expired token', () => harness.token({ ttlSeconds: -3600 }), 401, /token expired/],
    [
      'a token for another audience',
      () => harness.token({ audience: 'https://other.example.run.app' }),
      401,
      /audience is not https:\/\/cleanup-worker/,
    ],
    [
      'a token from another issuer',
      () => harness.token({ issuer: 'https://accounts.google.com' }),
      401,
      /issuer is not http:\/\/127\.0\.0\.1/,
    ],
    [
      'a caller that is not an invoker',
      () => harness.token({ email: 'intruder@enx-test-project.iam.gserviceaccount.com' }),
      403,
      /intruder@.* is not an allowed invoker/,
    ],
    ['an unverified email', () => harness.token({ emailVerified: false }), 403, /no verified email/],
    ['a malformed token', async () => 'not.a.jwt', 401, /could not be verified/],
  ];

  test.each(cases)('refuses %s and runs nothing', async (_name, makeToken, status, message) => {
    const res = await harness.invoke(JOB, { scheduleTime: TICK, token: await makeToken() });
    expect(res.status).toBe(status);
    expect(res.body).toEqual({
      ok: false,
      status: 'rejected',
      reason: 'auth',
      error: expect.stringMatching(message),
    });
    await expectNothingRan();
    expect(harness.sink.tallies.get(JOB)?.refused).toEqual({ auth: 1 });
    const entries = harness.logs.entries();
    expect(entries).toContainEqual(
      expect.objectContaining({
        severity: 'WARNING',
        event: 'rejected',
        message: expect.stringMatching(message),
      }),
    );
  });

  it('refuses a credential that is not a bearer token', async () => {
    const res = await harness.invoke(JOB, {
      scheduleTime: TICK,
      token: null,
      headers: { Authorization: `Basic ${Buffer.from('user:pass').toString('base64')}` },
    });
    expect(res.status).toBe(401);
    await expectNothingRan();
  });

  it('runs the job for a valid token from the invoker', async () => {
    const res = await harness.invoke(JOB, { scheduleTime: TICK });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      ok: true,
      status: 'succeeded',
      job: JOB,
      tick: '2026-11-23T20:05:00.000Z',
    });
    expect(runs).toBe(1);
    expect((await ledgerAttempts(harness.db, JOB)).map((row) => row.state)).toEqual(['succeeded']);
    const started = harness.logs.entries().find((entry) => entry.event === 'started');
    expect(started?.caller).toBe(INVOKER);
  });

  it('accepts the invoker email in any case', async () => {
    const res = await harness.invoke(JOB, {
      scheduleTime: TICK,
      token: await harness.token({ email: INVOKER.toUpperCase() }),
    });
    expect(res.status).toBe(200);
    expect(runs).toBe(1);
  });

  test.each([['yesterday'], ['2026-11-23T20:05:00'], ['2026-02-30T20:05:00Z']])(
    'answers 400 to X-CloudScheduler-ScheduleTime %p and runs nothing',
    async (scheduleTime) => {
      const res = await harness.invoke(JOB, { scheduleTime });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        ok: false,
        status: 'rejected',
        reason: 'tick',
        error: expect.stringMatching(/X-CloudScheduler-ScheduleTime .* is not an RFC 3339 time/),
      });
      await expectNothingRan();
      expect(harness.sink.tallies.get(JOB)?.refused).toEqual({ tick: 1 });
    },
  );

  it('checks the caller before the schedule time', async () => {
    const res = await harness.invoke(JOB, { scheduleTime: 'yesterday', token: null });
    expect(res.status).toBe(401);
    await expectNothingRan();
    expect(harness.sink.tallies.get(JOB)?.refused).toEqual({ auth: 1 });
  });
});

/** A token as Cloud Run forwards it: the issuer's header and claims, the signature removed. */
function stripped(token: string): string {
  const [header, payload] = token.split('.');
  return `${header}.${payload}.SIGNATURE_REMOVED_BY_GOOGLE`;
}

/** A stripped token whose claims nobody signed: what an attacker could write by hand. */
function handWritten(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256', kid: 'local-1', typ: 'JWT' })}.${part(claims)}.SIGNATURE_REMOVED_BY_GOOGLE`;
}

describe('tokens whose signature Cloud Run removed', () => {
  const runs = { count: 0 };
  const definitions = [
    testJob(JOB, async () => {
      runs.count += 1;
      return { ran: true };
    }),
  ];

  describe('off Cloud Run (no K_SERVICE, AUTH_EDGE=auto)', () => {
    let harness: Harness;
    beforeAll(async () => {
      harness = await createHarness({ definitions });
    });
    afterAll(async () => harness.close());

    it('refuses a stripped token even with perfect claims: anyone could write one', async () => {
      runs.count = 0;
      const res = await harness.invoke(JOB, { scheduleTime: TICK, token: stripped(await harness.token()) });
      expect(res.status).toBe(401);
      expect(res.body.error).toMatch(/signature was removed .* not behind Cloud Run/);
      expect(runs.count).toBe(0);
    });
  });

  describe('on Cloud Run (K_SERVICE set)', () => {
    let harness: Harness;
    beforeAll(async () => {
      harness = await createHarness({ definitions, env: { K_SERVICE: JOB } });
    });
    afterAll(async () => harness.close());
    beforeEach(async () => {
      runs.count = 0;
      await harness.db.pool.query('DELETE FROM enx_jobs_attempts; DELETE FROM enx_jobs_ticks');
    });

    it('accepts the stripped token of the invoker and runs the job', async () => {
      const res = await harness.invoke(JOB, { scheduleTime: TICK, token: stripped(await harness.token()) });
      expect(res.status).toBe(200);
      expect(runs.count).toBe(1);
    });

    it('still verifies a token that carries its signature', async () => {
      const forged = await harness.issuer.forge({ audience: AUDIENCE, email: INVOKER });
      const res = await harness.invoke(JOB, { scheduleTime: TICK, token: forged });
      expect(res.status).toBe(401);
      expect(res.body.error).toMatch(/signature is invalid/);
      expect(runs.count).toBe(0);
    });

    const now = () => Math.floor(Date.now() / 1000);
    const good = () => ({
      iss: harness.issuer.issuer,
      aud: AUDIENCE,
      email: INVOKER,
      email_verified: true,
      iat: now(),
      exp: now() + 600,
    });
    const forgedClaims: [string, () => Record<string, unknown>, number, RegExp][] = [
      [
        'another invoker',
        () => ({ ...good(), email: 'intruder@example.iam.gserviceaccount.com' }),
        403,
        /not an allowed invoker/,
      ],
      [
        'another audience',
        () => ({ ...good(), aud: 'https://other.example.run.app' }),
        401,
        /audience is not/,
      ],
      ['another issuer', () => ({ ...good(), iss: 'https://evil.example.com' }), 401, /issuer is not/],
      ['an expired token', () => ({ ...good(), exp: now() - 3600 }), 401, /token expired/],
      ['no expiry', () => ({ ...good(), exp: undefined }), 401, /no expiry/],
      ['an issue time in the future', () => ({ ...good(), iat: now() + 3600 }), 401, /issued in the future/],
      ['an unverified email', () => ({ ...good(), email_verified: false }), 403, /no verified email/],
    ];

    test.each(forgedClaims)('refuses a stripped token with %s', async (_name, claims, status, message) => {
      const res = await harness.invoke(JOB, { scheduleTime: TICK, token: handWritten(claims()) });
      expect(res.status).toBe(status);
      expect(res.body.error).toMatch(message);
      expect(runs.count).toBe(0);
    });

    const unreadable: [string, string, RegExp][] = [
      ['claims that are not JSON', Buffer.from('{"iss": ').toString('base64url'), /claims are not JSON/],
      ['claims that are a JSON array', Buffer.from('["iss"]').toString('base64url'), /not a JSON object/],
    ];
    test.each(unreadable)('refuses a stripped token with %s', async (_name, claims, message) => {
      const [header] = handWritten(good()).split('.');
      const res = await harness.invoke(JOB, {
        scheduleTime: TICK,
        token: `${header}.${claims}.SIGNATURE_REMOVED_BY_GOOGLE`,
      });
      expect(res.status).toBe(401);
      expect(res.body.error).toMatch(message);
      expect(runs.count).toBe(0);
    });

    it('accepts hand-written claims that are right: Cloud Run is what vouches for the signature', async () => {
      const res = await harness.invoke(JOB, { scheduleTime: TICK, token: handWritten(good()) });
      expect(res.status).toBe(200);
    });
  });
});
