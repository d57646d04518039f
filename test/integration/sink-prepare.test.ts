/**
 * A sink that must load something before its first write (the Cloud Monitoring client) is told to
 * start loading as each request arrives, before the token check and the ledger's round trips, so
 * the load overlaps them. The runtime never waits for it, and a sink that fails to prepare costs
 * the request nothing.
 */
import type { SignalSink } from '../../functions/core/signals';
import { createHarness } from '../support/harness';
import type { Harness } from '../support/harness';
import { testJob } from '../support/test-jobs';

const JOB = 'prepare-job';

describe('sink.prepare()', () => {
  let harness: Harness;
  const calls: string[] = [];
  let failPrepare = false;
  const spy: SignalSink = {
    prepare: () => {
      calls.push('prepare');
      if (failPrepare) throw new Error('cannot load the writer');
    },
    attemptStarted: async () => void calls.push('attemptStarted'),
    attemptFinished: async () => void calls.push('attemptFinished'),
    requestRefused: async () => void calls.push('requestRefused'),
  };

  beforeAll(async () => {
    harness = await createHarness({
      definitions: [testJob(JOB, async () => ({ ran: true }))],
      sink: spy,
    });
  });
  afterAll(async () => harness.close());
  beforeEach(() => {
    calls.length = 0;
    failPrepare = false;
  });

  it('is called once as a request arrives, before anything is written', async () => {
    const res = await harness.invoke(JOB, { scheduleTime: '2026-11-23T20:05:00.000Z' });
    expect(res.status).toBe(200);
    expect(calls).toEqual(['prepare', 'attemptStarted', 'attemptFinished']);
  });

  it('is called for a request that is then refused', async () => {
    const res = await harness.invoke(JOB, { scheduleTime: '2026-11-23T20:10:00.000Z', token: null });
    expect(res.status).toBe(401);
    expect(calls).toEqual(['prepare', 'requestRefused']);
  });

  it('costs the request nothing when it fails', async () => {
    failPrepare = true;
    const res = await harness.invoke(JOB, { scheduleTime: '2026-11-23T20:15:00.000Z' });
    expect(res.status).toBe(200);
    expect(calls).toEqual(['prepare', 'attemptStarted', 'attemptFinished']);
  });
});
